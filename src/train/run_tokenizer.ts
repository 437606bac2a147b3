// The tokenizer a training run keeps beside its checkpoints, so that the loader's tokenizer rule
// (model/locate.ts) finds it and serve, chat, eval and the next stage open the run with the tokenizer
// it trained with:
//   hcx tokenizer               RUN/tokenizer.json (hcx format)
//   Hugging Face tokenizer      RUN/tokenizer.json with the files that shape it (tokenizer_config.json, with the
//                               chat template and special tokens; special_tokens_map.json; chat_template.jinja
//                               or .json; generation_config.json, whose eos ids are the stop tokens: written
//                               from the model's config.json when the model directory has none)
//   GGUF tokenizer              RUN/tokenizer.gguf: the model file's tokenizer.* metadata and no tensors
// A resumed run keeps what is there; a fresh run replaces it (the run's tokenizer must be the one it trains with).
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { GgufModelReader } from '../model/gguf/hf_import.js';
import { writeGguf } from '../model/gguf.js';
import type { TextTokenizer } from '../tokenizer/index.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';

const HF_FILES = ['tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja', 'chat_template.json', 'generation_config.json'];

/** Where a run folder's tokenizer is (tokenizer.json or tokenizer.gguf), or where a fresh one goes. */
export function runTokenizerPath(runDir: string): string {
  const gguf = path.join(runDir, 'tokenizer.gguf');
  return existsSync(gguf) ? gguf : path.join(runDir, 'tokenizer.json');
}

/**
 * Saves `src`'s tokenizer into `runDir` (see the header) unless `keep` and one is there already; returns its path.
 * `src.tokenizerPath` is the file the loader read it from.
 */
export function saveRunTokenizer(runDir: string, src: { tokenizer: TextTokenizer; tokenizerPath: string }, keep: boolean): string {
  const existing = runTokenizerPath(runDir);
  if (keep && existsSync(existing)) return existing;
  const from = path.resolve(src.tokenizerPath);
  if (from === path.resolve(existing)) return existing; // training in the folder it came from
  for (const f of ['tokenizer.json', 'tokenizer.gguf', ...HF_FILES]) rmSync(path.join(runDir, f), { force: true });
  if (src.tokenizer.kind === 'gguf') {
    const out = path.join(runDir, 'tokenizer.gguf');
    const g = GgufModelReader.open(from);
    try {
      const meta = [...g.metadata].filter(([k]) => k.startsWith('tokenizer.') || k === 'general.architecture' || k === 'general.name');
      writeGguf(out, meta, []);
    } finally {
      g.close();
    }
    return out;
  }
  const out = path.join(runDir, 'tokenizer.json');
  writeFileAtomic(out, readFileSync(from));
  if (src.tokenizer.kind === 'hcx') return out;
  const dir = path.dirname(from);
  for (const f of HF_FILES) if (existsSync(path.join(dir, f))) copyFileSync(path.join(dir, f), path.join(runDir, f));
  const modelConfig = path.join(dir, 'config.json');
  if (!existsSync(path.join(dir, 'generation_config.json')) && existsSync(modelConfig)) {
    const c = JSON.parse(readFileSync(modelConfig, 'utf8')) as Record<string, unknown>;
    const ids = Object.fromEntries(['bos_token_id', 'eos_token_id', 'pad_token_id'].filter((k) => c[k] !== undefined && c[k] !== null).map((k) => [k, c[k]]));
    if (Object.keys(ids).length) writeJsonAtomic(path.join(runDir, 'generation_config.json'), ids);
  }
  // openTokenizer needs tokenizer_config.json beside an HF tokenizer.json to tell it from a stray file.
  if (!existsSync(path.join(runDir, 'tokenizer_config.json'))) writeJsonAtomic(path.join(runDir, 'tokenizer_config.json'), {});
  return out;
}

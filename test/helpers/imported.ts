// Tiny imported models for the serving and training tests (not a test file): a Hugging Face model directory
// with a real tokenizer (Qwen 3's or Llama 3's tokenizer.json and tokenizer_config.json, with their chat
// templates; fetched by scripts/fetch-hf-tokenizers.sh, see hf_tokenizers.ts) or a byte-level tokenizer.json
// made here, and random weights of PRESETS.test's shape widened to the vocabulary.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseModelConfig, type Architecture } from '../../src/model/config.js';
import { hfConfig, hfTensors } from '../../src/model/export_hf.js';
import { saveSafetensors } from '../../src/model/safetensors.js';
import { Transformer } from '../../src/model/transformer.js';
import { openTokenizer } from '../../src/tokenizer/index.js';
import { hfDir, type HfName } from './hf_tokenizers.js';

/** A model directory for `tokDir`'s tokenizer files (copied), with `architecture` and random weights. */
export function hfModelDir(dir: string, tokFiles: { from?: HfName; json?: unknown; config?: unknown }, architecture: Architecture, opts: { seed?: number; maxSeqLen?: number } = {}): string {
  mkdirSync(dir, { recursive: true });
  if (tokFiles.from) {
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(path.join(hfDir(tokFiles.from), f), path.join(dir, f));
  } else {
    writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokFiles.json));
    writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(tokFiles.config ?? {}));
  }
  const tok = openTokenizer(dir);
  const config = parseModelConfig({
    preset: 'test', architecture, vocabSize: tok.vocabSize, maxSeqLen: opts.maxSeqLen ?? 512,
    ...(architecture === 'Qwen3ForCausalLM' ? { qkNorm: true, tieEmbeddings: true } : {}),
  });
  const model = new Transformer(config, opts.seed ?? 5);
  const s = tok.specialIds;
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(hfConfig(config, { bos: s.bos, eos: s.eos ?? 0, pad: s.pad })));
  saveSafetensors(path.join(dir, 'model.safetensors'), hfTensors(model, 'f32'), { format: 'pt' });
  return dir;
}

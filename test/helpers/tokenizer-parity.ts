// Export parity harness: the ids of hcx's encode against tokenizers.js (@huggingface/tokenizers) and
// transformers on the exported tokenizer.json, and llama.cpp (node-llama-cpp) on the exported GGUF.
import path from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import type { Llama } from 'node-llama-cpp';
import { exportHf, SPECIAL_TOKENS, toHfTokenizerConfig, toHfTokenizerJson, type Tokenizer } from '../../src/tokenizer/index.js';
import { packageRoot } from '../../src/tokenizer/default-segmenter.js';
import { exportGguf } from '../../src/model/gguf.js';
import { Transformer } from '../../src/model/transformer.js';
import { parseModelConfig } from '../../src/model/config.js';
import { runPython } from './python.js';

export type Ids = number[][];

/** Writes DIR/hf/{tokenizer.json,tokenizer_config.json} and DIR/vocab.gguf (the tokenizer in a tiny llama model). */
export function exportTokenizer(tok: Tokenizer, dir: string): { hfDir: string; gguf: string } {
  const hfDir = path.join(dir, 'hf'), gguf = path.join(dir, 'vocab.gguf');
  exportHf(tok, hfDir, { warn: () => {} });
  const cfg = parseModelConfig({ vocabSize: tok.vocabSize, dModel: 8, nLayers: 1, nHeads: 1, nKvHeads: 1, ffnHidden: 8, maxSeqLen: 16, tieEmbeddings: true });
  exportGguf(new Transformer(cfg, 1), tok, gguf);
  return { hfDir, gguf };
}

/** Refuses texts holding a special-token string: hcx reads those as plain text, the HF runtimes as the token. */
function plain(texts: readonly string[]): readonly string[] {
  for (const t of texts) for (const s of Object.values(SPECIAL_TOKENS)) if (t.includes(s)) throw new Error(`parity text holds ${s}: ${t.slice(0, 80)}`);
  return texts;
}

export function tokenizersJsIds(tok: Tokenizer, texts: readonly string[]): Ids {
  const hf = new HfTokenizer(toHfTokenizerJson(tok), toHfTokenizerConfig(tok));
  return plain(texts).map((s) => hf.encode(s, { add_special_tokens: false }).ids);
}

export function transformersIds(hfDir: string, texts: readonly string[]): Ids {
  const script = path.join(packageRoot(), 'test', 'helpers', 'hf_tokenize.py');
  return JSON.parse(runPython([script, hfDir], { input: JSON.stringify(plain(texts)) })) as Ids;
}

let llama: Promise<Llama> | undefined;

export async function llamaCppIds(gguf: string, texts: readonly string[]): Promise<Ids> {
  const { getLlama } = await import('node-llama-cpp');
  llama ??= getLlama({ gpu: false, build: 'never', logLevel: 'error' as never, progressLogs: false });
  const model = await (await llama).loadModel({ modelPath: gguf, vocabOnly: true });
  try {
    return plain(texts).map((s) => Array.from(model.tokenize(s, false), Number));
  } finally {
    await model.dispose();
  }
}

export interface Mismatches { count: number; total: number; examples: string[] }

/** How many texts got other ids than `ours`, with the first few of them (text, and where the ids part). */
export function mismatches(texts: readonly string[], ours: Ids, theirs: Ids, show = 3): Mismatches {
  if (theirs.length !== texts.length) throw new Error(`got ${theirs.length} id lists for ${texts.length} texts`);
  const examples: string[] = [];
  let count = 0;
  for (let i = 0; i < texts.length; i++) {
    const a = ours[i], b = theirs[i];
    let j = 0;
    while (j < a.length && j < b.length && a[j] === b[j]) j++;
    if (j === a.length && j === b.length) continue;
    count++;
    if (examples.length < show) examples.push(`${JSON.stringify(texts[i].slice(0, 120))}: from token ${j}, hcx ${JSON.stringify(a.slice(j, j + 6))} vs ${JSON.stringify(b.slice(j, j + 6))}`);
  }
  return { count, total: texts.length, examples };
}

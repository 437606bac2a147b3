// How a worker thread re-opens the served tokenizer: hcx's own travels as its JSON; an imported one (a Hugging
// Face tokenizer.json, the tokenizer inside a GGUF) by the file it was read from, which the worker reads again
// (for a GGUF only its metadata). A tokenizer built in memory has no file: it stays on the main thread.
import { existsSync } from 'node:fs';
import { GgufModelReader } from '../model/gguf/hf_import.js';
import { HfTokenizer, openTokenizer, Tokenizer, tokenizerFromGguf, type TextTokenizer, type TokenizerFile } from '../tokenizer/index.js';

export type TokenizerHandle = { kind: 'hcx'; file: TokenizerFile } | { kind: 'hf' | 'gguf'; path: string };

/** The handle of `tok`, or null when it cannot be re-opened elsewhere. */
export function tokenizerHandle(tok: TextTokenizer): TokenizerHandle | null {
  if (tok instanceof Tokenizer) return { kind: 'hcx', file: tok.toJSON() };
  if (tok instanceof HfTokenizer && existsSync(tok.source)) return { kind: tok.kind, path: tok.source };
  return null;
}

export function reopenTokenizer(h: TokenizerHandle): TextTokenizer {
  if (h.kind === 'hcx') return Tokenizer.fromJSON(h.file);
  if (h.kind === 'hf') return openTokenizer(h.path);
  const g = GgufModelReader.open(h.path);
  try { return tokenizerFromGguf(g.metadata, h.path); } finally { g.close(); }
}

// Fill-in-the-middle (Bavarian et al. 2022): a document is cut at two character positions into
// prefix/middle/suffix and re-ordered around the tokenizer's sentinel tokens, so the model learns to
// infill. PSM: <PRE> prefix <SUF> suffix <MID> middle. SPM (the paper's variant that shares the
// PSM sentinels): <PRE> <SUF> suffix <MID> prefix middle. Cuts are per character (code point), never
// inside a surrogate pair, so every piece is valid text for the tokenizer.
import type { Rng } from './hashing.js';
import type { TextEncoder } from './types.js';

export type FimMode = 'psm' | 'spm' | 'none';

export function chooseFim(rng: Rng, psmRate: number, spmRate: number): FimMode {
  const u = rng.next();
  return u < psmRate ? 'psm' : u < psmRate + spmRate ? 'spm' : 'none';
}

/** Two sorted uniform cut points in [0, text.length], moved off low surrogates. */
export function fimSplit(text: string, rng: Rng): [string, string, string] {
  let a = Math.floor(rng.next() * (text.length + 1));
  let b = Math.floor(rng.next() * (text.length + 1));
  if (a > b) [a, b] = [b, a];
  const fix = (i: number): number => (i > 0 && i < text.length && (text.charCodeAt(i) & 0xfc00) === 0xdc00 ? i - 1 : i);
  a = fix(a); b = fix(b);
  return [text.slice(0, a), text.slice(a, b), text.slice(b)];
}

/** Token ids of a document (without end-of-text) in the given FIM mode. */
export function encodeFim(text: string, mode: FimMode, rng: Rng, enc: TextEncoder): number[] {
  if (mode === 'none') return enc.encode(text);
  const [prefix, middle, suffix] = fimSplit(text, rng);
  const { fimPrefix, fimSuffix, fimMiddle } = enc.special;
  const p = enc.encode(prefix), m = enc.encode(middle), s = enc.encode(suffix);
  if (mode === 'psm') return [fimPrefix, ...p, fimSuffix, ...s, fimMiddle, ...m];
  return [fimPrefix, fimSuffix, ...s, fimMiddle, ...p, ...m];
}

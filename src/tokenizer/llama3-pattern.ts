// The 'guided' split mode's pre-tokenizer: Llama 3's regex, as llama.cpp runs it for `tokenizer.ggml.pre` =
// llama-bpe (the "adapted" form in its src/llama-vocab.cpp, with the contractions' case spelt out instead of
// `(?i:...)`), with \p{L}, \p{N} and \s written out as the code points of llama.cpp's own Unicode tables
// (unicode-classes.ts). Written out, the classes mean the same in V8 (hcx, tokenizers.js) and Oniguruma
// (transformers) whatever Unicode version each was built with, and equal what llama.cpp's hand-written
// splitter tests; with \p{N}, say, Node 20's ICU (Unicode 17) knows digits that llama.cpp and Oniguruma do
// not yet, and a tokenizer would also encode differently on another Node. The one string serves hcx and the
// tokenizer.json export: characters literal (both engines read them), ASCII controls as \xHH.
import { LETTER_RANGES, NUMBER_RANGES, WHITESPACE } from './unicode-classes.js';

const SPECIAL_IN_CLASS = new Set([0x5c, 0x5d, 0x5b, 0x5e, 0x2d]); // \ ] [ ^ -

function char(c: number): string {
  if (c < 0x20 || c === 0x7f) return '\\x' + c.toString(16).padStart(2, '0');
  return (SPECIAL_IN_CLASS.has(c) ? '\\' : '') + String.fromCodePoint(c);
}

/** A character-class body (no brackets) for flat [first, last] pairs. */
export function classBody(pairs: readonly number[]): string {
  let s = '';
  for (let i = 0; i < pairs.length; i += 2) {
    const a = pairs[i], b = pairs[i + 1];
    s += a === b ? char(a) : b === a + 1 ? char(a) + char(b) : `${char(a)}-${char(b)}`;
  }
  return s;
}

const L = classBody(LETTER_RANGES);
const N = classBody(NUMBER_RANGES);
const S = WHITESPACE.map(char).join('');

/** Llama 3's pre-tokenizer regex with llama.cpp's classes (JS `u` mode and Oniguruma). */
export const LLAMA3_PATTERN = [
  "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])",
  `[^\\r\\n${L}${N}]?[${L}]+`,
  `[${N}]{1,3}`,
  ` ?[^${S}${L}${N}]+[\\r\\n]*`,
  `[${S}]*[\\r\\n]+`,
  `[${S}]+(?![^${S}])`,
  `[${S}]+`,
].join('|');

/** Whether the code point at s[i] is a letter by llama.cpp's table (length of the match, 0 if not). */
const LETTER_AT = new RegExp(`[${L}]`, 'uy');
export function letterLengthAt(s: string, i: number): number {
  LETTER_AT.lastIndex = i;
  return LETTER_AT.test(s) ? LETTER_AT.lastIndex - i : 0;
}

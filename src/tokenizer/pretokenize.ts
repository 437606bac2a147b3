// Pre-tokenization: text -> chunks that BPE merges never cross. Four split modes:
// - 'guided' (the default; exact on export): encoding splits text with Llama 3's regex alone (LLAMA3_PATTERN),
//   which tokenizer.json (tokenizers.js, transformers) and llama.cpp (`tokenizer.ggml.pre` = llama-bpe) run
//   the same way. Morphemes guide training only: merges are learned on the chunks cut further by script
//   (Hangul | other letters) and by the segmenter, so no learned token spans two morphemes, but encoding
//   applies the merges to the whole chunk (a Hangul word), which any BPE runtime reproduces.
// - 'model', 'rules', 'none': GPT-4 (cl100k) style rules with letters split by script ("GPT를" -> "GPT" + "를"),
//   and a Hangul run cut at morpheme boundaries when encoding, by the segmenter ('model': not expressible in
//   tokenizer.json or GGUF, so exports tokenize some Korean differently), by the rule regex ('rules') or not
//   at all ('none'); the last two are exact in tokenizer.json but not in llama.cpp (see exportFidelity).
import { HANGUL_CLASS, isHangul } from './hangul.js';
import { letterLengthAt, LLAMA3_PATTERN } from './llama3-pattern.js';
import { ruleAlternatives } from './rules.js';

export { LLAMA3_PATTERN };

const H = HANGUL_CLASS;
const LEAD = '[^\\r\\n\\p{L}\\p{N}]?';
// Contractions spelt without (?i:...), which JS regexes lack.
const CONTRACTIONS = "'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE])";
const OTHER = [
  `${LEAD}[^\\P{L}${H}]+`, // letters of any script but Hangul
  '\\p{N}{1,3}',
  ' ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*',
  '\\s*[\\r\\n]+',
  '\\s+(?!\\S)',
  '\\s+',
];

export type SplitMode = 'guided' | 'model' | 'rules' | 'none';
export const SPLIT_MODES: readonly SplitMode[] = ['guided', 'model', 'rules', 'none'];

/**
 * The pattern source. In 'rules' mode the morpheme rule is part of the regex (this exact string is what the
 * Hugging Face export carries); in 'model' and 'none' modes a Hangul run is one match, which a statistical
 * segmenter then splits ('model') or not ('none').
 */
export function patternSource(mode: SplitMode): string {
  if (mode === 'guided') return LLAMA3_PATTERN;
  const hangul = mode === 'rules' ? ruleAlternatives(H, LEAD) : [`${LEAD}[${H}]+`];
  return [CONTRACTIONS, ...hangul, ...OTHER].join('|');
}

export function compilePattern(mode: SplitMode): RegExp {
  return new RegExp(patternSource(mode), 'gu');
}

/** Where a chunk's Hangul run starts (after an optional leading space/punctuation), or -1 if none. */
export function hangulStart(chunk: string): number {
  if (chunk.length === 0) return -1;
  if (isHangul(chunk.charCodeAt(0))) return 0;
  return chunk.length > 1 && isHangul(chunk.charCodeAt(1)) ? 1 : -1;
}

/** Anything that finds morpheme boundaries inside a run of Hangul characters. */
export interface MorphemeSplitter {
  /** Offsets (1..word.length-1, ascending) in `word`, a run of Hangul characters, where a morpheme starts. */
  boundaries(word: string): number[];
}

/** Splits one regex chunk at the splitter's boundaries (the leading space/punctuation stays with the first piece). */
export function splitChunk(chunk: string, splitter: MorphemeSplitter | null, out: string[]): void {
  const h = splitter ? hangulStart(chunk) : -1;
  if (h < 0) { out.push(chunk); return; }
  const bs = splitter!.boundaries(h === 0 ? chunk : chunk.slice(h));
  let prev = 0;
  for (const b of bs) { out.push(chunk.slice(prev, b + h)); prev = b + h; }
  out.push(chunk.slice(prev));
}

/**
 * The training pieces of one 'guided' chunk: a chunk holding Hangul is cut where letters change between Hangul
 * and other scripts ("GPT를" -> "GPT" + "를"; the leading non-letter stays with the first piece) and each Hangul
 * run at the splitter's morpheme boundaries. Other chunks are one piece.
 */
export function splitGuided(chunk: string, splitter: MorphemeSplitter | null, out: string[]): void {
  const n = chunk.length;
  let i = 0;
  while (i < n && !isHangul(chunk.charCodeAt(i))) i++;
  if (i === n) { out.push(chunk); return; }
  // The regex's optional leading non-letter (one code point) goes with the first piece.
  const lead = letterLengthAt(chunk, 0) > 0 ? 0 : chunk.codePointAt(0)! > 0xffff ? 2 : 1;
  let prev = 0;
  const cut = (at: number) => { if (at > prev) { out.push(chunk.slice(prev, at)); prev = at; } };
  for (let s = lead; s < n;) {
    const hangul = isHangul(chunk.charCodeAt(s));
    let e = s + 1;
    while (e < n && isHangul(chunk.charCodeAt(e)) === hangul) e++;
    if (s > lead) cut(s);
    if (hangul && splitter && e - s > 1) for (const b of splitter.boundaries(chunk.slice(s, e))) cut(s + b);
    s = e;
  }
  out.push(chunk.slice(prev));
}

/**
 * All pre-tokens of a text, in order; concatenated they give the text back. These are what encoding runs BPE
 * on: for 'guided' the regex chunks (the splitter is not used; see splitGuided for the training pieces).
 */
export function pretokenize(text: string, mode: SplitMode, splitter: MorphemeSplitter | null, re = compilePattern(mode)): string[] {
  const out: string[] = [];
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) splitChunk(m[0], mode === 'model' ? splitter : null, out);
  return out;
}

/** The rule splitter as a MorphemeSplitter (boundaries where the 'rules' pattern cuts a Hangul run). */
export class RuleSplitter implements MorphemeSplitter {
  private readonly re = compilePattern('rules');
  boundaries(word: string): number[] {
    const out: number[] = [];
    this.re.lastIndex = 0;
    for (let m = this.re.exec(word); m !== null; m = this.re.exec(word)) if (m.index > 0) out.push(m.index);
    return out;
  }
}

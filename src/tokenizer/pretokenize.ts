// Pre-tokenization: text -> chunks that BPE merges never cross.
// GPT-4 (cl100k) style rules for Latin letters, digits, whitespace and punctuation, with two changes for a
// Korean-centric model: letters are split by script (a Hangul run never joins Latin letters: "GPT를" ->
// "GPT" + "를"), and a Hangul run is further split at morpheme boundaries by a Segmenter.
import { HANGUL_CLASS, isHangul } from './hangul.js';
import { ruleAlternatives } from './rules.js';

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

export type SplitMode = 'model' | 'rules' | 'none';

/**
 * The pattern source. In 'rules' mode the morpheme rule is part of the regex (this exact string is what the
 * Hugging Face export carries); in 'model' and 'none' modes a Hangul run is one match, which a statistical
 * segmenter then splits ('model') or not ('none').
 */
export function patternSource(mode: SplitMode): string {
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

/** All pre-tokens of a text, in order; concatenated they give the text back. */
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

// Gold morpheme boundaries from treebanks, and boundary scoring.
//
// Convention (the surface-character one the segmenter learns): a word's morphemes are spelt out in jamo and
// aligned to the surface jamo by edit distance; a morpheme boundary becomes a boundary between two surface
// characters when it falls between syllables, and is dropped when it falls inside one. So a morpheme fused
// into a syllable stays in that syllable with the morpheme before it: 서울입니다 (서울+이+ㅂ니다) -> 서울|입니다,
// 했다 (하+었+다) -> 했|다, 가까운 (가깝+ㄴ) -> 가까운, 도와줬다 (돕+아+주+었+다) -> 도|와|줬|다.
// Only boundaries between two Hangul characters are learned and scored: the pre-tokenizer already splits where
// the script changes (2010|년), so counting those would flatter the score.
import { readFileSync } from 'node:fs';
import { isHangul, pushJamo } from './hangul.js';

/** A run of Hangul characters with its gold boundaries (offsets 1..length-1). */
export interface GoldWord { text: string; bounds: number[] }

/** Boundary offsets of `surface` (character offsets 1..length-1) given its morphemes. */
export function projectBoundaries(surface: string, morphemes: readonly string[]): number[] {
  return projectBoundariesIndexed(surface, morphemes).map(([at]) => at);
}

/**
 * The same boundaries, each with the index of the morpheme that starts there ([offset, k], k >= 1), for error
 * analysis by morpheme tag. Ascending offsets; where two morpheme boundaries land on one offset, the first wins.
 */
export function projectBoundariesIndexed(surface: string, morphemes: readonly string[]): Array<[number, number]> {
  const S: number[] = [], charOf: number[] = [], startsChar: boolean[] = [];
  for (let i = 0; i < surface.length; i++) {
    const k = pushJamo(surface.charCodeAt(i), S);
    for (let j = 0; j < k; j++) { charOf.push(i); startsChar.push(j === 0); }
  }
  const M: number[] = [], mb: number[] = [];
  for (let k = 0; k < morphemes.length; k++) {
    if (k > 0) mb.push(M.length);
    for (let i = 0; i < morphemes[k].length; i++) pushJamo(morphemes[k].charCodeAt(i), M);
  }
  if (mb.length === 0) return [];
  const m = M.length, s = S.length, W = s + 1;
  const d = new Int32Array((m + 1) * W);
  for (let j = 0; j <= s; j++) d[j] = j;
  for (let i = 1; i <= m; i++) {
    d[i * W] = i;
    for (let j = 1; j <= s; j++) {
      const sub = d[(i - 1) * W + j - 1] + (M[i - 1] === S[j - 1] ? 0 : 1);
      d[i * W + j] = Math.min(sub, d[(i - 1) * W + j] + 1, d[i * W + j - 1] + 1);
    }
  }
  // Backtrace (diagonal preferred); for each morph position record the surface positions the path visits there.
  const lo = new Int32Array(m + 1).fill(s + 1), hi = new Int32Array(m + 1).fill(-1);
  let i = m, j = s;
  const visit = () => { if (j < lo[i]) lo[i] = j; if (j > hi[i]) hi[i] = j; };
  visit();
  while (i > 0 || j > 0) {
    if (i > 0 && j > 0 && d[i * W + j] === d[(i - 1) * W + j - 1] + (M[i - 1] === S[j - 1] ? 0 : 1)) { i--; j--; }
    else if (i > 0 && d[i * W + j] === d[(i - 1) * W + j] + 1) i--;
    else j--;
    visit();
  }
  const out = new Map<number, number>();
  mb.forEach((k, idx) => {
    for (let p = lo[k]; p <= hi[k]; p++) {
      if (p > 0 && p < s && startsChar[p]) { if (!out.has(charOf[p])) out.set(charOf[p], idx + 1); break; }
    }
  });
  return [...out].sort((a, b) => a[0] - b[0]);
}

/** Splits a word with its gold boundaries into Hangul runs with the boundaries inside each run. */
export function hangulRuns(text: string, bounds: readonly number[], out: GoldWord[]): void {
  const set = new Set(bounds);
  for (let i = 0; i < text.length;) {
    if (!isHangul(text.charCodeAt(i))) { i++; continue; }
    let j = i;
    while (j < text.length && isHangul(text.charCodeAt(j))) j++;
    const bs: number[] = [];
    for (let k = i + 1; k < j; k++) if (set.has(k)) bs.push(k - i);
    out.push({ text: text.slice(i, j), bounds: bs });
    i = j;
  }
}

/** Hangul runs with gold boundaries from a CoNLL-U file (LEMMA, or MISC OrigLemma where present, split on '+'). */
export function readConllu(path: string): GoldWord[] {
  const out: GoldWord[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cols = line.split('\t');
    if (cols.length < 10 || !/^\d+$/.test(cols[0])) continue; // skip ranges and empty nodes
    const form = cols[1];
    const orig = /(?:^|\|)OrigLemma=([^|]*)/.exec(cols[9]);
    const lemma = orig ? orig[1] : cols[2];
    const morphs = lemma.split('+').filter((x) => x !== '');
    hangulRuns(form, morphs.length > 1 ? projectBoundaries(form, morphs) : [], out);
  }
  return out;
}

/**
 * Hangul runs with gold boundaries from a Kiwi evaluation file: `sentence<TAB>form/TAG form/TAG ...` per line.
 * The sentence (spaces removed) is aligned to the morpheme forms as one word; boundaries never cross a space.
 */
export function readKiwiEval(path: string): GoldWord[] {
  const out: GoldWord[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const [sentence, analysis] = line.split('\t');
    if (!sentence || !analysis) continue;
    const morphs = analysis.trim().split(/ +/).map((t) => t.slice(0, t.lastIndexOf('/')).replace(/__\d+$/, '')).filter((x) => x !== '');
    const words = sentence.split(/\s+/).filter((w) => w !== '');
    const joined = words.join('');
    const bounds = new Set(projectBoundaries(joined, morphs));
    let off = 0;
    for (const w of words) {
      const bs: number[] = [];
      for (let k = 1; k < w.length; k++) if (bounds.has(off + k)) bs.push(k);
      hangulRuns(w, bs, out);
      off += w.length;
    }
  }
  return out;
}

export interface BoundaryScore { words: number; gold: number; predicted: number; correct: number; precision: number; recall: number; f1: number }

/** Boundary precision/recall/F1 of `predict` (given each run's text and index) against gold runs. */
export function scoreBoundaries(gold: readonly GoldWord[], predict: (w: string, index: number) => number[]): BoundaryScore {
  let g = 0, p = 0, c = 0;
  for (let i = 0; i < gold.length; i++) {
    const w = gold[i], pred = predict(w.text, i);
    const set = new Set(w.bounds);
    g += w.bounds.length; p += pred.length;
    for (const b of pred) if (set.has(b)) c++;
  }
  const precision = p ? c / p : 1, recall = g ? c / g : 1;
  return { words: gold.length, gold: g, predicted: p, correct: c, precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0 };
}

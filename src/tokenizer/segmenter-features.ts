// Features of one gap of a Hangul run, shared by training (segmenter-train.ts) and inference (segmenter.ts) so
// that the two can never disagree: hashed character n-grams around the gap, the whole rest of the word, the
// final consonant of the left syllable, the morpheme so far, and a lexicon of known morphemes.
import { isSyllable, syllableTail } from './hangul.js';

// Feature templates; the id goes into the hash so that equal character strings in different templates differ.
export const T = {
  bias: 1, l1: 2, r1: 3, l1r1: 4, l2: 5, r2: 6, l2r1: 7, l1r2: 8, l3: 9, r3: 10, suf: 11, pre: 12, l1suf: 13,
  tailR1: 14, tailSuf: 15, l1Dist: 16, pos: 17, r1Dist: 18, l2r2: 19, tailR2: 20,
  cur: 21, curR1: 22, curLen: 23, lexR: 24, lexL: 25, lexCur: 26, lexRL: 27,
} as const;
const LEX_SEED = 0x2545f491;
const MAX_LEX = 4;

/** Hash of codes[a..b) as a lexicon key. */
export function lexHash(codes: Int32Array, a: number, b: number): number {
  let h = LEX_SEED;
  for (let k = a; k < b; k++) h = mix(h, codes[k]);
  return h;
}

/** What a gap's features depend on besides the characters: the decisions so far and the morpheme lexicon. */
export interface GapContext {
  /** Start of the current morpheme (the last boundary before the gap, or 0). */
  last: number;
  /** Hash of codes[last..i). */
  cur: number;
  lexicon: { has(h: number): boolean } | null;
}

/** A set of int32 hashes, open addressing (faster than Set<number> on the hot path). */
export class HashSet32 {
  private readonly keys: Int32Array;
  private readonly mask: number;
  constructor(values: ArrayLike<number>) {
    let cap = 16;
    while (cap < values.length * 2) cap *= 2;
    this.keys = new Int32Array(cap); this.mask = cap - 1;
    for (let i = 0; i < values.length; i++) {
      const k = values[i] === 0 ? 1 : values[i];
      let j = (k ^ (k >>> 16)) & this.mask;
      while (this.keys[j] !== 0 && this.keys[j] !== k) j = (j + 1) & this.mask;
      this.keys[j] = k;
    }
  }
  has(h: number): boolean {
    const k = h === 0 ? 1 : h, keys = this.keys, mask = this.mask;
    for (let j = (k ^ (k >>> 16)) & mask; ; j = (j + 1) & mask) {
      const kj = keys[j];
      if (kj === k) return true;
      if (kj === 0) return false;
    }
  }
}

export const mix = (h: number, x: number): number => {
  h = Math.imul(h ^ x, 0x5bd1e995);
  return h ^ (h >>> 15);
};
const BOW = 1, EOW = 2;
export const CUR_SEED = 0x1b873593;
const MAX_AFFIX = 6;

/**
 * Calls emit(hash) for every feature of the gap before character i of `w` (codes[0..n)). Shared by training and
 * inference so that the two can never disagree. `suf` and `pre` are scratch arrays of length n + 1.
 */
export function gapFeatures(codes: Int32Array, n: number, i: number, suf: Int32Array, pre: Int32Array, ctx: GapContext, emit: (h: number) => void): void {
  const l1 = codes[i - 1], l2 = i >= 2 ? codes[i - 2] : BOW, l3 = i >= 3 ? codes[i - 3] : BOW;
  const r1 = codes[i], r2 = i + 1 < n ? codes[i + 1] : EOW, r3 = i + 2 < n ? codes[i + 2] : EOW;
  const tail = isSyllable(l1) ? syllableTail(l1) : 30;
  const toEnd = Math.min(n - i, MAX_AFFIX + 1), fromStart = Math.min(i, MAX_AFFIX + 1);
  emit(mix(T.bias, 0));
  emit(mix(T.l1, l1));
  emit(mix(T.r1, r1));
  emit(mix(mix(T.l1r1, l1), r1));
  emit(mix(mix(T.l2, l2), l1));
  emit(mix(mix(T.r2, r1), r2));
  emit(mix(mix(mix(T.l2r1, l2), l1), r1));
  emit(mix(mix(mix(T.l1r2, l1), r1), r2));
  emit(mix(mix(mix(mix(T.l2r2, l2), l1), r1), r2));
  emit(mix(mix(mix(T.l3, l3), l2), l1));
  emit(mix(mix(mix(T.r3, r1), r2), r3));
  emit(mix(mix(T.tailR1, tail), r1));
  emit(mix(mix(mix(T.tailR2, tail), r1), r2));
  emit(mix(mix(T.l1Dist, l1), toEnd));
  emit(mix(mix(T.r1Dist, r1), toEnd));
  emit(mix(mix(T.pos, fromStart), toEnd));
  if (n - i <= MAX_AFFIX) {
    const s = suf[i];
    emit(mix(T.suf, s));
    emit(mix(mix(T.l1suf, l1), s));
    emit(mix(mix(T.tailSuf, tail), s));
  }
  if (i <= MAX_AFFIX) emit(mix(T.pre, pre[i]));
  // The morpheme so far (left-to-right decisions).
  const curLen = Math.min(i - ctx.last, MAX_AFFIX + 1);
  emit(mix(mix(T.curLen, curLen), toEnd));
  if (i - ctx.last <= MAX_AFFIX) { emit(mix(T.cur, ctx.cur)); emit(mix(mix(T.curR1, ctx.cur), r1)); }
  const lex = ctx.lexicon;
  if (lex) {
    // Longest known morpheme starting at the gap / ending at it, and whether the current one is known.
    let right = 0, left = 0, h = LEX_SEED;
    for (let k = 1, e = Math.min(MAX_LEX, n - i); k <= e; k++) { h = mix(h, codes[i + k - 1]); if (lex.has(h)) right = k; }
    for (let k = Math.min(MAX_LEX, i); k >= 1; k--) if (lex.has(lexHash(codes, i - k, i))) { left = k; break; }
    const curKnown = i - ctx.last <= MAX_LEX && lex.has(lexHash(codes, ctx.last, i)) ? 1 : 0;
    emit(mix(mix(T.lexR, right), right === n - i ? 1 : 0));
    emit(mix(mix(T.lexL, left), curKnown));
    emit(mix(mix(mix(T.lexRL, right), left), curKnown));
    emit(mix(mix(mix(T.lexCur, curKnown), right), r1));
  }
}

/** Fills suf[i] = hash of codes[i..n) and pre[i] = hash of codes[0..i). */
export function affixHashes(codes: Int32Array, n: number, suf: Int32Array, pre: Int32Array): void {
  suf[n] = EOW;
  for (let i = n - 1; i >= 0; i--) suf[i] = mix(suf[i + 1], codes[i]);
  pre[0] = BOW;
  for (let i = 0; i < n; i++) pre[i + 1] = mix(pre[i], codes[i]);
}

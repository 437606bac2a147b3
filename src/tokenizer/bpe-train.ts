// BPE learning over a table of unique pre-tokens and their counts (the corpus is never held in memory).
// Each step merges the most frequent adjacent pair. Pair counts are updated incrementally: only the words that
// contain the merged pair are rewritten, and a lazy max-heap (stale entries are re-checked when popped)
// picks the next pair, so one step costs about the number of words the pair occurs in, not the corpus size.
import { pairKey, MAX_VOCAB } from './bpe.js';

class Pair {
  count = 0;
  occ = new Int32Array(2); // ids of words that may contain the pair (appended, stale entries skipped later)
  n = 0;
  merged = false;
  touched = -1;
  constructor(readonly a: number, readonly b: number) {}
  addWord(w: number): void {
    if (this.n > 0 && this.occ[this.n - 1] === w) return;
    if (this.n === this.occ.length) { const o = new Int32Array(this.occ.length * 2); o.set(this.occ); this.occ = o; }
    this.occ[this.n++] = w;
  }
}

export interface LearnProgress { merges: number; target: number; topCount: number }

export interface LearnResult {
  /** Flat (left, right, result) triples in rank order. */
  merges: Int32Array;
  /** Number of tokens (256 bytes + learned). */
  size: number;
}

/**
 * Learns merges until the vocabulary has `targetSize` tokens (bytes included) or no pair occurs
 * `minFrequency` times. `pieces` maps each pre-token's bytes (as a latin1 string, one char per byte) to its count.
 */
export function learnMerges(pieces: Map<string, number>, targetSize: number, minFrequency = 2,
                            onProgress?: (p: LearnProgress) => void): LearnResult {
  if (targetSize > MAX_VOCAB) throw new Error(`bpe: vocabulary over ${MAX_VOCAB} is not supported`);
  // Words: symbols of all words in one array, each word compacted in place as merges shorten it.
  let total = 0;
  for (const k of pieces.keys()) total += k.length;
  const nw = pieces.size;
  const sym = new Int32Array(total), start = new Int32Array(nw), len = new Int32Array(nw), cnt = new Float64Array(nw);
  let w = 0, o = 0;
  for (const [k, c] of pieces) {
    start[w] = o; len[w] = k.length; cnt[w] = c;
    for (let i = 0; i < k.length; i++) sym[o++] = k.charCodeAt(i);
    w++;
  }

  const pairs = new Map<number, Pair>();
  const get = (a: number, b: number): Pair => {
    const key = pairKey(a, b);
    let p = pairs.get(key);
    if (!p) { p = new Pair(a, b); pairs.set(key, p); }
    return p;
  };
  for (let i = 0; i < nw; i++) {
    for (let j = start[i], e = start[i] + len[i] - 1; j < e; j++) { const p = get(sym[j], sym[j + 1]); p.count += cnt[i]; p.addWord(i); }
  }

  // Max-heap of (count at push time, pair); ties go to the smaller ids so that training is deterministic.
  const hc: number[] = [], hp: Pair[] = [];
  const above = (c1: number, p1: Pair, c2: number, p2: Pair) => c1 > c2 || (c1 === c2 && (p1.a < p2.a || (p1.a === p2.a && p1.b < p2.b)));
  const push = (p: Pair, c: number) => {
    let i = hc.length; hc.push(c); hp.push(p);
    while (i > 0) { const q = (i - 1) >> 1; if (!above(c, p, hc[q], hp[q])) break; hc[i] = hc[q]; hp[i] = hp[q]; i = q; }
    hc[i] = c; hp[i] = p;
  };
  const pop = (): void => {
    const c = hc.pop()!, p = hp.pop()!, n = hc.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      let k = 2 * i + 1; if (k >= n) break;
      if (k + 1 < n && above(hc[k + 1], hp[k + 1], hc[k], hp[k])) k++;
      if (!above(hc[k], hp[k], c, p)) break;
      hc[i] = hc[k]; hp[i] = hp[k]; i = k;
    }
    hc[i] = c; hp[i] = p;
  };
  for (const p of pairs.values()) if (p.count >= minFrequency) push(p, p.count);

  // Token bytes as latin1 strings, to give a merge that spells an existing token that token's id.
  const spelled: string[] = [];
  const idOf = new Map<string, number>();
  for (let b = 0; b < 256; b++) { spelled.push(String.fromCharCode(b)); idOf.set(spelled[b], b); }
  const merges: number[] = [];
  const seen = new Int32Array(nw).fill(-1);
  let step = 0;

  while (spelled.length < targetSize && hc.length > 0) {
    const c = hc[0], p = hp[0];
    pop();
    if (p.merged) continue;
    if (c !== p.count) { if (p.count >= minFrequency) push(p, p.count); continue; }
    if (c < minFrequency) break;
    const { a, b } = p;
    const s = spelled[a] + spelled[b];
    let z = idOf.get(s);
    if (z === undefined) { z = spelled.length; spelled.push(s); idOf.set(s, z); }
    merges.push(a, b, z);
    p.merged = true;
    const touched: Pair[] = [];
    for (let k = 0; k < p.n; k++) {
      const wi = p.occ[k];
      if (seen[wi] === step) continue;
      seen[wi] = step;
      const s0 = start[wi], e0 = s0 + len[wi], c0 = cnt[wi];
      let has = false;
      for (let i = s0; i < e0 - 1; i++) if (sym[i] === a && sym[i + 1] === b) { has = true; break; }
      if (!has) continue;
      for (let i = s0; i < e0 - 1; i++) get(sym[i], sym[i + 1]).count -= c0;
      let j = s0;
      for (let i = s0; i < e0;) {
        if (i + 1 < e0 && sym[i] === a && sym[i + 1] === b) { sym[j++] = z; i += 2; } else sym[j++] = sym[i++];
      }
      len[wi] = j - s0;
      for (let i = s0; i < j - 1; i++) {
        const q = get(sym[i], sym[i + 1]);
        q.count += c0;
        if (sym[i] === z || sym[i + 1] === z) {
          q.addWord(wi);
          if (q.touched !== step) { q.touched = step; touched.push(q); }
        }
      }
    }
    for (const q of touched) if (!q.merged && q.count >= minFrequency) push(q, q.count);
    p.occ = new Int32Array(0); p.n = 0;
    step++;
    if (onProgress && (step & 1023) === 0) onProgress({ merges: step, target: targetSize - 256, topCount: c });
  }
  return { merges: Int32Array.from(merges), size: spelled.length };
}

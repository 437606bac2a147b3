// Deduplication: exact (hash of whitespace/case/punctuation-normalised text) and near-duplicate
// (MinHash over word 5-gram shingles, banded LSH). MinHash uses one-permutation hashing with
// densification (Shrivastava 2017): one hash per shingle instead of numPerm, which is what makes
// near-dedup cheap enough to run at >10 MB/s. A band collision counts as a duplicate: signatures are
// not kept for a Jaccard re-check, which bounds memory to the band table (~32 bytes x bands per doc).
import { combine, fmix32, Hash64Set } from './hashing.js';
import type { Lang } from './types.js';

export interface DedupOptions {
  exact: boolean;
  near: boolean;
  /** Jaccard similarity of shingle sets above which two documents are near-duplicates */
  threshold: number;
  /** MinHash signature length (a power of two) */
  numPerm: number;
  /** words per shingle (characters per shingle for Chinese/Japanese) */
  shingle: number;
}

export const DEFAULT_DEDUP: DedupOptions = { exact: true, near: true, threshold: 0.8, numPerm: 128, shingle: 5 };

/** Probability that two documents of Jaccard s share at least one band of r rows out of b. */
export const collisionProb = (s: number, b: number, r: number): number => 1 - (1 - s ** r) ** b;

/** The (bands, rows) with the least false-positive + false-negative area around threshold (as datasketch picks them). */
const bandCache = new Map<string, { bands: number; rows: number }>();
export function optimalBands(threshold: number, numPerm: number): { bands: number; rows: number } {
  const key = `${threshold}/${numPerm}`;
  const hit = bandCache.get(key);
  if (hit) return hit;
  const integrate = (f: (x: number) => number, a: number, b: number): number => {
    const n = 200, h = (b - a) / n;
    let s = 0;
    for (let i = 0; i < n; i++) s += f(a + (i + 0.5) * h) * h;
    return s;
  };
  let best = { bands: 1, rows: numPerm }, bestErr = Infinity;
  for (let b = 1; b <= numPerm; b++) {
    for (let r = 1; b * r <= numPerm; r++) {
      const fp = integrate((s) => collisionProb(s, b, r), 0, threshold);
      const fn = integrate((s) => 1 - collisionProb(s, b, r), threshold, 1);
      if (fp + fn < bestErr) { bestErr = fp + fn; best = { bands: b, rows: r }; }
    }
  }
  bandCache.set(key, best);
  return best;
}

// character classes: 0 = separator, else the (lowercased) code unit; letters/digits of any script count
const CLS = new Uint16Array(65536);
for (let c = 0; c < 65536; c++) {
  if (c < 128) CLS[c] = (c >= 48 && c <= 57) || (c >= 97 && c <= 122) ? c : c >= 65 && c <= 90 ? c + 32 : 0;
  else CLS[c] = c < 0xc0 || c === 0xd7 || c === 0xf7 || (c >= 0x2000 && c <= 0x2bff) || (c >= 0x3000 && c <= 0x303f) || (c >= 0xff00 && c <= 0xff20) ? 0 : c;
}

interface Scratch { buf: Uint32Array; exactHi: number; exactLo: number }

/**
 * One pass over the text: the exact-dedup hash (of its letters and digits, lowercased, nothing else)
 * and the hashes of its shingles (k consecutive words, or k characters for Chinese/Japanese) into
 * out.buf. Returns the number of shingles.
 */
function shingles(text: string, k: number, byChar: boolean, out: Scratch): number {
  let n = 0;
  let buf = out.buf;
  const ring = new Uint32Array(k);
  let seen = 0;
  let a = 0x811c9dc5 | 0, b = 0x5bd1e995 | 0;
  let h = 0x811c9dc5 | 0, len = 0;
  const L = text.length;
  for (let i = 0; i <= L; i++) {
    const c = i < L ? CLS[text.charCodeAt(i)] : 0;
    let word = -1;
    if (c !== 0) {
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b + c, 0x5bd1e995) ^ (b >>> 13);
      if (byChar) word = Math.imul(c, 0x9e3779b1) ^ (c >>> 3);
      else { h = Math.imul(h ^ c, 0x01000193); len++; }
    } else if (!byChar && len) { word = h; h = 0x811c9dc5 | 0; len = 0; }
    if (word === -1) continue;
    ring[seen % k] = word;
    seen++;
    if (seen >= k) {
      let sh = 0x12345;
      for (let j = seen - k; j < seen; j++) sh = Math.imul(sh ^ ring[j % k], 0x01000193) + j - seen;
      if (n === buf.length) { const nb = new Uint32Array(n * 2); nb.set(buf); buf = out.buf = nb; }
      buf[n++] = sh;
    }
  }
  // shorter than one shingle: the whole (normalised) document is its only shingle
  if (n === 0 && seen > 0) {
    let sh = 0x6789;
    for (let j = 0; j < seen; j++) sh = Math.imul(sh ^ ring[j % k], 0x01000193);
    buf[n++] = sh;
  }
  out.exactHi = fmix32(a >>> 0);
  out.exactLo = fmix32(b >>> 0);
  return n;
}

export class MinHasher {
  readonly numPerm: number;
  private readonly binShift: number;
  private readonly valMask: number;
  private scratch: Scratch = { buf: new Uint32Array(4096), exactHi: 0, exactLo: 0 };
  private filled: Uint8Array;

  constructor(numPerm: number, readonly shingle = 5) {
    if (numPerm < 2 || (numPerm & (numPerm - 1)) !== 0 || numPerm > 1024) throw new Error(`numPerm must be a power of two in [2, 1024], got ${numPerm}`);
    this.numPerm = numPerm;
    this.binShift = 32 - Math.log2(numPerm);
    this.valMask = this.binShift >= 32 ? 0xffffffff : (1 << this.binShift) - 1;
    this.filled = new Uint8Array(numPerm);
  }

  /** One-permutation MinHash signature with densification; empty documents get an all-max signature. */
  signature(text: string, lang: Lang = 'en'): Uint32Array {
    return this.fromShingles(this.prepare(text, lang));
  }

  /** Hashes text's shingles (and its exact hash, see lastExact) into scratch; returns the count. */
  prepare(text: string, lang: Lang): number {
    return shingles(text, this.shingle, lang === 'ja' || lang === 'zh', this.scratch);
  }

  get lastExact(): [number, number] { return [this.scratch.exactHi, this.scratch.exactLo]; }

  /** Signature of the shingles prepare() left in scratch. */
  fromShingles(n: number): Uint32Array {
    const K = this.numPerm;
    const sig = new Uint32Array(K).fill(0xffffffff);
    const buf = this.scratch.buf;
    for (let i = 0; i < n; i++) {
      const h = fmix32(buf[i]);
      const bin = this.binShift >= 32 ? 0 : h >>> this.binShift;
      const v = (h & this.valMask) >>> 0;
      if (v < sig[bin]) sig[bin] = v;
    }
    if (n === 0) return sig;
    // densify (Shrivastava 2017): an empty bin copies an originally filled bin found by a probe
    // sequence fixed per bin, so two documents with the same filled bins densify identically
    const filled = this.filled;
    for (let j = 0; j < K; j++) filled[j] = sig[j] !== 0xffffffff ? 1 : 0;
    for (let j = 0; j < K; j++) {
      if (filled[j]) continue;
      for (let attempt = 1; ; attempt++) {
        const src = fmix32(Math.imul(j + 1, 0x9e3779b1) ^ attempt) & (K - 1);
        if (filled[src]) { sig[j] = sig[src]; break; }
      }
    }
    return sig;
  }
}

export const jaccardEstimate = (a: Uint32Array, b: Uint32Array): number => {
  let eq = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) eq++;
  return eq / a.length;
};

export type DupKind = 'exact' | 'near';

export class Deduplicator {
  readonly opts: DedupOptions;
  readonly bands: number;
  readonly rows: number;
  private readonly exactSet = new Hash64Set(1 << 16);
  private readonly bandSet = new Hash64Set(1 << 16);
  private readonly hasher: MinHasher;
  exactDups = 0;
  nearDups = 0;
  seen = 0;

  constructor(opts: Partial<DedupOptions> = {}) {
    this.opts = { ...DEFAULT_DEDUP, ...opts };
    const { bands, rows } = optimalBands(this.opts.threshold, this.opts.numPerm);
    this.bands = bands; this.rows = rows;
    this.hasher = new MinHasher(this.opts.numPerm, this.opts.shingle);
  }

  /** Bytes held by the hash tables (the dedup memory that grows with the corpus). */
  get bytes(): number { return this.exactSet.bytes + this.bandSet.bytes; }

  /** Checks a document and, if it is new, remembers it. Returns the kind of duplicate, or undefined. */
  add(text: string, lang: Lang = 'en'): DupKind | undefined {
    this.seen++;
    const n = this.hasher.prepare(text, lang);
    if (this.opts.exact) {
      const [hi, lo] = this.hasher.lastExact;
      if (!this.exactSet.add(hi, lo)) { this.exactDups++; return 'exact'; }
    }
    if (this.opts.near) {
      const sig = this.hasher.fromShingles(n);
      if (sig[0] === 0xffffffff) return undefined; // no words at all
      const keys = new Uint32Array(this.bands * 2);
      let dup = false;
      for (let b = 0; b < this.bands; b++) {
        let hi = 0x1b873593 ^ b, lo = 0xcc9e2d51 ^ Math.imul(b, 0x85ebca6b);
        for (let r = 0; r < this.rows; r++) {
          const v = sig[b * this.rows + r];
          hi = combine(hi, v); lo = combine(lo ^ 0x5bd1e995, v);
        }
        keys[2 * b] = hi; keys[2 * b + 1] = lo;
        if (!dup && this.bandSet.has(hi, lo)) dup = true;
      }
      if (dup) { this.nearDups++; return 'near'; }
      for (let b = 0; b < this.bands; b++) this.bandSet.add(keys[2 * b], keys[2 * b + 1]);
    }
    return undefined;
  }
}

const exactScratch: Scratch = { buf: new Uint32Array(256), exactHi: 0, exactLo: 0 };
/** 64-bit hash (two 32-bit halves) of the text's letters and digits, lowercased; the exact-dedup key. */
export function exactHash(text: string): [number, number] {
  shingles(text, 5, false, exactScratch);
  return [exactScratch.exactHi, exactScratch.exactLo];
}

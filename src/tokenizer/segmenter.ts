// The statistical Korean morpheme segmenter: for each gap between two Hangul syllables of a run, linear
// classifiers over hashed character features (segmenter-features.ts) say "morpheme boundary" or not. Two
// directions: a backward model reads the word right to left (its "morpheme so far" is the suffix chain already
// split off), then the forward model reads it left to right and decides each gap on the sum of both scores.
// The pair scores 0.002 F1 above one direction in cross-validation (README), for twice the lookups. Trained by
// averaged perceptron (segmenter-train.ts). Inference is a few dozen integer hash lookups per character, no
// allocation per feature, and each model is a compact (feature hash -> int16 weight) table.
import type { MorphemeSplitter } from './pretokenize.js';
import { isSyllable } from './hangul.js';
import { affixHashes, CUR_SEED, gapFeatures, HashSet32, mix, type GapContext } from './segmenter-features.js';

const MAGIC = 0x47455348; // "HSEG"
const VERSION = 3; // 3: one or two directions; 2 (read only): one direction, no direction count

/** One direction's model as trained: feature hashes, their weights, and the hashes of known morphemes (lexHash). */
export interface SegmenterWeights { features: Int32Array; weights: Float32Array; lexicon: Int32Array }

/**
 * A weight table with its lexicon: open addressing, key 0 = empty. Slot j holds its key at [2j] and its weight
 * (float bits) at [2j + 1], so that a lookup touches one cache line; the tables outgrow the L2 cache.
 */
class Direction {
  readonly slots: Int32Array;
  readonly vals: Float32Array; // the same memory as slots
  readonly mask: number;
  readonly lexicon: Int32Array;
  readonly lexSet: HashSet32 | null;
  constructor(m: SegmenterWeights) {
    this.lexicon = m.lexicon;
    this.lexSet = m.lexicon.length > 0 ? new HashSet32(m.lexicon) : null;
    let cap = 16;
    while (cap < m.features.length * 1.5) cap *= 2; // load 0.38-0.75: the table is 1 MB, not 2, per 80k features
    this.slots = new Int32Array(cap * 2); this.vals = new Float32Array(this.slots.buffer); this.mask = cap - 1;
    for (let f = 0; f < m.features.length; f++) {
      const k = m.features[f] === 0 ? 1 : m.features[f];
      let j = (k ^ (k >>> 16)) & this.mask;
      while (this.slots[2 * j] !== 0 && this.slots[2 * j] !== k) j = (j + 1) & this.mask;
      this.slots[2 * j] = k; this.vals[2 * j + 1] += m.weights[f];
    }
  }
  get size(): number { let n = 0; for (let j = 0; j <= this.mask; j++) if (this.slots[2 * j] !== 0) n++; return n; }
}

export class Segmenter implements MorphemeSplitter {
  private readonly fwd: Direction;
  private readonly bwd: Direction | null;
  private codes = new Int32Array(64);
  private rcodes = new Int32Array(64);
  private suf = new Int32Array(65);
  private pre = new Int32Array(65);
  private bscore = new Float32Array(64);
  private bias = new Float32Array(64);
  private readonly ctx: GapContext = { last: 0, cur: CUR_SEED, lexicon: null };
  // One feature sink for both directions, so that the hot call site in gapFeatures sees a single closure.
  private dir: Direction;
  private score = 0;
  private readonly add = (h: number): void => {
    const d = this.dir, slots = d.slots, mask = d.mask;
    const k = h === 0 ? 1 : h;
    for (let j = (k ^ (k >>> 16)) & mask; ; j = (j + 1) & mask) {
      const kj = slots[2 * j];
      if (kj === k) { this.score += d.vals[2 * j + 1]; return; }
      if (kj === 0) return;
    }
  };

  /** A model from its forward weights and, optionally, the backward weights (trained on reversed words). */
  constructor(forward: SegmenterWeights, backward: SegmenterWeights | null = null) {
    this.fwd = new Direction(forward);
    this.bwd = backward ? new Direction(backward) : null;
    this.dir = this.fwd;
  }

  /** Number of features over both directions. */
  get size(): number { return this.fwd.size + (this.bwd ? this.bwd.size : 0); }
  get directions(): number { return this.bwd ? 2 : 1; }

  boundaries(word: string): number[] {
    const n = word.length, out: number[] = [];
    if (n < 2) return out;
    if (this.codes.length < n) {
      this.codes = new Int32Array(n * 2); this.rcodes = new Int32Array(n * 2); this.suf = new Int32Array(n * 2 + 1);
      this.pre = new Int32Array(n * 2 + 1); this.bscore = new Float32Array(n * 2); this.bias = new Float32Array(n * 2);
    }
    const codes = this.codes;
    for (let i = 0; i < n; i++) codes[i] = word.charCodeAt(i);
    let bias: Float32Array | null = null;
    if (this.bwd) {
      const r = this.rcodes, bs = this.bscore;
      for (let i = 0; i < n; i++) r[i] = codes[n - 1 - i];
      this.decode(this.bwd, r, n, null, bs, null);
      bias = this.bias;
      for (let i = 1; i < n; i++) bias[i] = bs[n - i]; // reversed gap n - i is forward gap i
    }
    this.decode(this.fwd, codes, n, bias, null, out);
    return out;
  }

  /**
   * Greedy left-to-right pass of one direction over codes[0..n): gap i is a boundary when its score (plus bias[i])
   * is positive; scores[i] receives the model's own score, out the boundaries.
   */
  private decode(d: Direction, codes: Int32Array, n: number, bias: Float32Array | null, scores: Float32Array | null, out: number[] | null): void {
    affixHashes(codes, n, this.suf, this.pre);
    const ctx = this.ctx;
    ctx.last = 0; ctx.cur = CUR_SEED; ctx.lexicon = d.lexSet;
    this.dir = d;
    for (let i = 1; i < n; i++) {
      ctx.cur = mix(ctx.cur, codes[i - 1]);
      // Only gaps between two syllables are decided; jamo (e.g. decomposed text) stay unsplit.
      if (!isSyllable(codes[i - 1]) || !isSyllable(codes[i])) { if (scores) scores[i] = 0; continue; }
      this.score = 0;
      gapFeatures(codes, n, i, this.suf, this.pre, ctx, this.add);
      if (scores) scores[i] = this.score;
      if (this.score + (bias ? bias[i] : 0) > 0) { out?.push(i); ctx.last = i; ctx.cur = CUR_SEED; }
    }
  }

  /**
   * Binary form: magic, version 3, direction count, then per direction: feature count, scale, int32 hashes,
   * int16 weights (weight = q * scale), lexicon count, int32 lexicon hashes. Little-endian.
   */
  toBytes(): Uint8Array {
    const dirs = this.bwd ? [this.fwd, this.bwd] : [this.fwd];
    const blocks = dirs.map(encodeDirection);
    const head = Buffer.alloc(12);
    head.writeUInt32LE(MAGIC, 0); head.writeUInt32LE(VERSION, 4); head.writeUInt32LE(dirs.length, 8);
    const buf = Buffer.concat([head, ...blocks]);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  }

  static fromBytes(bytes: Uint8Array): Segmenter {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    if (buf.length < 12 || buf.readUInt32LE(0) !== MAGIC) throw new Error('segmenter: not an hcx segmenter model');
    const version = buf.readUInt32LE(4);
    if (version !== 2 && version !== VERSION) throw new Error(`segmenter: model version ${version}, this hcx reads 2 and ${VERSION}`);
    const count = version === 2 ? 1 : buf.readUInt32LE(8);
    if (count !== 1 && count !== 2) throw new Error(`segmenter: ${count} directions`);
    let at = version === 2 ? 8 : 12;
    const dirs: SegmenterWeights[] = [];
    for (let k = 0; k < count; k++) { const [d, next] = decodeDirection(buf, at); dirs.push(d); at = next; }
    if (at !== buf.length) throw new Error('segmenter: trailing bytes after the model');
    return new Segmenter(dirs[0], dirs[1] ?? null);
  }
}

function encodeDirection(d: Direction): Buffer {
  const ks: number[] = [], ws: number[] = [];
  for (let j = 0; j <= d.mask; j++) if (d.slots[2 * j] !== 0) { ks.push(d.slots[2 * j]); ws.push(d.vals[2 * j + 1]); }
  let max = 0;
  for (const w of ws) max = Math.max(max, Math.abs(w));
  const scale = max > 0 ? max / 32767 : 1;
  const n = ks.length, L = d.lexicon.length, lo = 8 + n * 6;
  const buf = Buffer.alloc(lo + 4 + 4 * L);
  buf.writeUInt32LE(n, 0); buf.writeFloatLE(scale, 4);
  for (let f = 0; f < n; f++) { buf.writeInt32LE(ks[f], 8 + 4 * f); buf.writeInt16LE(Math.round(ws[f] / scale), 8 + 4 * n + 2 * f); }
  buf.writeUInt32LE(L, lo);
  for (let k = 0; k < L; k++) buf.writeInt32LE(d.lexicon[k], lo + 4 + 4 * k);
  return buf;
}

function decodeDirection(buf: Buffer, at: number): [SegmenterWeights, number] {
  if (buf.length < at + 8) throw new Error('segmenter: truncated model');
  const n = buf.readUInt32LE(at), scale = buf.readFloatLE(at + 4), lo = at + 8 + n * 6;
  if (buf.length < lo + 4 || buf.length < lo + 4 + 4 * buf.readUInt32LE(lo)) throw new Error('segmenter: truncated model');
  const features = new Int32Array(n), weights = new Float32Array(n), lexicon = new Int32Array(buf.readUInt32LE(lo));
  for (let f = 0; f < n; f++) { features[f] = buf.readInt32LE(at + 8 + 4 * f); weights[f] = buf.readInt16LE(at + 8 + 4 * n + 2 * f) * scale; }
  for (let k = 0; k < lexicon.length; k++) lexicon[k] = buf.readInt32LE(lo + 4 + 4 * k);
  return [{ features, weights, lexicon }, lo + 4 + 4 * lexicon.length];
}

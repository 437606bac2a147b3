// Batching SFT examples. Packed: best-fit-decreasing puts whole conversations into fixed-length rows;
// positions restart at 0 for each conversation and every token carries its conversation's segment id, so
// attention is block-diagonal and no token sees another conversation. Padded (the baseline): one
// conversation per row, padded to the longest in the batch.
// Targets are next tokens within a conversation where the mask trains them, else IGNORE (-100): the last
// token of a conversation, everything not trained, and padding predict nothing.
import { IGNORE } from '../../train/losses.js';

export interface Example {
  ids: Int32Array;
  mask: Uint8Array;
}

export interface TrainBatch {
  ids: Int32Array;
  targets: Int32Array;
  /** Position of every token (restarting per conversation). */
  positions: Int32Array;
  /** Conversation of every token within its row (padding has a segment of its own); absent when unpacked. */
  segmentIds?: Int32Array;
  B: number;
  T: number;
  /** Targets that count. */
  supervised: number;
  /** Non-padding tokens. */
  tokens: number;
}

/**
 * Best-fit decreasing: examples longest first (ties by index), each into the open row whose free space
 * is smallest but enough, else a new row. Returns rows of example indices. A bitset over free-space
 * values finds the best row in O(capacity / 32) per example.
 */
export function bestFitDecreasing(lengths: readonly number[], capacity: number): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[b] - lengths[a] || a - b);
  const rows: number[][] = [];
  const free: number[] = [];
  const bySpace: number[][] = Array.from({ length: capacity + 1 }, () => []);
  const bits = new Uint32Array((capacity >>> 5) + 1);
  const mark = (s: number) => { bits[s >>> 5] |= 1 << (s & 31); };
  const unmarkIfEmpty = (s: number) => { if (!bySpace[s].length) bits[s >>> 5] &= ~(1 << (s & 31)); };
  const firstAtLeast = (s: number): number => {
    let w = s >>> 5;
    let word = bits[w] & (~0 << (s & 31));
    while (!word) {
      if (++w >= bits.length) return -1;
      word = bits[w];
    }
    return (w << 5) + (31 - Math.clz32(word & -word));
  };
  for (const i of order) {
    const n = lengths[i];
    if (n > capacity) throw new Error(`packing: example ${i} has ${n} tokens, rows hold ${capacity}`);
    if (n === 0) continue;
    const s = firstAtLeast(n);
    let r: number;
    if (s < 0) {
      r = rows.length;
      rows.push([]);
      free.push(capacity);
    } else {
      r = bySpace[s].pop()!;
      unmarkIfEmpty(s);
    }
    rows[r].push(i);
    free[r] -= n;
    if (free[r] > 0) { bySpace[free[r]].push(r); mark(free[r]); }
  }
  return rows;
}

/** Writes example e at offset o of a row: ids, in-conversation targets, positions, segment. */
function place(b: TrainBatch, e: Example, o: number, seg: number): number {
  const n = e.ids.length;
  let sup = 0;
  for (let j = 0; j < n; j++) {
    b.ids[o + j] = e.ids[j];
    const t = j + 1 < n && e.mask[j + 1] ? e.ids[j + 1] : IGNORE;
    b.targets[o + j] = t;
    sup += +(t !== IGNORE);
    b.positions[o + j] = j;
    if (b.segmentIds) b.segmentIds[o + j] = seg;
  }
  b.supervised += sup;
  b.tokens += n;
  return n;
}

function emptyBatch(B: number, T: number, padId: number, segments: boolean): TrainBatch {
  const b: TrainBatch = {
    ids: new Int32Array(B * T).fill(padId), targets: new Int32Array(B * T).fill(IGNORE), positions: new Int32Array(B * T),
    segmentIds: segments ? new Int32Array(B * T) : undefined, B, T, supervised: 0, tokens: 0,
  };
  return b;
}

/** Pads the rest of a row from offset o: pad ids, no targets, positions counting from 0, one last segment. */
function padRow(b: TrainBatch, rowStart: number, o: number, seg: number): void {
  for (let j = o; j < b.T; j++) {
    b.positions[rowStart + j] = j - o;
    if (b.segmentIds) b.segmentIds[rowStart + j] = seg;
  }
}

/** B packed rows of length T (each a list of example indices, as bestFitDecreasing returns). */
export function packedBatch(examples: readonly Example[], rows: readonly number[][], T: number, padId: number): TrainBatch {
  const b = emptyBatch(rows.length, T, padId, true);
  rows.forEach((row, r) => {
    let o = 0;
    row.forEach((i, k) => {
      if (o + examples[i].ids.length > T) throw new Error(`packing: row ${r} overflows ${T} tokens`);
      o += place(b, examples[i], r * T + o, k);
    });
    padRow(b, r * T, o, row.length);
  });
  return b;
}

/** One example per row, padded to the longest of them (rounded up to a multiple of `multiple`). */
export function paddedBatch(examples: readonly Example[], idx: readonly number[], padId: number, multiple = 1): TrainBatch {
  const longest = Math.max(1, ...idx.map((i) => examples[i].ids.length));
  const T = Math.ceil(longest / multiple) * multiple;
  const b = emptyBatch(idx.length, T, padId, false);
  idx.forEach((i, r) => padRow(b, r * T, place(b, examples[i], r * T, 0), 1));
  return b;
}

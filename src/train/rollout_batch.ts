// Finished rollouts as packed training rows: whole prompt+response sequences side by side, one row per
// batch padded to a multiple of 128 tokens, positions restarting and a segment id per sequence, so
// attention stays inside each one. Every response token t of a sequence is predicted at one flat row
// index (the position before it): log-probabilities, values and every per-token loss live on those
// rows, the rest of the row (prompt, padding) is masked out. The policy, reference, value and reward
// networks all score these same packed batches.
import type { Transformer } from '../model/transformer.js';
import type { ScoreModel } from '../model/score_head.js';
import { F, noGrad, tensor, type Tensor } from '../tensor/index.js';
import { IGNORE } from './losses.js';

export interface Sequence { promptIds: Int32Array; response: Int32Array }

export interface PackedRollout {
  ids: Int32Array;
  positions: Int32Array;
  segmentIds: Int32Array;
  /** The response token each row predicts, IGNORE elsewhere. */
  targets: Int32Array;
  B: number;
  T: number;
  /** Which sequences (indices into the list given to packRow) this batch holds, in placement order. */
  members: number[];
  /** Per member: the flat row predicting each of its response tokens. */
  predRows: Int32Array[];
  /** Per member: the flat index of its last token (where a score head reads). */
  ends: Int32Array;
  /** 1 on rows predicting a response token. */
  mask: Float32Array;
}

/** Packed rows are padded to a multiple of this many tokens, so buffer sizes repeat from step to step. */
export const ROW_QUANTUM = 128;

/**
 * Packs sequences `idx`, in order, into one row as long as they are together, rounded up to a multiple
 * of `quantum` tokens (padding below one quantum instead of up to a whole row; the rounding keeps the
 * activation sizes to a few values, which the buffer pool then reuses instead of faulting in fresh
 * pages for every new length). The attention kernel skips the key tiles of other segments, so a long
 * row costs what its sequences do; positions restart per sequence, so each stays within the model's
 * context (`maxLen`).
 */
export function packRow(seqs: readonly Sequence[], idx: readonly number[], maxLen: number, pad: number, quantum = ROW_QUANTUM): PackedRollout {
  const lens = idx.map((i) => seqs[i].promptIds.length + seqs[i].response.length);
  for (const [k, n] of lens.entries()) if (n > maxLen) throw new Error(`rollout sequence ${idx[k]} has ${n} tokens, rows hold ${maxLen} (raise rowLen)`);
  const T = Math.max(1, Math.ceil(lens.reduce((a, n) => a + n, 0) / quantum) * quantum);
  const ids = new Int32Array(T).fill(pad), positions = new Int32Array(T), segmentIds = new Int32Array(T), targets = new Int32Array(T).fill(IGNORE);
  const mask = new Float32Array(T);
  const predRows: Int32Array[] = [], ends: number[] = [];
  let o = 0;
  idx.forEach((i, seg) => {
    const s = seqs[i], P = s.promptIds.length, L = s.response.length;
    ids.set(s.promptIds, o);
    ids.set(s.response, o + P);
    const pr = new Int32Array(L);
    for (let j = 0; j < P + L; j++) { positions[o + j] = j; segmentIds[o + j] = seg; }
    for (let t = 0; t < L; t++) {
      const at = o + P - 1 + t;
      targets[at] = s.response[t];
      mask[at] = 1;
      pr[t] = at;
    }
    predRows.push(pr);
    ends.push(o + P + L - 1);
    o += P + L;
  });
  // Padding: a segment of its own, positions from 0.
  for (let j = o, p = 0; j < T; j++, p++) { positions[j] = p; segmentIds[j] = idx.length; }
  return { ids, positions, segmentIds, targets, B: 1, T, members: [...idx], predRows, ends: Int32Array.from(ends), mask };
}

/**
 * Splits `order` into batches of at most rowsPerBatch * T tokens (greedy, in order), each packed as one row
 * (packRow): the same tokens per forward as rowsPerBatch rows of T, with padding under one quantum.
 */
export function packInBatches(seqs: readonly Sequence[], order: readonly number[], T: number, rowsPerBatch: number, pad: number): PackedRollout[] {
  const out: PackedRollout[] = [];
  let cur: number[] = [], tokens = 0;
  for (const i of order) {
    const n = seqs[i].promptIds.length + seqs[i].response.length;
    if (cur.length && tokens + n > rowsPerBatch * T) { out.push(packRow(seqs, cur, T, pad)); cur = []; tokens = 0; }
    cur.push(i);
    tokens += n;
  }
  if (cur.length) out.push(packRow(seqs, cur, T, pad));
  return out;
}

/**
 * Log-probabilities [B*T] of each row's target under softmax(logits / temperature) (0 on rows without a
 * target), differentiable when gradients are recorded, and for metrics the logits of the rows with a
 * target ([1, n, vocab], `rowMask` their mask). Only those rows go through the LM head: a prompt
 * position's logits are never used, and the head is a large share of a small model's step.
 */
export function tokenLogprobs(model: Transformer, b: PackedRollout, temperature: number): { logp: Tensor; logits: Tensor; rowMask: Float32Array } {
  const N = b.B * b.T, d = model.config.dModel;
  const h = F.reshape(model.hidden(b.ids, b.B, b.T, { positions: b.positions, segmentIds: b.segmentIds }), [N, d]);
  const rows: number[] = [];
  for (let p = 0; p < N; p++) if (b.targets[p] !== IGNORE) rows.push(p);
  const n = rows.length;
  const pick = new Int32Array(n * d);
  rows.forEach((p, k) => pick.fill(p, k * d, (k + 1) * d));
  let logits = model.logits(F.reshape(F.gather(h, 0, pick, [n, d]), [1, n, d]));
  if (temperature !== 1) logits = F.scale(logits, 1 / temperature);
  const lp = F.neg(F.crossEntropy(logits, Int32Array.from(rows, (p) => b.targets[p]), { reduction: 'none' }));
  // Back to [B*T]: row p takes its log-prob, rows without a target the appended zero.
  const back = new Int32Array(N).fill(n);
  rows.forEach((p, k) => { back[p] = k; });
  const logp = F.gather(F.concat([F.reshape(lp, [n]), tensor(new Float32Array(1), [1])], 0), 0, back, [N]);
  return { logp, logits, rowMask: Float32Array.from(rows, (p) => b.mask[p]) };
}

/** Mean entropy (nats) of the masked rows' distributions, from logits already computed. */
export function meanEntropy(logits: Tensor, mask: Float32Array): { sum: number; count: number } {
  const V = logits.shape[logits.ndim - 1], d = logits.data;
  let sum = 0, count = 0;
  for (let r = 0; r < mask.length; r++) {
    if (!mask[r]) continue;
    let mx = -Infinity;
    for (let v = r * V; v < (r + 1) * V; v++) if (d[v] > mx) mx = d[v];
    let z = 0, ez = 0;
    for (let v = r * V; v < (r + 1) * V; v++) { const e = Math.exp(d[v] - mx); z += e; ez += e * (d[v] - mx); }
    sum += Math.log(z) - ez / z;
    count++;
  }
  return { sum, count };
}

/** Per member: the values of `flat` at its predicting rows. */
export function perSequence(flat: Float32Array, b: PackedRollout): Float32Array[] {
  return b.predRows.map((rows) => Float32Array.from(rows, (r) => flat[r]));
}

/** Flat [B*T] from per-member arrays (keyed by sequence index), 0 on unmasked rows. */
export function toRows(perSeq: readonly Float32Array[], b: PackedRollout): Float32Array {
  const out = new Float32Array(b.B * b.T);
  b.members.forEach((m, k) => b.predRows[k].forEach((r, t) => { out[r] = perSeq[m][t]; }));
  return out;
}

/** Per-token values [B*T] of a score model (the value network), differentiable when recorded. */
export function tokenValues(vm: ScoreModel, b: PackedRollout): Tensor {
  return F.reshape(vm.tokenScores(b.ids, b.B, b.T, { segmentIds: b.segmentIds, positions: b.positions }), [b.B * b.T]);
}

/** Reward-model scores of the batch's members, in member order. */
export function sequenceScores(rm: ScoreModel, b: PackedRollout): Float32Array {
  return noGrad(() => rm.score(b.ids, b.B, b.T, { segmentIds: b.segmentIds, positions: b.positions, ends: b.ends })).data.slice();
}

// Causal grouped-query attention (optionally over a sliding window), flash style: q [B, T, Hq, D], k and v [B, S, Hkv, D] -> [B, T, Hq, D].
// Memory is O(T): the kernel keeps one log-sum-exp per query row and recomputes scores in backward.
// With segmentIds the mask is block-diagonal: several sequences packed into one row never see each other.
import { record } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { K, shapeStr } from './util.js';

export interface AttentionOptions {
  causal?: boolean;
  /** Absolute position of query 0 among the keys (KV-cache decoding); default S - T. */
  queryOffset?: number;
  /** Score scale; default 1/sqrt(headDim). */
  scale?: number;
  /**
   * Valid rows of k and v when they are KV-cache buffers [B, capacity, Hkv, D] filled up to this
   * length (inference only); default: all of them.
   */
  kvLength?: number;
  /**
   * Segment id of every key position, [B * S] (S = kvLength): query t (at absolute position
   * queryOffset + t) sees only keys of its own segment, e.g. conversations packed into one row. Padding
   * can be given a segment of its own. Tiles no query of which shares a segment with its keys are skipped.
   */
  segmentIds?: Int32Array;
  /** Causal sliding window: a query sees only its own key and the window - 1 before it (0 or absent: all). */
  window?: number;
}

export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  if (q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4) throw new Error(`attention: expected 4-D q, k, v, got ${shapeStr(q.shape)}, ${shapeStr(k.shape)}, ${shapeStr(v.shape)}`);
  const [B, T, Hq, D] = q.shape;
  const [Bk, cap, Hkv, Dk] = k.shape;
  const S = opts.kvLength ?? cap;
  if (S > cap || S < 1) throw new Error(`attention: kvLength ${S} outside 1..${cap}`);
  if (S < cap && (k.requiresGrad || v.requiresGrad)) throw new Error('attention: kvLength is for inference; k and v must not require grad');
  if (Bk !== B || Dk !== D || v.shape.some((d, i) => d !== k.shape[i])) {
    throw new Error(`attention: k ${shapeStr(k.shape)} and v ${shapeStr(v.shape)} do not fit q ${shapeStr(q.shape)}`);
  }
  if (Hq % Hkv !== 0) throw new Error(`attention: ${Hq} query heads is not a multiple of ${Hkv} KV heads`);
  const causal = opts.causal ?? true;
  const qOffset = opts.queryOffset ?? S - T;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const seg = opts.segmentIds ?? null;
  if (seg) {
    if (!(seg instanceof Int32Array)) throw new Error('attention: segmentIds must be an Int32Array');
    if (seg.length !== B * S) throw new Error(`attention: ${seg.length} segment ids for ${B} x ${S} key positions`);
    if (qOffset < 0 || qOffset + T > S) throw new Error(`attention: with segmentIds the ${T} queries at offset ${qOffset} must lie within the ${S} keys`);
  }
  const window = opts.window ?? 0;
  if (!(Number.isInteger(window) && window >= 0)) throw new Error(`attention: window must be a non-negative integer, got ${window}`);
  if (window > 0 && !causal) throw new Error('attention: a sliding window needs causal attention');
  const o = Tensor.empty(q.shape);
  const lse = Tensor.empty([B, Hq, T]);
  K.attention(q.data, k.data, v.data, o.data, lse.data, B, T, S, Hq, Hkv, D, scale, +causal, qOffset, cap, seg, window);
  return record(o, 'attention', [q, k, v], (g, ctx) => {
    // The kernel writes all three gradients at once; inputs that need none get scratch space.
    const gq = ctx.gradFor(0), gk = ctx.gradFor(1), gv = ctx.gradFor(2);
    const acc = !!(gq?.[1] || gk?.[1] || gv?.[1]);
    if (!acc) {
      K.attentionBackward(q.data, k.data, v.data, o.data, lse.data, g, gq?.[0] ?? Tensor.empty(q.shape).data,
        gk?.[0] ?? Tensor.empty(k.shape).data, gv?.[0] ?? Tensor.empty(v.shape).data, B, T, S, Hq, Hkv, D, scale, +causal, qOffset, 0, seg, window);
      return;
    }
    // Some buffer already holds gradient: compute into fresh ones and add.
    const tq = Tensor.empty(q.shape), tk = Tensor.empty(k.shape), tv = Tensor.empty(v.shape);
    K.attentionBackward(q.data, k.data, v.data, o.data, lse.data, g, tq.data, tk.data, tv.data, B, T, S, Hq, Hkv, D, scale, +causal, qOffset, 0, seg, window);
    for (const [slot, t] of [[gq, tq], [gk, tk], [gv, tv]] as const) {
      if (!slot) continue;
      if (slot[1]) K.axpy(slot[0], t.data, 1);
      else slot[0].set(t.data);
    }
  });
}

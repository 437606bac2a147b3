// How the transformer block's attention reads keys and values: the one thing that differs between
// training (full causal over the batch), generation (a contiguous KV cache) and serving (the engine's
// paged KV pool). The block (src/model/block.ts) computes q, k, v (after QK-norm and RoPE) and hands
// them to a backend, which returns the attention output [B, T, Hq * headDim].
import { F, Tensor } from '../tensor/index.js';
import type { KVCache } from './kv_cache.js';

/** Per layer: the score scale and the sliding window (0: every earlier key is visible). */
export interface AttentionSpec {
  scale: number;
  window: number;
}

export interface AttentionBackend {
  /** q [B, T, Hq, hd], k and v [B, T, Hkv, hd] of layer `layer` -> [B, T, Hq * hd]. */
  attend(layer: number, q: Tensor, k: Tensor, v: Tensor, spec: AttentionSpec): Tensor;
}

const flat = (a: Tensor): Tensor => F.reshape(a, [a.shape[0], a.shape[1], a.shape[2] * a.shape[3]]);

/** Training and plain forwards: every row of the batch is one sequence, causal; differentiable. */
export const fullCausal: AttentionBackend = {
  attend: (_layer, q, k, v, spec) => flat(F.attention(q, k, v, { scale: spec.scale, window: spec.window })),
};

/** Generation: this step's keys and values are appended to the cache, and the queries read all of it. */
export class CachedAttention implements AttentionBackend {
  readonly offset: number;

  constructor(readonly cache: KVCache) {
    this.offset = cache.length;
  }

  attend(layer: number, q: Tensor, k: Tensor, v: Tensor, spec: AttentionSpec): Tensor {
    const [kc, vc] = this.cache.append(layer, k, v);
    const T = q.shape[1];
    return flat(F.attention(q, kc, vc, { kvLength: this.offset + T, queryOffset: this.offset, scale: spec.scale, window: spec.window }));
  }
}

/**
 * Packed sequences (SFT, PPO): one row holds several documents back to back, and a token sees only the
 * earlier tokens of its own document. segmentIds [B*T] numbers the documents of each row (a document is one
 * run of equal ids; ids need not be unique across rows). The flash kernel takes the segment ids itself:
 * key tiles no query of a tile shares a segment with are skipped, so packing costs no extra attention work.
 */
export class PackedAttention implements AttentionBackend {
  /** Segment ids renumbered so that every run of a row has its own id (two runs of one id stay apart). */
  private readonly ids: Int32Array;

  constructor(segmentIds: Int32Array, B: number, T: number) {
    if (segmentIds.length !== B * T) throw new Error(`packed attention: ${segmentIds.length} segment ids for batch ${B} x ${T}`);
    this.ids = new Int32Array(B * T);
    segmentRuns(segmentIds, B, T).forEach((runs, b) => runs.forEach(([s, e], i) => this.ids.fill(i, b * T + s, b * T + e)));
  }

  attend(_layer: number, q: Tensor, k: Tensor, v: Tensor, spec: AttentionSpec): Tensor {
    return flat(F.attention(q, k, v, { scale: spec.scale, window: spec.window, segmentIds: this.ids }));
  }
}

/** Runs of equal segment ids per row, and the positions that restart at 0 in each of them. */
export function segmentRuns(segmentIds: Int32Array, B: number, T: number): [number, number][][] {
  const out: [number, number][][] = [];
  for (let b = 0; b < B; b++) {
    const runs: [number, number][] = [];
    let s = 0;
    for (let t = 1; t <= T; t++) {
      if (t === T || segmentIds[b * T + t] !== segmentIds[b * T + s]) {
        runs.push([s, t]);
        s = t;
      }
    }
    out.push(runs);
  }
  return out;
}

/** Positions that restart at 0 at every document of a packed row. */
export function segmentPositions(segmentIds: Int32Array, B: number, T: number): Int32Array {
  const pos = new Int32Array(B * T);
  segmentRuns(segmentIds, B, T).forEach((runs, b) => {
    for (const [s, e] of runs) for (let t = s; t < e; t++) pos[b * T + t] = t - s;
  });
  return pos;
}

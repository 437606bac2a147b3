// The model forward for one engine step. Every scheduled sequence's new tokens (a prefill chunk or one
// decode token) are packed into a single [1, N] row; each token carries its own position, cache slot,
// block table and context length. The layers are the model's own (src/model/block.ts) with a paged
// attention backend: each layer writes its keys and values to the pool and the queries read their
// sequence's blocks. The output projection runs only on the rows whose logits are needed.
import { Tensor, noGrad, tidy } from '../tensor/index.js';
import { native } from '../native/index.js';
import type { AttentionBackend, AttentionSpec } from '../model/attention_backends.js';
import { runDecoder } from '../model/block.js';
import type { Transformer } from '../model/transformer.js';
import type { KVPool } from './kv_pool.js';

type F32 = Float32Array;
type I32 = Int32Array;
type U16 = Uint16Array;

interface PagedKernels {
  pagedAttention(q: F32, kPool: F32 | U16, vPool: F32 | U16, out: F32, blockTables: I32, tableStart: I32, ctxLen: I32,
    N: number, Hq: number, Hkv: number, D: number, blockSize: number, scale: number, window: number): void;
  pagedKvWrite(k: F32, v: F32, kPool: F32 | U16, vPool: F32 | U16, slots: I32, N: number, Hkv: number, D: number, blockSize: number): void;
}

export const PK = native as unknown as PagedKernels;

/** One step's packed tokens. */
export interface StepBatch {
  tokens: Int32Array;
  positions: Int32Array;
  /** Pool slot (block * blockSize + offset) where each token's key and value go. */
  slots: Int32Array;
  /** All sequences' block tables back to back. */
  blockTables: Int32Array;
  /** Where each token's sequence table starts in blockTables. */
  tableStart: Int32Array;
  /** Keys each token sees: its position + 1. */
  ctxLen: Int32Array;
  /** Rows (indices into tokens) whose logits are returned, in this order. */
  logitRows: Int32Array;
}

/** Attention over the pool: keys and values go to each token's slot, queries read their sequence's blocks. */
class PagedAttention implements AttentionBackend {
  constructor(readonly pool: KVPool, readonly b: StepBatch) {}

  attend(layer: number, q: Tensor, k: Tensor, v: Tensor, spec: AttentionSpec): Tensor {
    const [, N, Hq, hd] = q.shape, Hkv = k.shape[2], { pool, b } = this;
    PK.pagedKvWrite(k.data, v.data, pool.k[layer], pool.v[layer], b.slots, N, Hkv, hd, pool.blockSize);
    const a = new Tensor([1, N, Hq * hd]);
    PK.pagedAttention(q.data, pool.k[layer], pool.v[layer], a.data, b.blockTables, b.tableStart, b.ctxLen, N, Hq, Hkv, hd, pool.blockSize, spec.scale, spec.window);
    return a;
  }
}

export class PagedModel {
  private logitsBuf = new Float32Array(0);

  constructor(readonly model: Transformer, readonly pool: KVPool) {}

  /** Runs the step; returns logits [logitRows.length, vocab], valid until the next forward. */
  forward(b: StepBatch): Float32Array {
    const c = this.model.config, N = b.tokens.length, V = c.vocabSize, D = c.dModel;
    if (N === 0) return this.logitsBuf.subarray(0, 0);
    for (const [name, a] of [['positions', b.positions], ['slots', b.slots], ['tableStart', b.tableStart], ['ctxLen', b.ctxLen]] as const) {
      if (a.length !== N) throw new Error(`paged forward: ${name} has ${a.length} entries for ${N} tokens`);
    }
    for (let i = 0; i < N; i++) {
      const t = b.tokens[i];
      if (!(t >= 0 && t < V)) throw new Error(`paged forward: token id ${t} outside the vocabulary (0..${V - 1})`);
    }
    const R = b.logitRows.length;
    for (let r = 0; r < R; r++) {
      const i = b.logitRows[r];
      if (!(i >= 0 && i < N)) throw new Error(`paged forward: logit row ${i} outside 0..${N - 1}`);
    }
    if (this.logitsBuf.length < R * V) this.logitsBuf = new Float32Array(R * V);
    const out = this.logitsBuf.subarray(0, R * V);
    // tidy() returns every buffer of the step to the pool; the logits are copied out into a buffer reused
    // from step to step (a typed array as tidy's result would be walked element by element).
    noGrad(() => tidy(() => {
      const h = runDecoder(this.model, this.model.embed(b.tokens, [1, N]), { B: 1, T: N, positions: b.positions, backend: new PagedAttention(this.pool, b) });
      if (R === 0) return;
      const rows = Tensor.empty([R, D]);
      for (let r = 0; r < R; r++) rows.data.set(h.data.subarray(b.logitRows[r] * D, (b.logitRows[r] + 1) * D), r * D);
      out.set(this.model.logits(rows).data);
    }));
    return out;
  }
}

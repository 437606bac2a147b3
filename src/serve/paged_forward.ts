// The model forward for one engine step. Every scheduled sequence's new tokens (a prefill chunk or one
// decode token) are packed into a single [1, N] row; each token carries its own position, cache slot,
// block table and context length. The layers mirror Transformer.hidden (src/model/transformer.ts):
//   x += Wo · pagedAttention(rope(Wq·rmsnorm(x)), pool K, pool V)    (after writing rope(Wk·x), Wv·x to the pool)
//   x += Wdown · (silu(Wgate·rmsnorm(x)) * Wup·rmsnorm(x))
// with inference-only fused kernels (each residual add fused with the RMSNorm that follows it, SwiGLU in
// one pass), and the output projection runs only on the rows whose logits are needed.
import { F, Tensor, noGrad, tidy } from '../tensor/index.js';
import { native } from '../native/index.js';
import type { Transformer } from '../model/transformer.js';
import type { KVPool } from './kv_pool.js';

type F32 = Float32Array;
type I32 = Int32Array;
type U16 = Uint16Array;

interface PagedKernels {
  pagedAttention(q: F32, kPool: F32 | U16, vPool: F32 | U16, out: F32, blockTables: I32, tableStart: I32, ctxLen: I32,
    N: number, Hq: number, Hkv: number, D: number, blockSize: number, scale: number): void;
  pagedKvWrite(k: F32, v: F32, kPool: F32 | U16, vPool: F32 | U16, slots: I32, N: number, Hkv: number, D: number, blockSize: number): void;
  swiglu(gate: F32, up: F32, out: F32): void;
  addRmsnorm(x: F32, y: F32, w: F32, out: F32, rows: number, dim: number, eps: number): void;
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

interface LayerWeights { ln1: Tensor; wq: Tensor; wk: Tensor; wv: Tensor; wo: Tensor; ln2: Tensor; wg: Tensor; wu: Tensor; wd: Tensor }

export class PagedModel {
  private readonly layers: LayerWeights[] = [];
  private readonly embed: Tensor;
  private readonly norm: Tensor;
  private readonly out: Tensor;
  readonly headDim: number;
  private logitsBuf = new Float32Array(0);

  constructor(readonly model: Transformer, readonly pool: KVPool) {
    const c = model.config;
    this.headDim = c.dModel / c.nHeads;
    for (let i = 0; i < c.nLayers; i++) {
      const g = (n: string) => model.param(`model.layers.${i}.${n}`);
      this.layers.push({
        ln1: g('input_layernorm.weight'), wq: g('self_attn.q_proj.weight'), wk: g('self_attn.k_proj.weight'),
        wv: g('self_attn.v_proj.weight'), wo: g('self_attn.o_proj.weight'), ln2: g('post_attention_layernorm.weight'),
        wg: g('mlp.gate_proj.weight'), wu: g('mlp.up_proj.weight'), wd: g('mlp.down_proj.weight'),
      });
    }
    this.embed = model.param('model.embed_tokens.weight');
    this.norm = model.param('model.norm.weight');
    this.out = c.tieEmbeddings ? this.embed : model.param('lm_head.weight');
  }

  /** Projections multiply in the model's compute dtype (bf16 halves the weight bytes every decode step reads). */
  private lin(x: Tensor, w: Tensor): Tensor {
    return this.model.computeDtype === 'bf16' ? F.linearBf16(x, w) : F.linear(x, w);
  }

  /** Runs the step; returns logits [logitRows.length, vocab], valid until the next forward. */
  forward(b: StepBatch): Float32Array {
    const c = this.model.config, hd = this.headDim, N = b.tokens.length, V = c.vocabSize;
    if (N === 0) return this.logitsBuf.subarray(0, 0);
    for (const [name, a] of [['positions', b.positions], ['slots', b.slots], ['tableStart', b.tableStart], ['ctxLen', b.ctxLen]] as const) {
      if (a.length !== N) throw new Error(`paged forward: ${name} has ${a.length} entries for ${N} tokens`);
    }
    for (let i = 0; i < N; i++) {
      const t = b.tokens[i];
      if (!(t >= 0 && t < V)) throw new Error(`paged forward: token id ${t} outside the vocabulary (0..${V - 1})`);
    }
    const ropeOpts = { base: c.ropeBase, positionScale: c.ropeScale, positions: b.positions };
    const scale = 1 / Math.sqrt(hd);
    if (this.logitsBuf.length < b.logitRows.length * V) this.logitsBuf = new Float32Array(b.logitRows.length * V);
    const out = this.logitsBuf.subarray(0, b.logitRows.length * V);
    // tidy() returns every buffer of the step to the pool; the logits are copied out into a buffer reused
    // from step to step (a typed array as tidy's result would be walked element by element).
    noGrad(() => tidy(() => {
      const D = c.dModel;
      const x = F.embedding(this.embed, b.tokens, [1, N]);
      // x += y, then the RMSNorm of x with weight w: the residual stream is updated in place.
      const addNorm = (y: Tensor, w: Tensor): Tensor => {
        const out = Tensor.empty([1, N, D]);
        PK.addRmsnorm(x.data, y.data, w.data, out.data, N, D, c.normEps);
        return out;
      };
      let xn = F.rmsnorm(x, this.layers[0].ln1, c.normEps);
      this.layers.forEach((L, li) => {
        const q = F.rope(F.reshape(this.lin(xn, L.wq), [1, N, c.nHeads, hd]), ropeOpts);
        const k = F.rope(F.reshape(this.lin(xn, L.wk), [1, N, c.nKvHeads, hd]), ropeOpts);
        const v = this.lin(xn, L.wv);
        PK.pagedKvWrite(k.data, v.data, this.pool.k[li], this.pool.v[li], b.slots, N, c.nKvHeads, hd, this.pool.blockSize);
        const a = new Tensor([1, N, c.dModel]);
        PK.pagedAttention(q.data, this.pool.k[li], this.pool.v[li], a.data, b.blockTables, b.tableStart, b.ctxLen,
          N, c.nHeads, c.nKvHeads, hd, this.pool.blockSize, scale);
        const hn = addNorm(this.lin(a, L.wo), L.ln2);
        const gate = this.lin(hn, L.wg), up = this.lin(hn, L.wu);
        const act = Tensor.empty(gate.shape);
        PK.swiglu(gate.data, up.data, act.data);
        // The next layer's input norm, or after the last layer the final norm.
        xn = addNorm(this.lin(act, L.wd), li + 1 < this.layers.length ? this.layers[li + 1].ln1 : this.norm);
      });
      const R = b.logitRows.length;
      if (R === 0) return;
      const rows = Tensor.empty([R, D]);
      for (let r = 0; r < R; r++) {
        const i = b.logitRows[r];
        if (!(i >= 0 && i < N)) throw new Error(`paged forward: logit row ${i} outside 0..${N - 1}`);
        rows.data.set(xn.data.subarray(i * D, (i + 1) * D), r * D);
      }
      out.set(this.lin(rows, this.out).data);
    }));
    return out;
  }
}

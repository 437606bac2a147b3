// The decoder stack, written once for every way the model runs. Each of nLayers pre-norm blocks is
//   x += Wo · attention(rope(Wq·rmsnorm(x)), rope(Wk·rmsnorm(x)), Wv·rmsnorm(x))
//   x += Wdown · (silu(Wgate·rmsnorm(x)) * Wup·rmsnorm(x))                       (SwiGLU)
// followed by the final RMSNorm. How attention reads keys and values is the backend's business
// (src/model/attention_backends.ts: full causal, KV cache, packed documents; the serving engine's paged pool).
// When no gradient is recorded the same loop runs inference kernels: each residual add fused with the
// RMSNorm after it (the residual stream is updated in place) and SwiGLU in one pass.
import { F, Tensor, isGradEnabled } from '../tensor/index.js';
import { native } from '../native/index.js';
import type { ModelConfig } from './config.js';
import type { AttentionBackend } from './attention_backends.js';

interface FusedKernels {
  swiglu(gate: Float32Array, up: Float32Array, out: Float32Array): void;
  addRmsnorm(x: Float32Array, y: Float32Array, w: Float32Array, out: Float32Array, rows: number, dim: number, eps: number): void;
}
const K = native as unknown as FusedKernels;

export interface LayerWeights { ln1: Tensor; wq: Tensor; wk: Tensor; wv: Tensor; wo: Tensor; ln2: Tensor; wg: Tensor; wu: Tensor; wd: Tensor }

/** What the loop needs of a model: its shape, its weights and how it multiplies (fp32 or bf16). */
export interface DecoderModel {
  readonly config: ModelConfig;
  readonly headDim: number;
  readonly layers: readonly LayerWeights[];
  readonly finalNorm: Tensor;
  lin(x: Tensor, w: Tensor): Tensor;
}

export interface DecoderStep {
  B: number;
  T: number;
  /** Every token's position [B*T], for RoPE. */
  positions: Int32Array;
  backend: AttentionBackend;
}

/** Runs the blocks on embeddings x [B, T, dModel]; returns the final-normed hidden states [B, T, dModel]. */
export function runDecoder(m: DecoderModel, x: Tensor, s: DecoderStep): Tensor {
  const c = m.config, hd = m.headDim, { B, T } = s;
  const fused = !isGradEnabled();
  const rope = { base: c.ropeBase, positionScale: c.ropeScale, positions: s.positions };
  const spec = { scale: 1 / Math.sqrt(hd) };
  // x + y, then the RMSNorm of the sum with weight w: [new residual stream, its norm].
  const residual = (x: Tensor, y: Tensor, w: Tensor): [Tensor, Tensor] => {
    if (!fused) {
      const sum = F.add(x, y);
      return [sum, F.rmsnorm(sum, w, c.normEps)];
    }
    const out = Tensor.empty(x.shape);
    K.addRmsnorm(x.data, y.data, w.data, out.data, B * T, c.dModel, c.normEps);
    return [x, out];
  };
  const swiglu = (g: Tensor, u: Tensor): Tensor => {
    if (!fused) return F.mul(F.silu(g), u);
    const out = Tensor.empty(g.shape);
    K.swiglu(g.data, u.data, out.data);
    return out;
  };
  let h = F.rmsnorm(x, m.layers[0].ln1, c.normEps);
  m.layers.forEach((L, li) => {
    const q = F.rope(F.reshape(m.lin(h, L.wq), [B, T, c.nHeads, hd]), rope);
    const k = F.rope(F.reshape(m.lin(h, L.wk), [B, T, c.nKvHeads, hd]), rope);
    const v = F.reshape(m.lin(h, L.wv), [B, T, c.nKvHeads, hd]);
    const a = s.backend.attend(li, q, k, v, spec);
    [x, h] = residual(x, m.lin(a, L.wo), L.ln2);
    const next = li + 1 < m.layers.length ? m.layers[li + 1].ln1 : m.finalNorm;
    [x, h] = residual(x, m.lin(swiglu(m.lin(h, L.wg), m.lin(h, L.wu)), L.wd), next);
  });
  return h;
}

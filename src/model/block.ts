// The decoder stack, written once for every way the model runs. Each of nLayers blocks is
//   h = rmsnorm(x)                                  (preNorm; EXAONE 4 feeds x itself)
//   q, k = qknorm(Wq·h + bq), qknorm(Wk·h + bk)     (qkNorm per head: Qwen3, EXAONE 4), then RoPE (unless the layer skips it)
//   y = Wo · attention(q, k, Wv·h + bv) + bo       (scale: attentionMultiplier; sliding-window layers see the last W keys)
//   x += residualMultiplier · postnorm(y)           (postNorm: Peri-LN / EXAONE 4)
//   h = rmsnorm(x);  y = Wdown · (silu(Wgate·h) * Wup·h)  (+ MLP biases);  x += residualMultiplier · postnorm(y)
// followed by the final RMSNorm. How attention reads keys and values is the backend's business
// (src/model/attention_backends.ts: full causal, KV cache, packed documents; the serving engine's paged pool).
// When no gradient is recorded the same loop runs inference kernels: each residual add fused with the
// RMSNorm after it (the residual stream is updated in place) and SwiGLU in one pass.
import { F, Tensor, isGradEnabled } from '../tensor/index.js';
import type { RopeOptions } from '../tensor/ops/rope.js';
import { native } from '../native/index.js';
import type { ModelConfig } from './config.js';
import type { AttentionBackend, AttentionSpec } from './attention_backends.js';
import type { Weight } from './weights.js';

interface FusedKernels {
  swiglu(gate: Float32Array, up: Float32Array, out: Float32Array): void;
  addRmsnorm(x: Float32Array, y: Float32Array, w: Float32Array, out: Float32Array, rows: number, dim: number, eps: number, alpha: number): void;
  axpy(y: Float32Array, x: Float32Array, alpha: number): void;
}
const K = native as unknown as FusedKernels;

export interface LayerWeights {
  /** Input norms of the attention and MLP sub-layers (null without preNorm). */
  ln1: Tensor | null; ln2: Tensor | null;
  wq: Weight; wk: Weight; wv: Weight; wo: Weight;
  bq: Tensor | null; bk: Tensor | null; bv: Tensor | null; bo: Tensor | null;
  qNorm: Tensor | null; kNorm: Tensor | null;
  /** Output norms of the two sub-layers (null without postNorm). */
  post1: Tensor | null; post2: Tensor | null;
  wg: Weight; wu: Weight; wd: Weight;
  bg: Tensor | null; bu: Tensor | null; bd: Tensor | null;
  /** Whether this layer applies RoPE; its attention scale and sliding window. */
  rope: boolean;
  attention: AttentionSpec;
}

/** What the loop needs of a model: its shape, its weights and how it multiplies (fp32 or bf16). */
export interface DecoderModel {
  readonly config: ModelConfig;
  readonly headDim: number;
  readonly layers: readonly LayerWeights[];
  readonly finalNorm: Tensor;
  /** RoPE's base, linear scale and (with RoPE scaling) frequencies; positions come per step. */
  readonly ropeOptions: Omit<RopeOptions, 'positions' | 'offset'>;
  lin(x: Tensor, w: Weight, bias?: Tensor | null): Tensor;
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
  const c = m.config, hd = m.headDim, { B, T } = s, eps = c.normEps, alpha = c.residualMultiplier;
  const fused = !isGradEnabled();
  const rope = { ...m.ropeOptions, positions: s.positions };
  // x += alpha y (in place when fused), then returns the RMSNorm of the new x with weight w (x itself when w is null).
  const residual = (y: Tensor, w: Tensor | null): Tensor => {
    if (!fused) {
      x = F.add(x, alpha === 1 ? y : F.scale(y, alpha));
      return w ? F.rmsnorm(x, w, eps) : x;
    }
    if (!w) {
      K.axpy(x.data, y.data, alpha);
      return x;
    }
    const out = Tensor.empty(x.shape);
    K.addRmsnorm(x.data, y.data, w.data, out.data, B * T, c.dModel, eps, alpha);
    return out;
  };
  const swiglu = (g: Tensor, u: Tensor): Tensor => {
    if (!fused) return F.mul(F.silu(g), u);
    const out = Tensor.empty(g.shape);
    K.swiglu(g.data, u.data, out.data);
    return out;
  };
  const norm = (t: Tensor, w: Tensor | null): Tensor => (w ? F.rmsnorm(t, w, eps) : t);
  const heads = (t: Tensor, n: number, qk: Tensor | null, L: LayerWeights): Tensor => {
    const r = norm(F.reshape(t, [B, T, n, hd]), qk);
    return L.rope ? F.rope(r, rope) : r;
  };
  let h = norm(x, m.layers[0].ln1);
  m.layers.forEach((L, li) => {
    const q = heads(m.lin(h, L.wq, L.bq), c.nHeads, L.qNorm, L);
    const k = heads(m.lin(h, L.wk, L.bk), c.nKvHeads, L.kNorm, L);
    const v = F.reshape(m.lin(h, L.wv, L.bv), [B, T, c.nKvHeads, hd]);
    const a = s.backend.attend(li, q, k, v, L.attention);
    h = residual(norm(m.lin(a, L.wo, L.bo), L.post1), L.ln2);
    const next = li + 1 < m.layers.length ? m.layers[li + 1].ln1 : m.finalNorm;
    const y = m.lin(swiglu(m.lin(h, L.wg, L.bg), m.lin(h, L.wu, L.bu)), L.wd, L.bd);
    h = residual(norm(y, L.post2), next);
  });
  return h;
}

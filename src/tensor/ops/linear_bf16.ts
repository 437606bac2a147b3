// nn.Linear computed in bf16 (AVX512_BF16 dot products where the CPU has them): y = x W^T with W held
// as a bf16 copy of the fp32 master weight. The input is saved for backward in bf16 too, halving
// that activation's memory. Gradients flow to x and, in fp32, to the master W. Without autograd
// (inference: decoding, serving, evaluation) the weight is instead packed once into the GEMM
// microkernel's panel layout and reused until it changes, so no call re-packs it.
import { isGradEnabled, record } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { native } from '../../native/index.js';
import { shapeStr } from './util.js';

type U16 = Uint16Array;
interface Bf16Kernels {
  f32ToBf16(src: Float32Array, dst: U16): void;
  gemmBf16(a: Float32Array | U16, w: U16, c: Float32Array, batch: number, m: number, n: number, k: number, transA: number, transW: number,
    alpha: number, beta: number, strideA: number, strideW: number, strideC: number): void;
  packedBf16Words(n: number, k: number): number;
  packBf16(w: Float32Array, n: number, k: number, dst: Uint32Array): void;
  gemmBf16Prepacked(x: Float32Array, wp: Uint32Array, c: Float32Array, m: number, n: number, k: number): void;
}
const K = native as unknown as Bf16Kernels;

const cache = new WeakMap<Tensor, { bits: U16; version: number }>();

/** The bf16 copy of an fp32 tensor, re-rounded only when the tensor's version changed. */
export function bf16Of(t: Tensor): U16 {
  let e = cache.get(t);
  if (!e || e.bits.length !== t.size) {
    e = { bits: new Uint16Array(t.size), version: -1 };
    cache.set(t, e);
  }
  if (e.version !== t.version) {
    K.f32ToBf16(t.data, e.bits);
    e.version = t.version;
  }
  return e.bits;
}

const packedCache = new WeakMap<Tensor, { words: Uint32Array; version: number }>();

/** The weight [N, K] rounded to bf16 and packed for gemmBf16Prepacked, re-packed only when it changed. */
export function packedBf16Of(w: Tensor): Uint32Array {
  let e = packedCache.get(w);
  if (e && e.version === w.version) return e.words;
  const [N, Kd] = w.shape;
  const words = K.packedBf16Words(N, Kd);
  if (!e || e.words.length !== words) {
    e = { words: new Uint32Array(words), version: -1 };
    packedCache.set(w, e);
  }
  if (e.version !== w.version) {
    K.packBf16(w.data, N, Kd, e.words);
    e.version = w.version;
  }
  return e.words;
}

/**
 * Frees the packed copies of these weights. Training calls it after a no-grad evaluation: the weights change
 * at the next step anyway, and holding a packed copy of every weight between evaluations would add half the
 * fp32 weights' memory for nothing.
 */
export function dropPackedWeights(ws: Iterable<Tensor>): void {
  for (const w of ws) packedCache.delete(w);
}

/** Whether a packed copy of w is held (tests). */
export const hasPackedWeight = (w: Tensor): boolean => packedCache.has(w);

export function toBf16(x: Float32Array): U16 {
  const out = new Uint16Array(x.length);
  K.f32ToBf16(x, out);
  return out;
}

export function linearBf16(x: Tensor, w: Tensor): Tensor {
  if (w.ndim !== 2) throw new Error(`linearBf16: weight must be [out, in], got ${shapeStr(w.shape)}`);
  const [N, Kd] = w.shape;
  if (x.shape[x.ndim - 1] !== Kd) throw new Error(`linearBf16: input ${shapeStr(x.shape)} does not end in ${Kd}`);
  const M = x.size / Kd;
  const y = Tensor.empty([...x.shape.slice(0, -1), N]);
  if (!isGradEnabled()) {
    K.gemmBf16Prepacked(x.data, packedBf16Of(w), y.data, M, N, Kd);
    return y;
  }
  const wb = bf16Of(w);
  K.gemmBf16(x.data, wb, y.data, 1, M, N, Kd, 0, 1, 1, 0, 0, 0, 0);
  const saved = isGradEnabled() && w.requiresGrad ? toBf16(x.data) : null;
  return record(y, 'linearBf16', [x, w], (g, ctx) => {
    const gx = ctx.gradFor(0);
    // dX[M,K] = dY[M,N] W[N,K]
    if (gx) K.gemmBf16(g, wb, gx[0], 1, M, Kd, N, 0, 0, 1, gx[1] ? 1 : 0, 0, 0, 0);
    const gw = ctx.gradFor(1);
    // dW[N,K] = dY^T[N,M] X[M,K]
    if (gw && saved) K.gemmBf16(g, saved, gw[0], 1, N, Kd, M, 1, 0, 1, gw[1] ? 1 : 0, 0, 0, 0);
  });
}

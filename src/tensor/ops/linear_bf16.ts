// nn.Linear computed in bf16 (AVX512_BF16 dot products where the CPU has them): y = x W^T with W held
// as a bf16 copy of the fp32 master weight. The input is saved for backward in bf16 too, halving
// that activation's memory. Gradients flow to x and, in fp32, to the master W.
import { isGradEnabled, record } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { native } from '../../native/index.js';
import { shapeStr } from './util.js';

type U16 = Uint16Array;
interface Bf16Kernels {
  f32ToBf16(src: Float32Array, dst: U16): void;
  gemmBf16(a: Float32Array | U16, w: U16, c: Float32Array, batch: number, m: number, n: number, k: number, transA: number, transW: number,
    alpha: number, beta: number, strideA: number, strideW: number, strideC: number): void;
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
  const wb = bf16Of(w);
  const y = Tensor.empty([...x.shape.slice(0, -1), N]);
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

// Shared helpers for ops: broadcasting rules, axis normalisation, and the typed native kernels.
import { native as rawNative } from '../../native/index.js';

type F32 = Float32Array;
type I32 = Int32Array;

/** The addon's kernels as the ops call them (argument order documented in src/native/*.cc). */
export interface OpKernels {
  sgemm(a: F32, b: F32, c: F32, batch: number, m: number, n: number, k: number, transA: number, transB: number,
    alpha: number, beta: number, strideA: number, strideB: number, strideC: number): void;
  unary(op: number, x: F32, y: F32): void;
  unaryBackward(op: number, x: F32, y: F32, gy: F32, gx: F32, acc: number): void;
  binary(op: number, a: F32, b: F32, out: F32, shape: I32, sa: I32, sb: I32): void;
  sumToStrides(src: F32, dst: F32, shape: I32, dstStrides: I32, acc: number): void;
  permute(src: F32, dst: F32, shape: I32, perm: I32): void;
  clamp(x: F32, y: F32, lo: number, hi: number): void;
  clampBackward(x: F32, gy: F32, gx: F32, lo: number, hi: number, acc: number): void;
  affine(x: F32, y: F32, scale: number, shift: number): void;
  axpy(y: F32, x: F32, alpha: number): void;
  maskedFill(x: F32, mask: Uint8Array, y: F32, value: number): void;
  reduceAxis(op: number, x: F32, y: F32, outer: number, n: number, inner: number, scale: number, argmax: I32 | null): void;
  expandAxis(gy: F32, gx: F32, outer: number, n: number, inner: number, scale: number, acc: number): void;
  scatterAxis(gy: F32, idx: I32, gx: F32, outer: number, n: number, inner: number): void;
  gatherAxis(x: F32, idx: I32, y: F32, outer: number, n: number, inner: number, m: number): void;
  gatherAxisBackward(gy: F32, idx: I32, gx: F32, outer: number, n: number, inner: number, m: number): void;
  sumSquares(x: F32): number;
  rmsnorm(x: F32, w: F32, y: F32, rstd: F32, rows: number, dim: number, eps: number): void;
  rmsnormBackward(x: F32, w: F32, rstd: F32, gy: F32, gx: F32 | null, gw: F32 | null, rows: number, dim: number, acc: number): void;
  rope(x: F32, y: F32, positions: I32, tokens: number, heads: number, headDim: number, base: number, posScale: number, direction: number,
    invFreq?: Float64Array | null, factor?: number): void;
  softmax(mode: number, x: F32, y: F32, rows: number, n: number): void;
  softmaxBackward(mode: number, y: F32, gy: F32, gx: F32, rows: number, n: number, acc: number): void;
  crossEntropy(logits: F32, targets: I32, loss: F32, lse: F32, rows: number, vocab: number, ignoreIndex: number): void;
  crossEntropyBackward(logits: F32, targets: I32, lse: F32, coef: F32, gx: F32, rows: number, vocab: number, ignoreIndex: number, acc: number): void;
  attention(q: F32, k: F32, v: F32, o: F32, lse: F32, B: number, T: number, S: number, Hq: number, Hkv: number, D: number,
    scale: number, causal: number, qOffset: number, kvCapacity?: number, segmentIds?: I32 | null, window?: number): void;
  attentionBackward(q: F32, k: F32, v: F32, o: F32, lse: F32, go: F32, gq: F32, gk: F32, gv: F32, B: number, T: number, S: number,
    Hq: number, Hkv: number, D: number, scale: number, causal: number, qOffset: number, acc: number, segmentIds?: I32 | null, window?: number): void;
  embedding(table: F32, ids: I32, out: F32, rows: number, dim: number): void;
  embeddingBackward(gout: F32, ids: I32, gtable: F32, dim: number): void;
  adamw(p: F32, g: F32, m: F32, v: F32, lr: number, b1: number, b2: number, eps: number, wd: number, step: number): void;
  sgd(p: F32, g: F32, buf: F32 | null, lr: number, momentum: number, wd: number, nesterov: number): void;
}

export const K = rawNative as unknown as OpKernels;

/** NumPy broadcasting: the shape both operands stretch to. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`cannot broadcast shapes [${a.join(', ')}] and [${b.join(', ')}]`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Strides of a contiguous `shape` read as `out` (0 where the dimension is broadcast). */
export function broadcastStrides(shape: readonly number[], out: readonly number[]): Int32Array {
  const st = new Int32Array(out.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const o = out.length - shape.length + i;
    st[o] = shape[i] === 1 && out[o] !== 1 ? 0 : s;
    s *= shape[i];
  }
  return st;
}

export function normAxis(axis: number, ndim: number): number {
  const a = axis < 0 ? axis + ndim : axis;
  if (!Number.isInteger(a) || a < 0 || a >= ndim) throw new Error(`axis ${axis} out of range for ${ndim} dimensions`);
  return a;
}

/** [outer, n, inner] sizes of a shape around one axis. */
export function splitAt(shape: readonly number[], axis: number): [number, number, number] {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  return [outer, shape[axis], inner];
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function shapeStr(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
}

/** Writes src into a gradient buffer, adding when `acc`. */
export function writeGrad(dst: Float32Array, src: Float32Array, acc: boolean): void {
  if (acc) K.axpy(dst, src, 1);
  else dst.set(src);
}

// Shape ops: reshape (a view), permute/transpose (a copy), slice (a view on the leading axis,
// otherwise a copy) and concat.
import { record } from '../autograd.js';
import { Tensor, numel } from '../tensor.js';
import { K, normAxis, shapeStr, splitAt, writeGrad } from './util.js';

/** Same data, new shape; one dimension may be -1. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const s = shape.slice();
  const neg = s.indexOf(-1);
  if (neg >= 0) {
    const rest = s.reduce((a, d, i) => (i === neg ? a : a * d), 1);
    s[neg] = rest === 0 ? 0 : x.size / rest;
  }
  if (numel(s) !== x.size || s.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`reshape: cannot view ${shapeStr(x.shape)} (${x.size} elements) as ${shapeStr(shape)}`);
  }
  const y = new Tensor(s, x.data, { base: x.base });
  return record(y, 'reshape', [x], (g, ctx) => {
    const gx = ctx.gradFor(0);
    if (gx) writeGrad(gx[0], g, gx[1]);
  });
}

export function permute(x: Tensor, perm: readonly number[]): Tensor {
  if (perm.length !== x.ndim || [...perm].sort().some((p, i) => p !== i)) {
    throw new Error(`permute: [${perm.join(', ')}] is not a permutation of ${x.ndim} axes`);
  }
  const outShape = perm.map((p) => x.shape[p]);
  const y = Tensor.empty(outShape);
  K.permute(x.data, y.data, Int32Array.from(x.shape), Int32Array.from(perm));
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return record(y, 'permute', [x], (g, ctx) => {
    const gx = ctx.gradFor(0);
    if (!gx) return;
    if (!gx[1]) K.permute(g, gx[0], Int32Array.from(outShape), Int32Array.from(inv));
    else {
      const t = Tensor.empty(x.shape);
      K.permute(g, t.data, Int32Array.from(outShape), Int32Array.from(inv));
      K.axpy(gx[0], t.data, 1);
    }
  });
}

/** Swaps two axes (default: the last two). */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const p = x.shape.map((_, i) => i);
  const i = normAxis(a, x.ndim), j = normAxis(b, x.ndim);
  [p[i], p[j]] = [p[j], p[i]];
  return permute(x, p);
}

/** Elements start..end-1 along `axis`. */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const ax = normAxis(axis, x.ndim);
  const n = x.shape[ax];
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= n)) {
    throw new Error(`slice: [${start}, ${end}) out of range for axis ${axis} of ${shapeStr(x.shape)}`);
  }
  const [outer, , inner] = splitAt(x.shape, ax);
  const m = end - start;
  const outShape = x.shape.slice();
  outShape[ax] = m;
  let y: Tensor;
  if (outer === 1) {
    y = new Tensor(outShape, x.data.subarray(start * inner, end * inner), { base: x.base });
  } else {
    y = Tensor.empty(outShape);
    for (let o = 0; o < outer; o++) y.data.set(x.data.subarray((o * n + start) * inner, (o * n + end) * inner), o * m * inner);
  }
  return record(y, 'slice', [x], (g, ctx) => {
    const gx = ctx.gradFor(0);
    if (!gx) return;
    const [buf, acc] = gx;
    if (!acc) buf.fill(0);
    for (let o = 0; o < outer; o++) {
      const dst = buf.subarray((o * n + start) * inner, (o * n + end) * inner);
      const src = g.subarray(o * m * inner, (o + 1) * m * inner);
      K.axpy(dst, src, 1);
    }
  });
}

export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new Error('concat: no tensors');
  const ax = normAxis(axis, xs[0].ndim);
  for (const t of xs) {
    if (t.ndim !== xs[0].ndim || t.shape.some((d, i) => i !== ax && d !== xs[0].shape[i])) {
      throw new Error(`concat: shapes ${xs.map((t) => shapeStr(t.shape)).join(', ')} differ off axis ${axis}`);
    }
  }
  const total = xs.reduce((a, t) => a + t.shape[ax], 0);
  const outShape = xs[0].shape.slice();
  outShape[ax] = total;
  const [outer, , inner] = splitAt(outShape, ax);
  const y = Tensor.empty(outShape);
  let off = 0;
  const offsets: number[] = [];
  for (const t of xs) {
    const m = t.shape[ax];
    offsets.push(off);
    for (let o = 0; o < outer; o++) y.data.set(t.data.subarray(o * m * inner, (o + 1) * m * inner), (o * total + off) * inner);
    off += m;
  }
  return record(y, 'concat', xs, (g, ctx) => {
    xs.forEach((t, i) => {
      const gx = ctx.gradFor(i);
      if (!gx) return;
      const m = t.shape[ax];
      for (let o = 0; o < outer; o++) {
        const src = g.subarray((o * total + offsets[i]) * inner, (o * total + offsets[i] + m) * inner);
        const dst = gx[0].subarray(o * m * inner, (o + 1) * m * inner);
        if (gx[1]) K.axpy(dst, src, 1);
        else dst.set(src);
      }
    });
  });
}

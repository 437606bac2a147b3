// Reductions: sum, mean and max over one axis (or all elements), with keepdim.
import { record } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { K, normAxis, splitAt } from './util.js';

function reducedShape(shape: readonly number[], axis: number, keepdim: boolean): number[] {
  const s = shape.slice();
  if (keepdim) s[axis] = 1;
  else s.splice(axis, 1);
  return s;
}

function sumOrMean(x: Tensor, axis: number | undefined, keepdim: boolean, mean: boolean): Tensor {
  const all = axis === undefined;
  const ax = all ? 0 : normAxis(axis, x.ndim);
  const [outer, n, inner] = all ? [1, x.size, 1] : splitAt(x.shape, ax);
  const k = mean ? 1 / n : 1;
  const shape = all ? (keepdim ? x.shape.map(() => 1) : []) : reducedShape(x.shape, ax, keepdim);
  const y = Tensor.empty(shape);
  K.reduceAxis(0, x.data, y.data, outer, n, inner, k, null);
  return record(y, mean ? 'mean' : 'sum', [x], (g, ctx) => {
    const gx = ctx.gradFor(0);
    if (gx) K.expandAxis(g, gx[0], outer, n, inner, k, +gx[1]);
  });
}

/** Sum over `axis`, or over every element when axis is undefined. */
export const sum = (x: Tensor, axis?: number, keepdim = false): Tensor => sumOrMean(x, axis, keepdim, false);
export const mean = (x: Tensor, axis?: number, keepdim = false): Tensor => sumOrMean(x, axis, keepdim, true);

/** Max over `axis` (or all elements); the gradient flows to the first maximal element. */
export function max(x: Tensor, axis?: number, keepdim = false): Tensor {
  const all = axis === undefined;
  const ax = all ? 0 : normAxis(axis, x.ndim);
  const [outer, n, inner] = all ? [1, x.size, 1] : splitAt(x.shape, ax);
  const shape = all ? (keepdim ? x.shape.map(() => 1) : []) : reducedShape(x.shape, ax, keepdim);
  const y = Tensor.empty(shape);
  const idx = new Int32Array(outer * inner);
  K.reduceAxis(1, x.data, y.data, outer, n, inner, 1, idx);
  return record(y, 'max', [x], (g, ctx) => {
    const gx = ctx.gradFor(0);
    if (!gx) return;
    if (!gx[1]) gx[0].fill(0);
    K.scatterAxis(g, idx, gx[0], outer, n, inner);
  });
}

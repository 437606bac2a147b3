// Affine maps by constants: scale(x, s) = s x, addScalar(x, c) = x + c.
import { record } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { K } from './util.js';

export function affine(x: Tensor, scale: number, shift: number): Tensor {
  const y = Tensor.empty(x.shape);
  K.affine(x.data, y.data, scale, shift);
  return record(y, 'affine', [x], (g, ctx) => {
    const gx = ctx.gradFor(0);
    if (!gx) return;
    if (gx[1]) K.axpy(gx[0], g, scale);
    else K.affine(g, gx[0], scale, 0);
  });
}

export const scale = (x: Tensor, s: number): Tensor => affine(x, s, 0);
export const addScalar = (x: Tensor, c: number): Tensor => affine(x, 1, c);

// maskedFill (replace masked positions with a constant) and clamp.
import { record } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { allocF32, release } from '../pool.js';
import { K } from './util.js';

/** y = mask ? value : x, mask one byte per element of x. */
export function maskedFill(x: Tensor, mask: Uint8Array, value: number): Tensor {
  if (mask.length !== x.size) throw new Error(`maskedFill: mask has ${mask.length} entries for ${x.size} elements`);
  const y = Tensor.empty(x.shape);
  K.maskedFill(x.data, mask, y.data, value);
  return record(y, 'maskedFill', [x], (g, ctx) => {
    const gx = ctx.gradFor(0);
    if (!gx) return;
    const t = allocF32(x.size, false);
    K.maskedFill(g, mask, t, 0);
    if (gx[1]) K.axpy(gx[0], t, 1);
    else gx[0].set(t);
    release(t);
  });
}

/** Limits x to [lo, hi]; the gradient passes only where x was inside. */
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  if (lo > hi) throw new Error(`clamp: lo ${lo} > hi ${hi}`);
  const y = Tensor.empty(x.shape);
  K.clamp(x.data, y.data, lo, hi);
  return record(y, 'clamp', [x], (g, ctx) => {
    const gx = ctx.gradFor(0);
    if (gx) K.clampBackward(x.data, g, gx[0], lo, hi, +gx[1]);
  });
}

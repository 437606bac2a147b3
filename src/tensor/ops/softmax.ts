// Softmax and log-softmax over the last axis.
import { record } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { K } from './util.js';

function rowOp(mode: 0 | 1, x: Tensor): Tensor {
  if (x.ndim === 0) throw new Error('softmax: needs at least one dimension');
  const n = x.shape[x.ndim - 1];
  const rows = n === 0 ? 0 : x.size / n;
  const y = Tensor.empty(x.shape);
  K.softmax(mode, x.data, y.data, rows, n);
  return record(y, mode === 0 ? 'softmax' : 'logSoftmax', [x], (g, ctx) => {
    const gx = ctx.gradFor(0);
    if (gx) K.softmaxBackward(mode, y.data, g, gx[0], rows, n, +gx[1]);
  });
}

export const softmax = (x: Tensor): Tensor => rowOp(0, x);
export const logSoftmax = (x: Tensor): Tensor => rowOp(1, x);

// gather along an axis (PyTorch's gather / NumPy's take_along_axis): out[..., j, ...] = x[..., idx[..., j, ...], ...].
// Picks the log-probabilities of chosen tokens for PPO and DPO.
import { record } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { K, normAxis, shapeStr, splitAt } from './util.js';

/** idx has x's shape except along `axis`, where it has `idxShape[axis]` entries. */
export function gather(x: Tensor, axis: number, idx: Int32Array, idxShape: readonly number[]): Tensor {
  const ax = normAxis(axis, x.ndim);
  if (idxShape.length !== x.ndim || idxShape.some((d, i) => i !== ax && d !== x.shape[i])) {
    throw new Error(`gather: index shape ${shapeStr(idxShape)} does not fit ${shapeStr(x.shape)} on axis ${axis}`);
  }
  const [outer, n, inner] = splitAt(x.shape, ax);
  const m = idxShape[ax];
  if (idx.length !== outer * m * inner) throw new Error(`gather: ${idx.length} indices for shape ${shapeStr(idxShape)}`);
  const y = Tensor.empty(idxShape);
  K.gatherAxis(x.data, idx, y.data, outer, n, inner, m);
  return record(y, 'gather', [x], (g, ctx) => {
    const gx = ctx.gradFor(0);
    if (!gx) return;
    if (!gx[1]) gx[0].fill(0);
    K.gatherAxisBackward(g, idx, gx[0], outer, n, inner, m);
  });
}

// Fused RMSNorm over the last axis: y = x / sqrt(mean(x^2) + eps) * weight.
import { record } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { K, shapeStr } from './util.js';

export function rmsnorm(x: Tensor, weight: Tensor, eps = 1e-5): Tensor {
  const D = x.shape[x.ndim - 1];
  if (weight.size !== D) throw new Error(`rmsnorm: weight ${shapeStr(weight.shape)} does not match last axis of ${shapeStr(x.shape)}`);
  const rows = x.size / D;
  const y = Tensor.empty(x.shape);
  // Saved for the backward pass; as a Tensor it returns to the pool with the step's other buffers.
  const rstd = Tensor.empty([rows]);
  K.rmsnorm(x.data, weight.data, y.data, rstd.data, rows, D, eps);
  return record(y, 'rmsnorm', [x, weight], (g, ctx) => {
    const gx = ctx.gradFor(0);
    const gw = ctx.gradFor(1);
    // The kernel always adds into gw; a fresh buffer is zeroed first.
    if (gw && !gw[1]) gw[0].fill(0);
    K.rmsnormBackward(x.data, weight.data, rstd.data, g, gx ? gx[0] : null, gw ? gw[0] : null, rows, D, gx ? +gx[1] : 0);
  });
}

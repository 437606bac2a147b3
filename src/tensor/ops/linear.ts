// nn.Linear: y = x W^T (+ bias), with W stored [out, in].
import { Tensor } from '../tensor.js';
import { add } from './binary.js';
import { matmul } from './matmul.js';
import { reshape } from './shape.js';
import { shapeStr } from './util.js';

export function linear(x: Tensor, w: Tensor, bias?: Tensor): Tensor {
  if (w.ndim !== 2) throw new Error(`linear: weight must be [out, in], got ${shapeStr(w.shape)}`);
  const x2 = x.ndim === 1 ? reshape(x, [1, x.shape[0]]) : x;
  let y = matmul(x2, w, { transB: true });
  if (x.ndim === 1) y = reshape(y, [w.shape[0]]);
  return bias ? add(y, bias) : y;
}

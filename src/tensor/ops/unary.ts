// Elementwise math with derivatives: exp, log, sqrt, tanh, sigmoid, logsigmoid, silu, ...
import { record } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { K } from './util.js';

// Codes match enum Unary in src/native/elementwise.cc.
const CODES = { exp: 0, log: 1, sqrt: 2, tanh: 3, sigmoid: 4, logSigmoid: 5, silu: 6, neg: 7, relu: 8, square: 9, abs: 10, rsqrt: 11, gelu: 12 } as const;
export type UnaryName = keyof typeof CODES;

export function unary(name: UnaryName, x: Tensor): Tensor {
  const op = CODES[name];
  const y = Tensor.empty(x.shape);
  K.unary(op, x.data, y.data);
  return record(y, name, [x], (g, ctx) => {
    const gx = ctx.gradFor(0);
    if (gx) K.unaryBackward(op, x.data, y.data, g, gx[0], +gx[1]);
  });
}

export const exp = (x: Tensor): Tensor => unary('exp', x);
export const log = (x: Tensor): Tensor => unary('log', x);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
/** log(sigmoid(x)) computed stably (DPO and reward-model losses). */
export const logSigmoid = (x: Tensor): Tensor => unary('logSigmoid', x);
export const silu = (x: Tensor): Tensor => unary('silu', x);
export const neg = (x: Tensor): Tensor => unary('neg', x);
export const relu = (x: Tensor): Tensor => unary('relu', x);
export const square = (x: Tensor): Tensor => unary('square', x);
export const abs = (x: Tensor): Tensor => unary('abs', x);
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', x);
export const gelu = (x: Tensor): Tensor => unary('gelu', x);

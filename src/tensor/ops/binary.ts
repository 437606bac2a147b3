// Broadcasting elementwise arithmetic: add, sub, mul, div, maximum, minimum.
import { record } from '../autograd.js';
import { Tensor, numel } from '../tensor.js';
import { allocF32, release } from '../pool.js';
import { K, broadcastShapes, broadcastStrides, sameShape } from './util.js';

const ADD = 0, SUB = 1, MUL = 2, DIV = 3, MAXIMUM = 4, MINIMUM = 5;

function run(op: number, a: Float32Array, as: readonly number[], b: Float32Array, bs: readonly number[], out: Float32Array, os: readonly number[]): void {
  K.binary(op, a, b, out, Int32Array.from(os), broadcastStrides(as, os), broadcastStrides(bs, os));
}

/** Adds (or writes) a full-shape gradient into an input's gradient, summing over broadcast axes. */
function reduceInto(g: Float32Array, outShape: readonly number[], target: readonly number[], buf: Float32Array, acc: boolean): void {
  if (sameShape(outShape, target)) {
    if (acc) K.axpy(buf, g, 1);
    else buf.set(g);
    return;
  }
  K.sumToStrides(g, buf, Int32Array.from(outShape), broadcastStrides(target, outShape), +acc);
}

function binary(op: number, name: string, a: Tensor, b: Tensor): Tensor {
  const os = broadcastShapes(a.shape, b.shape);
  const out = Tensor.empty(os);
  run(op, a.data, a.shape, b.data, b.shape, out.data, os);
  return record(out, name, [a, b], (g, ctx) => {
    const n = numel(os);
    const tmp = op === ADD || op === SUB ? null : allocF32(n, false);
    const ga = ctx.gradFor(0);
    if (ga) {
      let src = g;
      if (op === MUL) { run(MUL, g, os, b.data, b.shape, tmp!, os); src = tmp!; }
      else if (op === DIV) { run(DIV, g, os, b.data, b.shape, tmp!, os); src = tmp!; }
      else if (op === MAXIMUM || op === MINIMUM) { selectGrad(op, g, a, b, os, true, tmp!); src = tmp!; }
      reduceInto(src, os, a.shape, ga[0], ga[1]);
    }
    const gb = ctx.gradFor(1);
    if (gb) {
      let src = g;
      if (op === SUB) { src = allocF32(n, false); K.affine(g, src, -1, 0); }
      else if (op === MUL) { run(MUL, g, os, a.data, a.shape, tmp!, os); src = tmp!; }
      else if (op === DIV) {
        // d(a/b)/db = -(a/b)/b * g = -out/b * g
        run(DIV, out.data, os, b.data, b.shape, tmp!, os);
        run(MUL, tmp!, os, g, os, tmp!, os);
        K.affine(tmp!, tmp!, -1, 0);
        src = tmp!;
      } else if (op === MAXIMUM || op === MINIMUM) { selectGrad(op, g, a, b, os, false, tmp!); src = tmp!; }
      reduceInto(src, os, b.shape, gb[0], gb[1]);
      if (op === SUB) release(src);
    }
    if (tmp) release(tmp);
  });
}

// maximum/minimum route the gradient to the operand that was chosen (ties go to a).
function selectGrad(op: number, g: Float32Array, a: Tensor, b: Tensor, os: readonly number[], forA: boolean, out: Float32Array): void {
  const n = numel(os);
  const ea = allocF32(n, false), eb = allocF32(n, false);
  const zero = new Float32Array(1);
  run(ADD, a.data, a.shape, zero, [1], ea, os);
  run(ADD, b.data, b.shape, zero, [1], eb, os);
  for (let i = 0; i < n; i++) {
    const pickA = op === MAXIMUM ? ea[i] >= eb[i] : ea[i] <= eb[i];
    out[i] = pickA === forA ? g[i] : 0;
  }
  release(ea);
  release(eb);
}

export const add = (a: Tensor, b: Tensor): Tensor => binary(ADD, 'add', a, b);
export const sub = (a: Tensor, b: Tensor): Tensor => binary(SUB, 'sub', a, b);
export const mul = (a: Tensor, b: Tensor): Tensor => binary(MUL, 'mul', a, b);
export const div = (a: Tensor, b: Tensor): Tensor => binary(DIV, 'div', a, b);
export const maximum = (a: Tensor, b: Tensor): Tensor => binary(MAXIMUM, 'maximum', a, b);
export const minimum = (a: Tensor, b: Tensor): Tensor => binary(MINIMUM, 'minimum', a, b);

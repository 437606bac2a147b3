import { test } from 'node:test';
import { F } from '../../src/tensor/index.js';
import { gradcheck } from './gradcheck.js';
import { softmaxRow } from './reference.js';

function reduceRef(x: Float64Array, shape: number[], axis: number, f: 'sum' | 'mean' | 'max'): Float64Array {
  let outer = 1, inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  const n = shape[axis];
  const y = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) {
    let acc = f === 'max' ? -Infinity : 0;
    for (let j = 0; j < n; j++) {
      const v = x[(o * n + j) * inner + i];
      acc = f === 'max' ? Math.max(acc, v) : acc + v;
    }
    y[o * inner + i] = f === 'mean' ? acc / n : acc;
  }
  return y;
}

const shape = [3, 7, 33];
for (const f of ['sum', 'mean', 'max'] as const) {
  for (const axis of [0, 1, 2]) {
    test(`${f} over axis ${axis} of [${shape}]`, () => {
      gradcheck({ name: f, shapes: [shape], run: ([x]) => F[f](x, axis), ref: ([x]) => reduceRef(x, shape, axis, f) });
    });
  }
  test(`${f} over all elements, keepdim`, () => {
    gradcheck({ name: f, shapes: [[7, 33]], run: ([x]) => F[f](x, undefined, true), ref: ([x]) => reduceRef(x, [x.length], 0, f) });
  });
}

for (const n of [1, 7, 33, 257]) {
  test(`softmax and logSoftmax over rows of ${n}`, () => {
    const ref = (x: Float64Array, log: boolean) => {
      const y = new Float64Array(x.length);
      for (let r = 0; r < x.length / n; r++) {
        const p = softmaxRow(x, r * n, n);
        for (let j = 0; j < n; j++) y[r * n + j] = log ? Math.log(p[j]) : p[j];
      }
      return y;
    };
    gradcheck({ name: 'softmax', shapes: [[3, n]], run: ([x]) => F.softmax(x), ref: ([x]) => ref(x, false) });
    gradcheck({ name: 'logSoftmax', shapes: [[3, n]], run: ([x]) => F.logSoftmax(x), ref: ([x]) => ref(x, true) });
  });
}

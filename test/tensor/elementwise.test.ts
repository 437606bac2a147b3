import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, tensor } from '../../src/tensor/index.js';
import { gradcheck } from './gradcheck.js';
import { broadcastRef } from './reference.js';

const binaries = {
  add: [F.add, (a: number, b: number) => a + b],
  sub: [F.sub, (a: number, b: number) => a - b],
  mul: [F.mul, (a: number, b: number) => a * b],
  div: [F.div, (a: number, b: number) => a / b],
  maximum: [F.maximum, (a: number, b: number) => Math.max(a, b)],
  minimum: [F.minimum, (a: number, b: number) => Math.min(a, b)],
} as const;

const pairs: [number[], number[]][] = [[[7, 33], [7, 33]], [[4, 1, 5], [3, 1]], [[257], [1]], [[2, 3, 7], [7]], [[1], [2, 7]]];

for (const [name, [op, f]] of Object.entries(binaries)) {
  for (const [as, bs] of pairs) {
    test(`${name} [${as}] with [${bs}] (broadcast): forward and gradients`, () => {
      gradcheck({
        name,
        shapes: [as, bs],
        run: ([a, b]) => op(a, b),
        ref: ([a, b]) => broadcastRef(a, as, b, bs, f),
        // Keep divisors away from zero.
        init: name === 'div' ? (i, a, rng) => rng.fillUniform(a, i === 1 ? 0.5 : -2, 2) : undefined,
      });
    });
  }
}

const unaries: Record<string, [(x: ReturnType<typeof tensor>) => ReturnType<typeof tensor>, (x: number) => number, number?]> = {
  exp: [F.exp, Math.exp],
  log: [F.log, Math.log, 0.2],
  sqrt: [F.sqrt, Math.sqrt, 0.2],
  tanh: [F.tanh, Math.tanh],
  sigmoid: [F.sigmoid, (x) => 1 / (1 + Math.exp(-x))],
  logSigmoid: [F.logSigmoid, (x) => -Math.log1p(Math.exp(-x))],
  silu: [F.silu, (x) => x / (1 + Math.exp(-x))],
  neg: [F.neg, (x) => -x],
  square: [F.square, (x) => x * x],
  rsqrt: [F.rsqrt, (x) => 1 / Math.sqrt(x), 0.2],
  gelu: [F.gelu, (x) => 0.5 * x * (1 + Math.tanh(0.7978845608 * (x + 0.044715 * x ** 3)))],
  relu: [F.relu, (x) => Math.max(0, x)],
  abs: [F.abs, Math.abs],
};

for (const [name, [op, f, lo]] of Object.entries(unaries)) {
  test(`${name}: forward and gradient on [7, 33]`, () => {
    gradcheck({
      name,
      shapes: [[7, 33]],
      run: ([x]) => op(x),
      ref: ([x]) => x.map(f),
      init: lo !== undefined ? (_, a, rng) => rng.fillUniform(a, lo, 3) : undefined,
    });
  });
}

test('logSigmoid is finite for large negative inputs', () => {
  const y = F.logSigmoid(tensor([-100, 100, 0]));
  assert.ok(Math.abs(y.data[0] + 100) < 1e-4);
  assert.ok(Math.abs(y.data[1]) < 1e-6);
  assert.ok(Math.abs(y.data[2] - Math.log(0.5)) < 1e-6);
});

test('scale and addScalar', () => {
  gradcheck({ name: 'affine', shapes: [[33]], run: ([x]) => F.addScalar(F.scale(x, -2.5), 3), ref: ([x]) => x.map((v) => -2.5 * v + 3) });
});

test('clamp passes gradient only inside the range', () => {
  gradcheck({ name: 'clamp', shapes: [[257]], run: ([x]) => F.clamp(x, -0.5, 0.7), ref: ([x]) => x.map((v) => Math.min(0.7, Math.max(-0.5, v))) });
});

test('maskedFill replaces masked elements and blocks their gradient', () => {
  const mask = new Uint8Array(33).map((_, i) => (i % 3 === 0 ? 1 : 0));
  gradcheck({ name: 'maskedFill', shapes: [[33]], run: ([x]) => F.maskedFill(x, mask, -1e4), ref: ([x]) => x.map((v, i) => (mask[i] ? -1e4 : v)) });
});

test('broadcast errors name both shapes', () => {
  assert.throws(() => F.add(tensor([1, 2, 3]), tensor([1, 2])), /\[3\] and \[2\]/);
});

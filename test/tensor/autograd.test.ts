import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, Tensor, backward, noGrad, parameter, tensor, tidy, poolStats } from '../../src/tensor/index.js';

test('gradients accumulate across backward calls until zeroGrad', () => {
  const w = parameter([3], (d) => d.set([1, 2, 3]));
  const x = tensor([4, 5, 6]);
  for (let i = 0; i < 2; i++) backward(F.sum(F.mul(w, x)));
  assert.deepEqual(Array.from(w.grad!.data), [8, 10, 12]);
  w.zeroGrad();
  backward(F.sum(F.mul(w, x)));
  assert.deepEqual(Array.from(w.grad!.data), [4, 5, 6]);
});

test('a tensor used twice gets both contributions (mul(x, x), shared subexpressions)', () => {
  const x = parameter([2], (d) => d.set([3, -2]));
  const y = F.mul(x, x);
  backward(F.sum(F.add(y, y)));
  assert.deepEqual(Array.from(x.grad!.data), [12, -8]);
});

test('noGrad records no graph and detach cuts it', () => {
  const w = parameter([2], (d) => d.set([1, 1]));
  const y = noGrad(() => F.mul(w, w));
  assert.equal(y.requiresGrad, false);
  assert.equal(y.node, null);
  const d = F.mul(w, w).detach();
  assert.equal(d.requiresGrad, false);
  assert.throws(() => backward(F.sum(d)), /does not require grad/);
});

test('backward needs a scalar unless given a gradient', () => {
  const w = parameter([2]);
  assert.throws(() => backward(F.mul(w, w)), /scalar/);
});

test('tidy returns step buffers to the pool and keeps the result', () => {
  const w = parameter([64, 64], (d) => d.fill(0.01));
  const x = tensor(new Float32Array(8 * 64).fill(1), [8, 64]);
  const run = () => tidy(() => {
    const loss = F.mean(F.square(F.matmul(x, w)));
    backward(loss);
    return loss.item();
  });
  run();
  const after1 = poolStats().pooledBytes;
  for (let i = 0; i < 20; i++) run();
  assert.equal(poolStats().pooledBytes, after1, 'the pool neither grows nor shrinks once warm');
  const kept = tidy(() => F.add(x, x));
  assert.equal(kept.released, false);
  let inner: Tensor | null = null;
  tidy(() => { inner = F.add(x, x); return 0; });
  assert.throws(() => inner!.item(), /released/);
});

test('a deep graph (5000 chained ops) backpropagates without stack overflow', () => {
  const w = parameter([1], (d) => d.set([1]));
  let y: Tensor = w;
  for (let i = 0; i < 5000; i++) y = F.scale(y, 1.0001);
  backward(F.sum(y));
  assert.ok(Math.abs(w.grad!.data[0] - Math.pow(1.0001, 5000)) < 1e-2);
});

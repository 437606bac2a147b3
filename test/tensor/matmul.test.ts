import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F } from '../../src/tensor/index.js';
import { gradcheck } from './gradcheck.js';
import { matmulRef } from './reference.js';

const shapes: [number, number, number][] = [[1, 1, 1], [7, 33, 1], [1, 257, 7], [33, 7, 257], [64, 65, 31]];

for (const [M, N, K] of shapes) {
  for (const tA of [false, true]) for (const tB of [false, true]) {
    test(`matmul ${M}x${N}x${K} transA=${tA} transB=${tB}: forward and gradients`, () => {
      gradcheck({
        name: 'matmul',
        shapes: [tA ? [K, M] : [M, K], tB ? [N, K] : [K, N]],
        run: ([a, b]) => F.matmul(a, b, { transA: tA, transB: tB }),
        ref: ([a, b]) => matmulRef(a, b, 1, M, N, K, tA, tB, false),
        probes: 12,
      });
    });
  }
}

for (const tA of [false, true]) for (const tB of [false, true]) {
  test(`batched matmul (3 batches, 7x5x9) transA=${tA} transB=${tB}`, () => {
    const [B, M, N, K] = [3, 7, 5, 9];
    gradcheck({
      name: 'bmm',
      shapes: [[B, ...(tA ? [K, M] : [M, K])], [B, ...(tB ? [N, K] : [K, N])]],
      run: ([a, b]) => F.matmul(a, b, { transA: tA, transB: tB }),
      ref: ([a, b]) => matmulRef(a, b, B, M, N, K, tA, tB, false),
    });
  });
  test(`matmul with a matrix shared by 2x3 batches transA=${tA} transB=${tB}`, () => {
    const [M, N, K] = [5, 6, 7];
    gradcheck({
      name: 'bmm-shared',
      shapes: [[2, 3, ...(tA ? [K, M] : [M, K])], tB ? [N, K] : [K, N]],
      run: ([a, b]) => F.matmul(a, b, { transA: tA, transB: tB }),
      ref: ([a, b]) => matmulRef(a, b, 6, M, N, K, tA, tB, true),
    });
  });
}

test('linear (x W^T + b) over a [2, 3, 33] input', () => {
  gradcheck({
    name: 'linear',
    shapes: [[2, 3, 33], [7, 33], [7]],
    run: ([x, w, b]) => F.linear(x, w, b),
    ref: ([x, w, b]) => {
      const y = matmulRef(x, w, 1, 6, 7, 33, false, true, false);
      for (let i = 0; i < y.length; i++) y[i] += b[i % 7];
      return y;
    },
  });
});

test('bf16 linear matches fp32 linear within bf16 rounding, forward and gradients', async () => {
  const { Rng, Tensor, backward } = await import('../../src/tensor/index.js');
  const rng = new Rng(2);
  const mk = (s: number[]) => { const t = new Tensor(s, undefined, { requiresGrad: true, untracked: true }); rng.fillNormal(t.data); return t; };
  const x = mk([3, 33, 64]), w = mk([40, 64]);
  const g = new Float32Array(3 * 33 * 40).map(() => rng.normal());
  const ref = F.linear(x, w);
  backward(ref, g);
  const [gx, gw] = [x.grad!.data.slice(), w.grad!.data.slice()];
  x.grad = null; w.grad = null;
  const y = F.linearBf16(x, w);
  backward(y, g);
  // bf16 keeps 8 significant bits: each product errs by ~2^-8 relative; sums of 64 terms stay within ~3% of the RMS.
  const close = (a: Float32Array, b: Float32Array, what: string) => {
    let rms = 0, err = 0;
    for (let i = 0; i < a.length; i++) { rms += b[i] * b[i]; err = Math.max(err, Math.abs(a[i] - b[i])); }
    rms = Math.sqrt(rms / a.length);
    assert.ok(err < 0.03 * rms, `${what}: max error ${err} vs RMS ${rms}`);
  };
  close(y.data, ref.data, 'forward');
  close(x.grad!.data, gx, 'dX');
  close(w.grad!.data, gw, 'dW');
});

test('bf16 linear without autograd packs the weight once, reuses it until it changes, and can drop it', async () => {
  const { Rng, Tensor, noGrad } = await import('../../src/tensor/index.js');
  const rng = new Rng(3);
  const x = new Tensor([5, 64]); rng.fillNormal(x.data);
  const w = new Tensor([48, 64], undefined, { requiresGrad: true, untracked: true }); rng.fillNormal(w.data);
  const grad = F.linearBf16(x, w).data.slice(); // autograd path: per-call bf16 copy, nothing packed
  assert.equal(F.hasPackedWeight(w), false);
  const y1 = noGrad(() => F.linearBf16(x, w)).data.slice();
  assert.equal(F.hasPackedWeight(w), true);
  // Both paths round W and x to bf16; only the order of the fp32 sums differs.
  for (let i = 0; i < y1.length; i++) assert.ok(Math.abs(y1[i] - grad[i]) <= 1e-5 * (1 + Math.abs(grad[i])), `element ${i}`);
  w.data[0] += 1; w.version++;
  const y2 = noGrad(() => F.linearBf16(x, w)).data;
  assert.notDeepEqual(y2.slice(0, 48), y1.slice(0, 48)); // re-packed after the change
  F.dropPackedWeights([w]);
  assert.equal(F.hasPackedWeight(w), false);
  assert.deepEqual(noGrad(() => F.linearBf16(x, w)).data, y2);
});

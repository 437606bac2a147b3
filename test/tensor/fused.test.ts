import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, Rng, Tensor, tensor } from '../../src/tensor/index.js';
import { gradcheck, randInts } from './gradcheck.js';
import { rmsnormRef, ropeRef, softmaxRow } from './reference.js';

function xentRef(x: Float64Array, t: Int32Array, V: number, w: Float32Array | undefined, ignore: number, reduction: string): Float64Array {
  const rows = t.length;
  const per = new Float64Array(rows);
  let tot = 0, den = 0;
  for (let r = 0; r < rows; r++) {
    if (t[r] === ignore) continue;
    const p = softmaxRow(x, r * V, V);
    const wr = w ? w[r] : 1;
    per[r] = -Math.log(p[t[r]]) * (reduction === 'none' ? wr : 1);
    tot += wr * per[r];
    den += wr;
  }
  if (reduction === 'none') return per;
  return Float64Array.of(reduction === 'mean' ? tot / den : tot);
}

for (const V of [1, 7, 257]) {
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    test(`crossEntropy vocab ${V}, reduction ${reduction}, ignore index and weights`, () => {
      const rng = new Rng(3);
      const rows = 9;
      const t = randInts(rows, V, rng);
      t[2] = -100;
      t[5] = -100;
      const w = new Float32Array(rows).map(() => 0.5 + rng.next());
      gradcheck({
        name: 'crossEntropy',
        shapes: [[3, 3, V]],
        run: ([x]) => F.crossEntropy(x, t, { weights: w, reduction }),
        ref: ([x]) => xentRef(x, t, V, w, -100, reduction),
      });
    });
  }
}

test('crossEntropy rejects out-of-range targets', () => {
  assert.throws(() => F.crossEntropy(tensor([1, 2, 3], [1, 3]), Int32Array.of(3)), /out of range/);
});

for (const D of [1, 7, 64, 257]) {
  test(`rmsnorm dim ${D}`, () => {
    gradcheck({
      name: 'rmsnorm',
      shapes: [[5, D], [D]],
      run: ([x, w]) => F.rmsnorm(x, w, 1e-5),
      ref: ([x, w]) => rmsnormRef(x, w, 5, D, 1e-5),
    });
  });
}

for (const [T, H, D] of [[1, 1, 2], [7, 3, 8], [33, 2, 64]]) {
  test(`rope T=${T} H=${H} D=${D} with offset and position scale`, () => {
    const pos = Int32Array.from({ length: 2 * T }, (_, i) => (i % T) + 5);
    gradcheck({
      name: 'rope',
      shapes: [[2, T, H, D]],
      run: ([x]) => F.rope(x, { base: 500, offset: 5, positionScale: 0.25 }),
      ref: ([x]) => ropeRef(x, pos, 2 * T, H, D, 500, 0.25),
    });
  });
}

test('rope with explicit inverse frequencies and a cos/sin factor (RoPE scaling), forward and backward', () => {
  const [T, H, D] = [9, 2, 16];
  const pos = Int32Array.from({ length: 2 * T }, (_, i) => (i % T) * 3);
  const inv = Float64Array.from({ length: D / 2 }, (_, i) => 0.7 ** i / (1 + i));
  gradcheck({
    name: 'rope-freq',
    shapes: [[2, T, H, D]],
    run: ([x]) => F.rope(x, { positions: pos, positionScale: 0.5, invFreq: inv, factor: 1.3 }),
    ref: ([x]) => ropeRef(x, pos, 2 * T, H, D, 10000, 0.5, inv, 1.3),
  });
  assert.throws(() => F.rope(new Tensor([1, 1, 1, D]), { invFreq: new Float64Array(3) }), /3 inverse frequencies/);
});

test('embedding gathers rows and scatter-adds repeated ids', () => {
  const ids = Int32Array.of(3, 0, 3, 6, 3, 1, 0);
  gradcheck({
    name: 'embedding',
    shapes: [[7, 33]],
    run: ([w]) => F.embedding(w, ids),
    ref: ([w]) => {
      const y = new Float64Array(ids.length * 33);
      ids.forEach((id, i) => { for (let j = 0; j < 33; j++) y[i * 33 + j] = w[id * 33 + j]; });
      return y;
    },
    probes: 60,
  });
  assert.throws(() => F.embedding(tensor(new Float32Array(6), [3, 2]), Int32Array.of(3)), /out of range/);
});

test('gather along the last axis picks token log-probabilities', () => {
  const rng = new Rng(5);
  const idx = randInts(4 * 2, 7, rng);
  gradcheck({
    name: 'gather',
    shapes: [[4, 7]],
    run: ([x]) => F.gather(x, 1, idx, [4, 2]),
    ref: ([x]) => Float64Array.from(idx, (k, p) => x[Math.floor(p / 2) * 7 + k]),
  });
});

test('gather along a middle axis', () => {
  const rng = new Rng(6);
  const idx = randInts(2 * 3 * 5, 4, rng);
  gradcheck({
    name: 'gather-mid',
    shapes: [[2, 4, 5]],
    run: ([x]) => F.gather(x, 1, idx, [2, 3, 5]),
    ref: ([x]) => Float64Array.from(idx, (k, p) => {
      const o = Math.floor(p / 15), i = p % 5;
      return x[(o * 4 + k) * 5 + i];
    }),
  });
});

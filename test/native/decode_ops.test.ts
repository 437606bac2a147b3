// The serving step's fused inference kernels against plain float64 code, on every ISA level and
// awkward sizes (vector bodies plus scalar tails).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../../src/native/index.js';

type Ops = {
  swiglu(g: Float32Array, u: Float32Array, out: Float32Array): void;
  addRmsnorm(x: Float32Array, y: Float32Array, w: Float32Array, out: Float32Array, rows: number, dim: number, eps: number, alpha?: number): void;
};
const ops = native as unknown as Ops;
const top = native.isaName().startsWith('avx512') ? 2 : native.isaName() === 'avx2' ? 1 : 0;

function rand(n: number, seed: number, scale = 4): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = (s / 2 ** 32 - 0.5) * scale; }
  return a;
}
function eachIsa(fn: (label: string) => void): void {
  try {
    for (let isa = top; isa >= 0; isa--) { native.setIsa(isa); fn(native.isaName()); }
  } finally {
    native.setIsa(top);
  }
}

test('swiglu = silu(gate) * up', () => eachIsa((isa) => {
  for (const n of [1, 7, 33, 257, 70000]) {
    const g = rand(n, n), u = rand(n, n + 1), out = new Float32Array(n);
    ops.swiglu(g, u, out);
    for (let i = 0; i < n; i++) {
      const want = (g[i] / (1 + Math.exp(-g[i]))) * u[i];
      assert.ok(Math.abs(out[i] - want) <= 1e-6 * (1 + Math.abs(want)), `${isa} n=${n} i=${i}: ${out[i]} vs ${want}`);
    }
  }
  assert.throws(() => ops.swiglu(new Float32Array(3), new Float32Array(4), new Float32Array(4)), /same length/);
}));

test('addRmsnorm: x += alpha * y in place, out = rmsnorm(x) * w', () => eachIsa((isa) => {
  for (const [rows, D, alpha] of [[1, 1, 1], [3, 7, 1], [5, 64, 0.22], [2, 257, 1], [40, 512, 3]]) {
    const x = rand(rows * D, D), y = rand(rows * D, D + 1), w = rand(D, D + 2), out = new Float32Array(rows * D);
    const x0 = x.slice();
    if (alpha === 1) ops.addRmsnorm(x, y, w, out, rows, D, 1e-5);
    else ops.addRmsnorm(x, y, w, out, rows, D, 1e-5, alpha);
    for (let r = 0; r < rows; r++) {
      let ss = 0;
      for (let j = 0; j < D; j++) ss += (x0[r * D + j] + alpha * y[r * D + j]) ** 2;
      const rs = 1 / Math.sqrt(ss / D + 1e-5);
      for (let j = 0; j < D; j++) {
        const s = x0[r * D + j] + alpha * y[r * D + j];
        assert.ok(Math.abs(x[r * D + j] - s) <= 1e-6 * (1 + Math.abs(s)), `${isa} residual`);
        const want = s * rs * w[j];
        assert.ok(Math.abs(out[r * D + j] - want) <= 1e-5 * (1 + Math.abs(want)), `${isa} [${rows},${D}] (${r},${j}): ${out[r * D + j]} vs ${want}`);
      }
    }
  }
}));

test('rowStats: first index of the maximum and log-sum-exp per row', () => eachIsa((isa) => {
  for (const [rows, n] of [[1, 1], [2, 5], [3, 33], [4, 8192]]) {
    const z = rand(rows * n, n, 20);
    if (n > 3) { z[1] = 50; z[n - 2] = 50; } // a tie in row 0: the first index wins
    const best = new Int32Array(rows), lse = new Float32Array(rows);
    native.rowStats(z, rows, n, best, lse);
    for (let r = 0; r < rows; r++) {
      let b = 0, m = -Infinity;
      for (let j = 0; j < n; j++) if (z[r * n + j] > m) { m = z[r * n + j]; b = j; }
      let s = 0;
      for (let j = 0; j < n; j++) s += Math.exp(z[r * n + j] - m);
      assert.equal(best[r], b, `${isa} [${rows},${n}] row ${r}`);
      assert.ok(Math.abs(lse[r] - (m + Math.log(s))) <= 1e-5 * (1 + Math.abs(m)), `${isa} lse ${lse[r]} vs ${m + Math.log(s)}`);
    }
  }
  assert.throws(() => native.rowStats(new Float32Array(4), 2, 4, new Int32Array(2), new Float32Array(2)), /buffer sizes/);
}));

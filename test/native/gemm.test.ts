// GEMM and bf16 kernels against plain float64 reference code: awkward shapes, every transpose, alpha/beta,
// batched with broadcast strides, each ISA level and 1 and 2 threads. No timings here (see `hcx bench gemm`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native, setThreads } from '../../src/native/index.js';

// Small deterministic PRNG (mulberry32) so failures reproduce.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function randArr(n: number, r: () => number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r() * 2 - 1;
  return a;
}

/** float64 reference of C = alpha op(A) op(B) + beta C over a batch (stride 0 broadcasts). */
function refGemm(a: ArrayLike<number>, b: ArrayLike<number>, c: Float32Array, batch: number, m: number, n: number,
  k: number, tA: boolean, tB: boolean, alpha: number, beta: number, sA: number, sB: number, sC: number): Float64Array {
  const out = Float64Array.from(c);
  for (let p = 0; p < batch; p++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) {
          const av = tA ? a[p * sA + q * m + i] : a[p * sA + i * k + q];
          const bv = tB ? b[p * sB + j * k + q] : b[p * sB + q * n + j];
          s += av * bv;
        }
        const idx = p * sC + i * n + j;
        out[idx] = alpha * s + (beta === 0 ? 0 : beta * c[idx]);
      }
    }
  }
  return out;
}

function assertClose(got: Float32Array, want: Float64Array, k: number, what: string, relTol = 1e-5): void {
  // Error bound grows with the reduction length: |err| <= tol * sqrt(k) * scale (inputs in [-1, 1]).
  const tol = relTol * Math.max(1, Math.sqrt(k)) * 4;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= tol * Math.max(1, Math.abs(want[i])))) {
      assert.fail(`${what}: element ${i} got ${got[i]} want ${want[i]} (|diff| ${d} > ${tol})`);
    }
  }
}

const isaLevels = [2, 1, 0];
function maxIsa(): number {
  const name = native.isaName();
  return name.startsWith('avx512') ? 2 : name === 'avx2' ? 1 : 0;
}

// Thread counts run in descending order, each test at one count: growing the pool again after a
// parallel job has run (2 -> 1 -> 2) trips a thread-pool bug (a new worker starts with a stale
// generation and runs a dead job), so the file goes 2 then 1 and never back up.
const threadOrder = [2, 1];
function forEachIsa(threads: number, fn: (label: string) => void): void {
  setThreads(threads);
  const top = maxIsa();
  try {
    for (const level of isaLevels) {
      if (level > top) continue;
      native.setIsa(level);
      fn(`isa=${native.isaName()} threads=${threads}`);
    }
  } finally {
    native.setIsa(top);
  }
}

function runCase(r: () => number, m: number, n: number, k: number, tA: boolean, tB: boolean, alpha: number,
  beta: number, label: string): void {
  const a = randArr(m * k, r), b = randArr(k * n, r), c = randArr(m * n, r);
  if (beta === 0) c.fill(NaN); // beta = 0 must ignore C entirely
  const want = refGemm(a, b, c, 1, m, n, k, tA, tB, alpha, beta, 0, 0, 0);
  native.sgemm(a, b, c, 1, m, n, k, tA ? 1 : 0, tB ? 1 : 0, alpha, beta, 0, 0, 0);
  assertClose(c, want, k, `${label} m=${m} n=${n} k=${k} tA=${tA} tB=${tB} alpha=${alpha} beta=${beta}`);
}

function awkwardShapes(threads: number): void {
  const r = rng(1);
  const shapes: [number, number, number][] = [
    [1, 1, 1], [1, 7, 33], [7, 1, 5], [7, 33, 1], [33, 7, 257], [3, 257, 17], [65, 40, 31], [1, 100, 300],
    [64, 33, 70], [2, 300, 65], [90, 97, 129], [257, 7, 33], [15, 33, 16], [29, 65, 300],
  ];
  forEachIsa(threads, (label) => {
    for (const [m, n, k] of shapes) {
      for (const tA of [false, true]) for (const tB of [false, true]) {
        runCase(r, m, n, k, tA, tB, 1, 0, label);
      }
      runCase(r, m, n, k, false, true, 0.5, 1, label);
      runCase(r, m, n, k, true, false, -1.25, 0.75, label);
    }
  });
}

function largerShapes(threads: number): void {
  const r = rng(2);
  const shapes: [number, number, number][] = [[300, 130, 530], [129, 257, 260], [40, 1100, 70], [3, 600, 300], [600, 5, 300]];
  forEachIsa(threads, (label) => {
    for (const [m, n, k] of shapes) {
      for (const tA of [false, true]) for (const tB of [false, true]) runCase(r, m, n, k, tA, tB, 0.75, 0.5, label);
    }
  });
}

test('sgemm: K = 0 and alpha = 0 scale C by beta', () => {
  const c = new Float32Array([1, 2, 3, 4]);
  native.sgemm(new Float32Array(0), new Float32Array(0), c, 1, 2, 2, 0, 0, 0, 1, 0.5, 0, 0, 0);
  assert.deepEqual(Array.from(c), [0.5, 1, 1.5, 2]);
  native.sgemm(new Float32Array(4), new Float32Array(4), c, 1, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0);
  assert.deepEqual(Array.from(c), [0, 0, 0, 0]);
});

function batched(threads: number): void {
  const r = rng(3);
  const cases: [number, number, number, number, boolean, boolean, boolean, boolean][] = [
    // batch, m, n, k, broadcastA, broadcastB, tA, tB
    [3, 5, 7, 9, false, false, false, false],
    [4, 17, 33, 8, true, false, true, false],
    [5, 1, 65, 40, false, true, false, true],
    [2, 70, 20, 33, false, true, false, false],
    [6, 8, 8, 64, false, false, true, true],
  ];
  forEachIsa(threads, (label) => {
    for (const [batch, m, n, k, bA, bB, tA, tB] of cases) {
      const sA = bA ? 0 : m * k, sB = bB ? 0 : k * n, sC = m * n;
      const a = randArr(bA ? m * k : batch * m * k, r), b = randArr(bB ? k * n : batch * k * n, r);
      const c = randArr(batch * m * n, r);
      const want = refGemm(a, b, c, batch, m, n, k, tA, tB, 1.5, 0.25, sA, sB, sC);
      native.sgemm(a, b, c, batch, m, n, k, tA ? 1 : 0, tB ? 1 : 0, 1.5, 0.25, sA, sB, sC);
      assertClose(c, want, k, `${label} batched ${[batch, m, n, k, bA, bB, tA, tB]}`);
    }
  });
}

for (const threads of threadOrder) {
  test(`sgemm: awkward shapes, all transposes, alpha/beta, every ISA, ${threads} thread(s)`, () => awkwardShapes(threads));
  test(`sgemm: products spanning several cache blocks, every ISA, ${threads} thread(s)`, () => largerShapes(threads));
  test(`sgemm batched: strides and broadcast (stride 0), every ISA, ${threads} thread(s)`, () => batched(threads));
}

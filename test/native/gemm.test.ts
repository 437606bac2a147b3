// GEMM and bf16 kernels against plain float64 reference code: awkward shapes, every transpose, alpha/beta,
// batched with broadcast strides, each ISA level and 1 and 2 threads. No timings here (see `hcx bench gemm`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native, setThreads, numThreads } from '../../src/native/index.js';

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

// Thread counts run in descending order, each test at one count, so the pool is resized once
// (growing it again after jobs had run used to crash; fixed in threadpool.cc, 21c1ef2).
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
  const shapes: [number, number, number][] = [[300, 130, 530], [129, 257, 260], [40, 1100, 70], [3, 600, 300], [600, 5, 300], [45, 40, 1100]];
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

// ---------------------------------------------------------------------------------------------
// bf16

/** Reference float -> bf16 bits: round to nearest even; NaN stays NaN (quiet bit set). */
function refBf16(f: number): number {
  const u = new Uint32Array(new Float32Array([f]).buffer)[0];
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}
function bitsToF32(u: number): number { return new Float32Array(new Uint32Array([u >>> 0]).buffer)[0]; }
function bf16Value(h: number): number { return bitsToF32(h << 16); }
const hasBf16Api = typeof (native as Record<string, unknown>).gemmBf16 === 'function';
type Bf16Api = {
  f32ToBf16(src: Float32Array, dst: Uint16Array): void;
  bf16ToF32(src: Uint16Array, dst: Float32Array): void;
  gemmBf16(a: Float32Array | Uint16Array, w: Uint16Array, c: Float32Array, batch: number, m: number, n: number, k: number,
    transA: number, transW: number, alpha: number, beta: number, strideA: number, strideW: number, strideC: number): void;
  setBf16Dot(enabled: number): void;
};
const bn = native as unknown as Bf16Api;

test('f32ToBf16: round to nearest even, ties, overflow, NaN and infinities', { skip: !hasBf16Api }, () => {
  const cases: [number, number][] = [
    [0x3f800000, 0x3f80], [0x3f808000, 0x3f80], [0x3f818000, 0x3f82], [0x3f808001, 0x3f81], [0x3f807fff, 0x3f80],
    [0xbf808000, 0xbf80], [0xbf818000, 0xbf82], [0x7f7fffff, 0x7f80], [0x7f800000, 0x7f80], [0xff800000, 0xff80],
    [0x7fc00000, 0x7fc0], [0x7f800001, 0x7fc0], [0xff800001, 0xffc0], [0x7fa00000, 0x7fe0], [0x80000000, 0x8000],
    [0x00000001, 0x0000], [0x00008000, 0x0000], [0x00018000, 0x0002], [0x00000000, 0x0000], [0x7f7f7fff, 0x7f7f],
  ];
  for (const level of [2, 0]) {
    native.setIsa(level);
    // 37 elements: exercises the vector body and the masked tail
    const src = new Float32Array(37), dst = new Uint16Array(37);
    for (let i = 0; i < 37; i++) src[i] = bitsToF32(cases[i % cases.length][0]);
    bn.f32ToBf16(src, dst);
    for (let i = 0; i < 37; i++) {
      const [bits, want] = cases[i % cases.length];
      assert.equal(dst[i], want, `isa ${native.isaName()}: 0x${bits.toString(16)} -> 0x${dst[i].toString(16)}, want 0x${want.toString(16)}`);
    }
    const r = rng(7);
    const big = new Float32Array(1000), out = new Uint16Array(1000);
    const u = new Uint32Array(big.buffer);
    for (let i = 0; i < u.length; i++) u[i] = Math.floor(r() * 4294967296);
    bn.f32ToBf16(big, out);
    for (let i = 0; i < big.length; i++) assert.equal(out[i], refBf16(big[i]), `random bits 0x${u[i].toString(16)}`);
  }
  native.setIsa(maxIsa());
});

test('bf16ToF32 is exact and round-trips every bf16 value', { skip: !hasBf16Api }, () => {
  const all = new Uint16Array(65536);
  for (let i = 0; i < 65536; i++) all[i] = i;
  const f = new Float32Array(65536), back = new Uint16Array(65536);
  bn.bf16ToF32(all, f);
  bn.f32ToBf16(f, back);
  const fb = new Uint32Array(f.buffer);
  for (let i = 0; i < 65536; i++) {
    assert.equal(fb[i], (i << 16) >>> 0);
    const isNaN = (i & 0x7fff) > 0x7f80;
    assert.equal(back[i], isNaN ? i | 0x40 : i, `0x${i.toString(16)}`);
  }
});

function toBf16(a: Float32Array): Uint16Array {
  const out = new Uint16Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = refBf16(a[i]);
  return out;
}

interface Bf16Case { m: number; n: number; k: number; tA: boolean; tW: boolean; alpha: number; beta: number; aBf16: boolean }

/** Runs gemmBf16 and checks it against float64 on the bf16-rounded inputs; returns C for bitwise comparisons. */
function runBf16(r: () => number, cs: Bf16Case, label: string): { c: Float32Array; a: Float32Array; w: Float32Array; c0: Float32Array } {
  const { m, n, k, tA, tW, alpha, beta, aBf16 } = cs;
  const a = randArr(m * k, r), w = randArr(k * n, r), c0 = randArr(m * n, r);
  const aR = Float32Array.from(a, (v) => bf16Value(refBf16(v)));
  const wBits = toBf16(w), wR = Float32Array.from(wBits, (h) => bf16Value(h));
  const c = Float32Array.from(c0);
  if (beta === 0) c.fill(NaN);
  bn.gemmBf16(aBf16 ? toBf16(a) : a, wBits, c, 1, m, n, k, tA ? 1 : 0, tW ? 1 : 0, alpha, beta, 0, 0, 0);
  const want = refGemm(aR, wR, c0, 1, m, n, k, tA, tW, alpha, beta, 0, 0, 0);
  assertClose(c, want, k, `${label} gemmBf16 ${JSON.stringify(cs)}`);
  return { c, a, w, c0 };
}

const bf16Cases: Bf16Case[] = [];
{
  const shapes: [number, number, number][] = [
    [1, 1, 1], [1, 33, 2], [1, 300, 65], [2, 130, 31], [3, 7, 64], [7, 33, 33], [40, 20, 100], [41, 65, 3],
    [70, 33, 401], [45, 20, 1100], [29, 100, 257], [1, 257, 800], [90, 70, 50],
  ];
  let i = 0;
  for (const [m, n, k] of shapes) {
    for (const tW of [true, false]) {
      bf16Cases.push({ m, n, k, tA: i % 3 === 1, tW, alpha: i % 2 ? 1 : 0.5, beta: i % 4 === 0 ? 0 : 0.75, aBf16: i % 5 === 2 });
      i++;
    }
  }
}

for (const threads of [2, 1]) {
  test(`gemmBf16: vs float64 on bf16-rounded inputs, identical bits on every path, ${threads} thread(s)`, { skip: !hasBf16Api }, () => {
    setThreads(threads);
    const top = maxIsa();
    try {
      for (const cs of bf16Cases) {
        // Same inputs on each path: re-seed per case.
        const seed = cs.m * 1000003 + cs.n * 1009 + cs.k;
        const results: [string, Float32Array][] = [];
        const paths: [string, number, number][] = [['avx512+vdpbf16ps', 2, 1], ['avx512 emulated', 2, 0], ['avx2', 1, 1], ['portable', 0, 1]];
        for (const [name, level, dot] of paths) {
          if (level > top) continue;
          native.setIsa(level);
          bn.setBf16Dot(dot);
          results.push([name, runBf16(rng(seed), cs, `${name} threads=${threads}`).c]);
        }
        const [n0, first] = results[0];
        for (const [name, c] of results.slice(1)) {
          const x = new Uint32Array(first.buffer), y = new Uint32Array(c.buffer);
          for (let i = 0; i < x.length; i++) {
            if (x[i] !== y[i]) assert.fail(`${JSON.stringify(cs)}: ${name} differs from ${n0} at ${i}: ${c[i]} vs ${first[i]}`);
          }
        }
      }
    } finally {
      native.setIsa(top);
      bn.setBf16Dot(1);
    }
  });
}

test('gemmBf16 vs fp32 sgemm: within the bf16 rounding bound', { skip: !hasBf16Api }, () => {
  // Stated tolerance: |C_bf16 - C_fp32| <= 2^-7 * sum_k |a_k w_k| + 1e-5 (each operand rounded by at most 2^-9 relative).
  const r = rng(11);
  for (const [m, n, k, tW] of [[1, 256, 512, true], [8, 100, 300, false], [100, 64, 512, true], [64, 96, 130, false]] as [number, number, number, boolean][]) {
    const a = randArr(m * k, r), w = randArr(k * n, r);
    const cb = new Float32Array(m * n), cf = new Float32Array(m * n);
    bn.gemmBf16(a, toBf16(w), cb, 1, m, n, k, 0, tW ? 1 : 0, 1, 0, 0, 0, 0);
    native.sgemm(a, w, cf, 1, m, n, k, 0, tW ? 1 : 0, 1, 0, 0, 0, 0);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) s += Math.abs(a[i * k + q] * (tW ? w[j * k + q] : w[q * n + j]));
        const d = Math.abs(cb[i * n + j] - cf[i * n + j]);
        assert.ok(d <= s / 128 + 1e-5, `m=${m} n=${n} k=${k} (${i},${j}): |diff| ${d} > ${s / 128}`);
      }
    }
  }
});

test('gemmBf16 batched with a broadcast weight', { skip: !hasBf16Api }, () => {
  const r = rng(12);
  const batch = 3, m = 5, n = 40, k = 33;
  const a = randArr(batch * m * k, r), w = randArr(n * k, r);
  const wb = toBf16(w), wR = Float32Array.from(wb, (h) => bf16Value(h));
  const aR = Float32Array.from(a, (v) => bf16Value(refBf16(v)));
  const c = new Float32Array(batch * m * n);
  bn.gemmBf16(a, wb, c, batch, m, n, k, 0, 1, 1, 0, m * k, 0, m * n);
  const want = refGemm(aR, wR, new Float32Array(batch * m * n), batch, m, n, k, false, true, 1, 0, m * k, 0, m * n);
  assertClose(c, want, k, 'batched bf16');
});

// Pre-packed weights (inference): y = x W^T from a weight packed once into the microkernel's panels.
type PrepackApi = {
  packedBf16Words(n: number, k: number): number;
  packBf16(w: Float32Array, n: number, k: number, dst: Uint32Array): void;
  gemmBf16Prepacked(x: Float32Array, wp: Uint32Array, c: Float32Array, m: number, n: number, k: number): void;
};
const pp = native as unknown as PrepackApi;

test('gemmBf16Prepacked: vs float64, identical bits on every path and thread count, equal to the packed gemmBf16', () => {
  const top = maxIsa(), before = numThreads();
  const shapes: [number, number, number][] = [[1, 1, 1], [1, 33, 2], [1, 300, 65], [3, 7, 64], [13, 40, 31], [14, 32, 512],
    [15, 95, 1100], [32, 130, 257], [41, 65, 3], [45, 20, 2300], [90, 70, 50]];
  try {
    for (const [m, n, k] of shapes) {
      const r = rng(m * 7919 + n * 31 + k);
      const x = randArr(m * k, r), w = randArr(n * k, r);
      const wp = new Uint32Array(pp.packedBf16Words(n, k));
      pp.packBf16(w, n, k, wp);
      const xR = Float32Array.from(x, (v) => bf16Value(refBf16(v))), wR = Float32Array.from(toBf16(w), (h) => bf16Value(h));
      const want = refGemm(xR, wR, new Float32Array(m * n), 1, m, n, k, false, true, 1, 0, 0, 0, 0);
      const results: [string, Float32Array][] = [];
      for (const threads of [2, 1]) {
        setThreads(threads);
        for (const [name, level, dot] of [['vdpbf16ps', 2, 1], ['emulated', 2, 0], ['portable', 0, 1]] as [string, number, number][]) {
          if (level > top) continue;
          native.setIsa(level);
          bn.setBf16Dot(dot);
          const c = new Float32Array(m * n).fill(NaN);
          pp.gemmBf16Prepacked(x, wp, c, m, n, k);
          assertClose(c, want, k, `prepacked ${name} ${threads}t [${m},${n},${k}]`);
          results.push([`${name} ${threads}t`, c]);
        }
      }
      native.setIsa(top);
      bn.setBf16Dot(1);
      // The packed gemmBf16 (M > 40) does the same arithmetic, so it gives the same bits.
      if (m > 40) {
        const c = new Float32Array(m * n);
        bn.gemmBf16(x, toBf16(w), c, 1, m, n, k, 0, 1, 1, 0, 0, 0, 0);
        results.push(['gemmBf16 packed', c]);
      }
      const [n0, first] = results[0];
      for (const [name, c] of results.slice(1)) {
        const a = new Uint32Array(first.buffer), b = new Uint32Array(c.buffer);
        for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) assert.fail(`[${m},${n},${k}]: ${name} differs from ${n0} at ${i}: ${c[i]} vs ${first[i]}`);
      }
    }
    assert.throws(() => pp.gemmBf16Prepacked(new Float32Array(4), new Uint32Array(3), new Float32Array(4), 2, 2, 2), /buffer sizes/);
  } finally {
    native.setIsa(top);
    bn.setBf16Dot(1);
    setThreads(before);
  }
});

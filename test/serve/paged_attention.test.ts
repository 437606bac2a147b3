// Paged attention with a sliding window against naive attention over the same keys and values, on every ISA
// path (AVX-512's 16-key chunks for head dims that are multiples of 16, the generic task otherwise), with
// f32 and bf16 pools and block tables in scrambled order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../../src/native/index.js';
import { PK } from '../../src/serve/paged_forward.js';
import { attentionRef } from '../tensor/reference.js';

const top = native.isaName().startsWith('avx512') ? 2 : native.isaName() === 'avx2' ? 1 : 0;

function rand(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = (s / 2 ** 32 - 0.5) * 2; }
  return a;
}

const bf16 = (x: Float32Array): Float32Array => {
  const u = new Uint16Array(x.length);
  native.f32ToBf16(x, u);
  const out = new Float32Array(x.length);
  native.bf16ToF32(u, out);
  return out;
};

for (const D of [8, 12, 16, 32]) {
  test(`paged attention with a sliding window equals naive attention (head dim ${D}, every ISA, f32 and bf16 pools)`, () => {
    const [Hq, Hkv, bs, L, W] = [4, 2, 4, 23, 7];
    const numBlocks = 10, perSeq = Math.ceil(L / bs);
    const table = Int32Array.from({ length: perSeq }, (_, i) => (i * 7 + 3) % numBlocks);
    const k = rand(L * Hkv * D, D), v = rand(L * Hkv * D, D + 1);
    // Queries at the last 5 positions of the sequence, each seeing up to its own position.
    const N = 5, q = rand(N * Hq * D, D + 2);
    const ctx = Int32Array.from({ length: N }, (_, i) => L - N + i + 1);
    for (const dtype of ['f32', 'bf16'] as const) {
      const pool = (): Float32Array | Uint16Array => (dtype === 'f32' ? new Float32Array(numBlocks * Hkv * bs * D) : new Uint16Array(numBlocks * Hkv * bs * D));
      const kp = pool(), vp = pool();
      const slots = Int32Array.from({ length: L }, (_, p) => table[Math.floor(p / bs)] * bs + (p % bs));
      PK.pagedKvWrite(k, v, kp, vp, slots, L, Hkv, D, bs);
      const [kr, vr] = dtype === 'f32' ? [k, v] : [bf16(k), bf16(v)];
      for (const window of [0, W, 1, 100]) {
        // Reference: query i sits at position ctx[i] - 1 of a causal sequence of length L.
        const ref = new Float64Array(N * Hq * D);
        for (let i = 0; i < N; i++) {
          const one = attentionRef(Float64Array.from(q.subarray(i * Hq * D, (i + 1) * Hq * D)), Float64Array.from(kr), Float64Array.from(vr),
            1, 1, L, Hq, Hkv, D, true, ctx[i] - 1, undefined, window);
          ref.set(one, i * Hq * D);
        }
        try {
          for (let isa = top; isa >= 0; isa--) {
            native.setIsa(isa);
            const out = new Float32Array(N * Hq * D);
            PK.pagedAttention(q, kp, vp, out, table, new Int32Array(N), ctx, N, Hq, Hkv, D, bs, 1 / Math.sqrt(D), window);
            for (let j = 0; j < out.length; j++) {
              assert.ok(Math.abs(out[j] - ref[j]) < 2e-5, `${native.isaName()} ${dtype} window ${window} element ${j}: ${out[j]} vs ${ref[j]}`);
            }
          }
        } finally {
          native.setIsa(top);
        }
      }
    }
  });
}

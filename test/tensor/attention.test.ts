import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, Rng, Tensor, backward, setThreadsForTest } from './engine.js';
import { gradcheck } from './gradcheck.js';
import { attentionRef } from './reference.js';

const cases: [number, number, number, number, number, number][] = [
  // B, T, S, Hq, Hkv, D
  [1, 1, 1, 1, 1, 1],
  [2, 7, 7, 4, 2, 8],
  [1, 33, 33, 2, 1, 7],
  [1, 70, 70, 2, 2, 16],
  [1, 130, 130, 4, 1, 64],
];

for (const [B, T, S, Hq, Hkv, D] of cases) {
  for (const causal of [true, false]) {
    test(`attention B=${B} T=${T} Hq=${Hq} Hkv=${Hkv} D=${D} causal=${causal}`, () => {
      gradcheck({
        name: 'attention',
        shapes: [[B, T, Hq, D], [B, S, Hkv, D], [B, S, Hkv, D]],
        run: ([q, k, v]) => F.attention(q, k, v, { causal }),
        ref: ([q, k, v]) => attentionRef(q, k, v, B, T, S, Hq, Hkv, D, causal, S - T),
        probes: 10,
      });
    });
  }
}

test('attention with a KV-cache offset (3 new queries over 70 keys)', () => {
  const [B, T, S, Hq, Hkv, D] = [1, 3, 70, 4, 2, 16];
  gradcheck({
    name: 'attention-offset',
    shapes: [[B, T, Hq, D], [B, S, Hkv, D], [B, S, Hkv, D]],
    run: ([q, k, v]) => F.attention(q, k, v),
    ref: ([q, k, v]) => attentionRef(q, k, v, B, T, S, Hq, Hkv, D, true, S - T),
  });
});

test('attention gives the same result and gradients on 1 and 2 threads', () => {
  const rng = new Rng(11);
  const mk = (s: number[]) => {
    const t = new Tensor(s, undefined, { requiresGrad: true, untracked: true });
    rng.fillNormal(t.data);
    return t;
  };
  const q = mk([2, 129, 4, 32]), k = mk([2, 129, 2, 32]), v = mk([2, 129, 2, 32]);
  const g = new Float32Array(q.size).map(() => rng.normal());
  const runs = [1, 2].map((n) => setThreadsForTest(n, () => {
    for (const t of [q, k, v]) t.grad = null;
    const o = F.attention(q, k, v);
    backward(o, g);
    return [o.data.slice(), q.grad!.data.slice(), k.grad!.data.slice(), v.grad!.data.slice()];
  }));
  runs[0].forEach((a, i) => {
    const b = runs[1][i];
    for (let j = 0; j < a.length; j++) assert.ok(Math.abs(a[j] - b[j]) <= 1e-5 * (1 + Math.abs(a[j])), `tensor ${i} element ${j}`);
  });
});

test('attention reads a KV cache in place: capacity larger than the valid length', () => {
  const rng = new Rng(4);
  const [B, T, S, cap, Hq, Hkv, D] = [2, 2, 9, 16, 4, 2, 8];
  const q = new Tensor([B, T, Hq, D]), k = new Tensor([B, cap, Hkv, D]), v = new Tensor([B, cap, Hkv, D]);
  for (const t of [q, k, v]) rng.fillNormal(t.data);
  const o = F.attention(q, k, v, { kvLength: S });
  // Reference on compact copies of the first S rows of each batch.
  const compact = (t: Tensor) => {
    const out = new Float64Array(B * S * Hkv * D);
    for (let b = 0; b < B; b++) out.set(t.data.subarray(b * cap * Hkv * D, (b * cap + S) * Hkv * D), b * S * Hkv * D);
    return out;
  };
  const ref = attentionRef(Float64Array.from(q.data), compact(k), compact(v), B, T, S, Hq, Hkv, D, true, S - T);
  ref.forEach((r, i) => assert.ok(Math.abs(r - o.data[i]) < 1e-4, `element ${i}: ${o.data[i]} vs ${r}`));
});

// Sliding windows shorter than, equal to and longer than a 64-key tile, with GQA, a KV-cache offset and
// query rows whose window starts inside a tile.
for (const [B, T, S, Hq, Hkv, D, W] of [[1, 9, 9, 2, 1, 8, 1], [2, 40, 40, 4, 2, 8, 5], [1, 150, 150, 2, 1, 16, 64], [1, 130, 130, 3, 1, 12, 70], [1, 5, 90, 2, 2, 8, 30]]) {
  test(`attention with a sliding window of ${W}: B=${B} T=${T} S=${S} Hq=${Hq} Hkv=${Hkv} D=${D}`, () => {
    gradcheck({
      name: 'attention-window',
      shapes: [[B, T, Hq, D], [B, S, Hkv, D], [B, S, Hkv, D]],
      run: ([q, k, v]) => F.attention(q, k, v, { window: W, scale: 0.3 }),
      ref: ([q, k, v]) => attentionRef(q, k, v, B, T, S, Hq, Hkv, D, true, S - T, W, 0.3),
      probes: 12,
    });
  });
}

test('a sliding window at least the sequence long changes nothing; a window needs causal attention', () => {
  const rng = new Rng(3);
  const q = new Tensor([1, 20, 2, 8]), k = new Tensor([1, 20, 1, 8]), v = new Tensor([1, 20, 1, 8]);
  for (const t of [q, k, v]) rng.fillNormal(t.data);
  assert.deepEqual(F.attention(q, k, v, { window: 20 }).data, F.attention(q, k, v).data);
  assert.throws(() => F.attention(q, k, v, { window: 4, causal: false }), /needs causal/);
  assert.throws(() => F.attention(q, k, v, { window: -1 }), /non-negative/);
});

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
  // head dims of two vectors (AVX-512) and of two plus a narrower one: the 8-row P.V / dK / dV / dQ blocks
  [1, 70, 70, 4, 2, 32],
  [1, 37, 37, 2, 1, 40],
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

// Segment ids: conversations packed into one row, each seeing only itself (block-diagonal causal mask).
/** [B * S] segment ids from per-row segment lengths (the rest of a row, if any, is one padding segment). */
function segments(B: number, S: number, lens: number[][]): Int32Array {
  const seg = new Int32Array(B * S);
  for (let b = 0; b < B; b++) {
    let t = 0, id = 0;
    for (const n of lens[b]) { seg.fill(id++, b * S + t, b * S + t + n); t += n; }
    seg.fill(id, b * S + t, (b + 1) * S);
  }
  return seg;
}

const segCases: { name: string; B: number; T: number; Hq: number; Hkv: number; D: number; lens: number[][] }[] = [
  { name: 'short segments', B: 2, T: 9, Hq: 2, Hkv: 1, D: 4, lens: [[1, 3, 5], [4, 2]] },
  // Boundaries on both sides of the 64-key tiles: some tiles are skipped whole, some masked per element.
  { name: 'segments across tiles', B: 1, T: 150, Hq: 4, Hkv: 2, D: 8, lens: [[20, 44, 1, 70]] },
  { name: 'one segment per tile', B: 2, T: 130, Hq: 2, Hkv: 2, D: 16, lens: [[64, 64, 2], [63, 67]] },
];

for (const c of segCases) {
  for (const causal of [true, false]) {
    test(`attention with segment ids: ${c.name} causal=${causal}`, () => {
      const seg = segments(c.B, c.T, c.lens);
      gradcheck({
        name: `attention-seg-${c.name}`,
        shapes: [[c.B, c.T, c.Hq, c.D], [c.B, c.T, c.Hkv, c.D], [c.B, c.T, c.Hkv, c.D]],
        run: ([q, k, v]) => F.attention(q, k, v, { causal, segmentIds: seg }),
        ref: ([q, k, v]) => attentionRef(q, k, v, c.B, c.T, c.T, c.Hq, c.Hkv, c.D, causal, 0, seg),
        probes: 12,
      });
    });
  }
}

test('attention with a segment in two runs (masked tiles, not varlen) and with runs of 1..70 tokens (varlen)', () => {
  // Contiguous runs go varlen (tiles aligned to each run); an id that comes back later needs the masked grid.
  const [B, T, Hq, Hkv, D] = [1, 150, 4, 2, 32];
  const split = segments(B, T, [[20, 44, 1, 70]]).map((id) => (id === 3 ? 0 : id));
  for (const [name, seg] of [['split', split], ['runs', segments(B, T, [[20, 44, 1, 70]])]] as const) {
    gradcheck({
      name: `attention-seg-${name}`,
      shapes: [[B, T, Hq, D], [B, T, Hkv, D], [B, T, Hkv, D]],
      run: ([q, k, v]) => F.attention(q, k, v, { segmentIds: seg }),
      ref: ([q, k, v]) => attentionRef(q, k, v, B, T, T, Hq, Hkv, D, true, 0, seg),
      probes: 12,
    });
  }
});

test('attention with segment ids and a query offset (4 new queries over 80 keys, two segments)', () => {
  const [B, T, S, Hq, Hkv, D] = [1, 4, 80, 2, 1, 8];
  const seg = segments(B, S, [[30, 48]]); // the last two positions form a third segment
  gradcheck({
    name: 'attention-seg-offset',
    shapes: [[B, T, Hq, D], [B, S, Hkv, D], [B, S, Hkv, D]],
    run: ([q, k, v]) => F.attention(q, k, v, { segmentIds: seg }),
    ref: ([q, k, v]) => attentionRef(q, k, v, B, T, S, Hq, Hkv, D, true, S - T, seg),
  });
});

test('packed attention: each segment gives the outputs and gradients of attending alone (1e-6)', () => {
  const rng = new Rng(5);
  const [Hq, Hkv, D] = [4, 2, 16];
  const lens = [37, 70, 29]; // 136 positions: three tiles, boundaries inside tiles 0 and 1 and 2
  const T = lens.reduce((a, b) => a + b);
  const mk = (s: number[]) => {
    const t = new Tensor(s, undefined, { requiresGrad: true, untracked: true });
    rng.fillNormal(t.data);
    return t;
  };
  const q = mk([1, T, Hq, D]), k = mk([1, T, Hkv, D]), v = mk([1, T, Hkv, D]);
  const g = new Float32Array(q.size).map(() => rng.normal());
  const o = F.attention(q, k, v, { segmentIds: segments(1, T, [lens]) });
  backward(o, g);
  let t0 = 0;
  for (const n of lens) {
    const part = (x: Tensor, H: number) => {
      const t = new Tensor([1, n, H, D], x.data.slice(t0 * H * D, (t0 + n) * H * D), { requiresGrad: true, untracked: true });
      return t;
    };
    const qs = part(q, Hq), ks = part(k, Hkv), vs = part(v, Hkv);
    const os = F.attention(qs, ks, vs);
    backward(os, g.slice(t0 * Hq * D, (t0 + n) * Hq * D));
    const close = (a: Float32Array, b: Float32Array, what: string) => {
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-6 * (1 + Math.abs(b[i])), `${what}[${i}] ${a[i]} vs ${b[i]}`);
    };
    close(o.data.subarray(t0 * Hq * D, (t0 + n) * Hq * D), os.data, `segment at ${t0}: output`);
    close(q.grad!.data.subarray(t0 * Hq * D, (t0 + n) * Hq * D), qs.grad!.data, `segment at ${t0}: dq`);
    close(k.grad!.data.subarray(t0 * Hkv * D, (t0 + n) * Hkv * D), ks.grad!.data, `segment at ${t0}: dk`);
    close(v.grad!.data.subarray(t0 * Hkv * D, (t0 + n) * Hkv * D), vs.grad!.data, `segment at ${t0}: dv`);
    t0 += n;
  }
});

test('packed attention: changing one segment leaves the others bit-identical, at 1 and 2 threads', () => {
  const rng = new Rng(9);
  const [T, Hq, Hkv, D] = [200, 2, 1, 32];
  const seg = segments(1, T, [[50, 90, 60]]);
  const q = new Tensor([1, T, Hq, D]), k = new Tensor([1, T, Hkv, D]), v = new Tensor([1, T, Hkv, D]);
  for (const t of [q, k, v]) rng.fillNormal(t.data);
  for (const threads of [1, 2]) {
    setThreadsForTest(threads, () => {
      const a = F.attention(q, k, v, { segmentIds: seg }).data.slice();
      const [q2, k2, v2] = [q, k, v].map((t) => new Tensor(t.shape, t.data.slice()));
      // Rewrite the middle segment (positions 50..139) entirely.
      for (const [t, H] of [[q2, Hq], [k2, Hkv], [v2, Hkv]] as const) for (let i = 50 * H * D; i < 140 * H * D; i++) t.data[i] = rng.normal() * 3;
      const b = F.attention(q2, k2, v2, { segmentIds: seg }).data;
      for (const [lo, hi] of [[0, 50], [140, 200]]) {
        for (let i = lo * Hq * D; i < hi * Hq * D; i++) assert.equal(b[i], a[i], `threads ${threads}: element ${i} changed`);
      }
      let moved = 0;
      for (let i = 50 * Hq * D; i < 140 * Hq * D; i++) moved += +(a[i] !== b[i]);
      assert.ok(moved > 0, 'the rewritten segment itself changed');
    });
  }
});

test('attention rejects segment ids of the wrong size or type', () => {
  const q = new Tensor([1, 4, 1, 2]), k = new Tensor([1, 4, 1, 2]);
  assert.throws(() => F.attention(q, k, k, { segmentIds: new Int32Array(3) }), /3 segment ids for 1 x 4/);
  assert.throws(() => F.attention(q, k, k, { segmentIds: new Float32Array(4) as unknown as Int32Array }), /Int32Array/);
});

// Packed documents in a model with sliding-window layers (Qwen2, Exaone4): both masks at once.
for (const [T, W, lens] of [[150, 20, [30, 100, 20]], [130, 70, [64, 66]]] as [number, number, number[]][]) {
  test(`attention with segment ids and a sliding window of ${W}: T=${T} segments ${lens}`, () => {
    const seg = segments(1, T, [lens]);
    gradcheck({
      name: 'attention-seg-window',
      shapes: [[1, T, 2, 8], [1, T, 1, 8], [1, T, 1, 8]],
      run: ([q, k, v]) => F.attention(q, k, v, { segmentIds: seg, window: W }),
      ref: ([q, k, v]) => attentionRef(q, k, v, 1, T, T, 2, 1, 8, true, 0, seg, W),
      probes: 12,
    });
  });
}

// Sliding windows shorter than, equal to and longer than a 64-key tile, with GQA, a KV-cache offset and
// query rows whose window starts inside a tile.
for (const [B, T, S, Hq, Hkv, D, W] of [[1, 9, 9, 2, 1, 8, 1], [2, 40, 40, 4, 2, 8, 5], [1, 150, 150, 2, 1, 16, 64], [1, 130, 130, 3, 1, 12, 70], [1, 5, 90, 2, 2, 8, 30]]) {
  test(`attention with a sliding window of ${W}: B=${B} T=${T} S=${S} Hq=${Hq} Hkv=${Hkv} D=${D}`, () => {
    gradcheck({
      name: 'attention-window',
      shapes: [[B, T, Hq, D], [B, S, Hkv, D], [B, S, Hkv, D]],
      run: ([q, k, v]) => F.attention(q, k, v, { window: W, scale: 0.3 }),
      ref: ([q, k, v]) => attentionRef(q, k, v, B, T, S, Hq, Hkv, D, true, S - T, undefined, W, 0.3),
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

// The layer loop's architecture options without Python: gradients of every parameter kind (biases, q/k norms,
// post norms, muP multipliers, sliding-window and RoPE-free layers, YaRN RoPE) against central finite
// differences of the loss, packed documents against separate forwards, the attention paths against each other,
// and bf16-only inference weights against the fp32-master path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, Rng, backward, noGrad, tidy } from '../../src/tensor/index.js';
import { type ModelConfig, PRESETS, parseModelConfig } from '../../src/model/config.js';
import { Transformer } from '../../src/model/transformer.js';
import { generate } from '../../src/model/generate.js';
import { f32ToBf16 } from '../../src/model/export_hf.js';
import { Engine } from '../../src/serve/engine.js';

const V = 23;
const common = { vocabSize: V, dModel: 16, nLayers: 3, nHeads: 4, nKvHeads: 2, ffnHidden: 24, maxSeqLen: 64 };
/** Every option at once (HyperCLOVA X-like, plus Qwen/EXAONE pieces), and EXAONE 4's post-norm-only layout. */
const CONFIGS: Record<string, ModelConfig> = {
  'all options': parseModelConfig({
    ...common, headDim: 6, qkvBias: true, oBias: true, mlpBias: true, qkNorm: true, postNorm: true, embeddingMultiplier: 2,
    attentionMultiplier: 0.3, residualMultiplier: 0.7, logitsScaling: 0.5, slidingWindow: 4, layerTypes: ['sliding', 'full', 'sliding'],
    noRopeLayers: [1], ropeScaling: { type: 'yarn', factor: 4, originalMaxSeqLen: 8, betaFast: 32, betaSlow: 1, attentionFactor: 1.1, truncate: true },
  }),
  'EXAONE 4 layout': parseModelConfig({ ...common, architecture: 'Exaone4ForCausalLM', preNorm: false, postNorm: true, qkNorm: true, slidingWindow: 5,
    layerTypes: ['sliding', 'sliding', 'full'], noRopeLayers: [2], tieEmbeddings: true }),
};

/** A model with every parameter random (norms near 1, biases and weights spread), so no gradient is trivially zero. */
function randomModel(c: ModelConfig, seed: number): Transformer {
  const m = new Transformer(c, seed);
  const rng = new Rng(seed + 1);
  for (const [name, p] of m.params) {
    if (p.ndim === 1) for (let i = 0; i < p.size; i++) p.data[i] = (name.includes('norm') ? 1 : 0) + 0.3 * rng.normal();
    else rng.fillNormal(p.data, 1 / Math.sqrt(p.shape[1]));
  }
  return m;
}

const ids = Int32Array.from({ length: 14 }, (_, i) => (i * 5 + 3) % V);
const targets = Int32Array.from({ length: 14 }, (_, i) => (i * 7 + 1) % V);

for (const [label, c] of Object.entries(CONFIGS)) {
  test(`${label}: every parameter's gradient matches central differences of the loss`, () => {
    const m = randomModel(c, 3);
    const loss = () => tidy(() => m.loss(ids, targets, 2, 7).item());
    tidy(() => backward(m.loss(ids, targets, 2, 7)));
    const rng = new Rng(9);
    for (const [name, p] of m.params) {
      // Directional derivative in this parameter alone, along its gradient plus a random part (a purely random
      // direction can be nearly orthogonal to the gradient, and then checks little).
      const gd = p.grad!.data, gn = Math.hypot(...gd);
      assert.ok(gn > 1e-3, `${name}: its gradient is ~0 (norm ${gn}), so the check would prove nothing`);
      const r = new Float32Array(p.size).map(() => rng.normal()), rn = Math.hypot(...r);
      const u = r.map((x, i) => gd[i] / gn + (0.7 * x) / rn);
      const un = Math.hypot(...u);
      for (let i = 0; i < u.length; i++) u[i] /= un;
      const g = gd.reduce((s, x, i) => s + x * u[i], 0);
      const orig = p.data.slice();
      const at = (e: number) => { for (let i = 0; i < p.size; i++) p.data[i] = orig[i] + e * u[i]; return loss(); };
      const central = (e: number) => (at(e) - at(-e)) / (2 * e);
      // Richardson extrapolation of two central differences: truncation error O(eps^4) (the loss is strongly
      // curved along the embedding of a model without input norms).
      const fd = (4 * central(1e-3) - central(2e-3)) / 3;
      p.data.set(orig);
      assert.ok(Math.abs(fd - g) <= 1e-2 * Math.abs(fd) + 2e-4, `${name}: autograd ${g} vs finite differences ${fd}`);
    }
  });

  test(`${label}: full forward, KV-cache decoding and the serving engine agree`, async () => {
    const m = randomModel(c, 4);
    const T = ids.length;
    const full = m.infer(ids, 1, T);
    const fromFull: number[] = [];
    const seq = Array.from(ids.slice(0, 5));
    for (let i = 0; i < 8; i++) {
      const l = m.infer(Int32Array.from(seq), 1, seq.length, { lastOnly: true }).data;
      let best = 0;
      for (let v = 1; v < V; v++) if (l[v] > l[best]) best = v;
      fromFull.push(best);
      seq.push(best);
    }
    assert.deepEqual(generate(m, Array.from(ids.slice(0, 5)), { maxNewTokens: 8 }).ids, fromFull, 'generate() with the KV cache');
    const engine = new Engine(m, { blockSize: 2 });
    const out = await engine.submit(Array.from(ids.slice(0, 5)), { maxTokens: 8, promptLogprobs: 0 }).done;
    assert.deepEqual(out.outputTokens, fromFull, 'the serving engine');
    await engine.shutdown();
    assert.ok(full.data.every(Number.isFinite));
  });
}

test('packed documents: each document of a row gives the logits and gradients it gives alone, positions restarting', () => {
  const m = randomModel(CONFIGS['all options'], 5);
  const docs = [[3, 9, 1, 4, 7], [2, 2, 8], [5, 1, 6, 0, 11, 12]];
  const row = Int32Array.from(docs.flat());
  const seg = Int32Array.from(docs.flatMap((d, i) => d.map(() => i)));
  const packed = m.infer(row, 1, row.length, { segmentIds: seg });
  let at = 0;
  for (const d of docs) {
    const alone = m.infer(Int32Array.from(d), 1, d.length);
    for (let j = 0; j < alone.size; j++) assert.ok(Math.abs(alone.data[j] - packed.data[at * V + j]) < 1e-5, `document at ${at}, element ${j}`);
    at += d.length;
  }
  // Gradients of the summed per-document losses equal those of the packed row.
  const grads = (fn: () => void) => { for (const p of m.parameters()) p.grad = null; tidy(fn); return m.param('model.layers.1.self_attn.q_proj.weight').grad!.data.slice(); };
  const tgt = (d: number[]) => Int32Array.from(d.map((x) => (x + 1) % V));
  const gPacked = grads(() => backward(F.crossEntropy(m.forward(row, 1, row.length, { segmentIds: seg }), Int32Array.from(docs.flatMap((d) => Array.from(tgt(d)))), { reduction: 'sum' })));
  const gAlone = grads(() => { for (const d of docs) backward(F.crossEntropy(m.forward(Int32Array.from(d), 1, d.length), tgt(d), { reduction: 'sum' })); });
  gPacked.forEach((g, j) => assert.ok(Math.abs(g - gAlone[j]) <= 1e-4 * (1 + Math.abs(g)), `gradient ${j}: ${g} vs ${gAlone[j]}`));
  assert.throws(() => m.infer(row, 1, row.length, { segmentIds: seg.subarray(1) }), /segment ids/);
});

/** A model whose fp32 weights are exactly bf16 values, and the same weights as bf16 tensors. */
function bf16Pair(c: ModelConfig): [Transformer, Transformer] {
  const m = randomModel(c, 6);
  for (const p of m.params.values()) if (p.ndim === 2) { const b = f32ToBf16(p.data); const u = new Uint32Array(p.data.buffer, p.data.byteOffset, p.size); for (let i = 0; i < b.length; i++) u[i] = b[i] << 16; }
  const bf = Transformer.fromTensors(c, (name, shape) => {
    const t = m.param(name);
    return shape.length === 2 ? { dtype: 'BF16', shape: [...shape], data: f32ToBf16(t.data) } : { dtype: 'F32', shape: [...shape], data: t.data.slice() };
  }, 'bf16');
  return [m, bf];
}

for (const [label, c] of Object.entries({ ...CONFIGS, 'Llama, tied': { ...PRESETS.test, vocabSize: 37, tieEmbeddings: true }, 'Llama, untied, odd widths': { ...PRESETS.test, vocabSize: 45, dModel: 36, ffnHidden: 50, nHeads: 6, nKvHeads: 2 } })) {
  test(`bf16-only inference weights (${label}): the fp32-master bf16 path's logits exactly, fp32's within bf16 error, no fp32 copies`, async () => {
    const [m, bf] = bf16Pair(c);
    assert.ok(bf.bf16Only && bf.computeDtype === 'bf16');
    const T = ids.length;
    const f32 = m.infer(ids, 1, T).data.slice();
    m.computeDtype = 'bf16';
    const master = m.infer(ids, 1, T).data.slice();
    const only = bf.infer(ids, 1, T).data;
    assert.deepEqual(only, master, 'bit-identical to the fp32-master model multiplying in bf16');
    let worst = 0, range = 0;
    for (let j = 0; j < f32.length; j++) { worst = Math.max(worst, Math.abs(only[j] - f32[j])); range = Math.max(range, Math.abs(f32[j])); }
    assert.ok(worst < 0.05 * range, `bf16 vs fp32 compute: max |Δ| ${worst} for logits up to ${range}`);
    assert.deepEqual(generate(bf, [1, 2, 3], { maxNewTokens: 6 }).ids, generate(m, [1, 2, 3], { maxNewTokens: 6 }).ids);
    const engine = new Engine(bf, { blockSize: 4 });
    const out = await engine.submit([1, 2, 3], { maxTokens: 6 }).done;
    await engine.shutdown();
    assert.deepEqual(out.outputTokens, generate(bf, [1, 2, 3], { maxNewTokens: 6 }).ids, 'the engine serves a bf16-only model');
    // Only norms and biases stay fp32; each matrix is one packed bf16 copy (2 bytes per value plus panel padding).
    for (const t of bf.params.values()) assert.equal(t.ndim, 1);
    const matrices = [...m.params.values()].filter((t) => t.ndim === 2).reduce((a, t) => a + t.size, 0);
    // Panels pad rows to a multiple of 32 and columns to even (plus 64 bytes for alignment): tiny here, ~0 at real sizes.
    const padded = [...bf.packed.values()].reduce((a, w) => a + (Math.ceil(w.shape[0] / 32) * 32 * Math.ceil(w.shape[1] / 2) * 2 + 32) * 2, 0);
    assert.equal([...bf.packed.values()].reduce((a, w) => a + w.bytes, 0), padded, `packed bytes for ${matrices} matrix values`);
    assert.equal(bf.packed.size, [...m.params.values()].filter((t) => t.ndim === 2).length);
    assert.throws(() => bf.parameters(), /cannot be trained/);
    assert.throws(() => { bf.computeDtype = 'f32'; }, /multiplies in bf16/);
    assert.throws(() => bf.param('model.layers.0.mlp.up_proj.weight'), /held only as packed bf16/);
    noGrad(() => assert.equal(bf.embed(Int32Array.of(2), [1]).size, c.dModel));
  });
}

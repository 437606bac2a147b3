import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AdamW, backward, tidy } from '../../src/tensor/index.js';
import { PRESETS, parameterCount, parseModelConfig } from '../../src/model/config.js';
import { Transformer } from '../../src/model/transformer.js';
import { KVCache } from '../../src/model/kv_cache.js';
import { generate, generateBatch } from '../../src/model/generate.js';
import { saveCheckpoint, loadCheckpoint, loadModel } from '../../src/model/checkpoint.js';

const cfg = PRESETS.test;

test('parameter count matches the tensors the model allocates', () => {
  const m = new Transformer(cfg);
  const n = m.parameters().reduce((a, t) => a + t.size, 0);
  assert.equal(n, parameterCount(cfg).total);
  const tied = new Transformer({ ...cfg, tieEmbeddings: true });
  assert.equal(tied.parameters().reduce((a, t) => a + t.size, 0), parameterCount({ ...cfg, tieEmbeddings: true }).total);
});

test('decoding with the KV cache gives the same logits as a full forward pass', () => {
  const m = new Transformer(cfg, 5);
  const ids = Int32Array.from([3, 17, 42, 8, 8, 1, 60, 33, 2, 9]);
  const B = 2, T = 5;
  const full = m.infer(ids, B, T);
  const cache = new KVCache(cfg, B, 16);
  // Prefill 3 tokens per row, then 1 at a time.
  const pick = (t0: number, t1: number) => Int32Array.from([...ids.slice(t0, t1), ...ids.slice(T + t0, T + t1)]);
  const parts = [m.infer(pick(0, 3), B, 3, { cache }), m.infer(pick(3, 4), B, 1, { cache }), m.infer(pick(4, 5), B, 1, { cache })];
  const V = cfg.vocabSize;
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
    const [part, tt, len] = t < 3 ? [parts[0], t, 3] : [parts[t - 2], 0, 1];
    for (let v = 0; v < V; v++) {
      const a = full.data[(b * T + t) * V + v], c = part.data[(b * len + tt) * V + v];
      assert.ok(Math.abs(a - c) < 1e-4, `b=${b} t=${t} v=${v}: ${a} vs ${c}`);
    }
  }
});

test('training on a repeated sequence drives the loss down', () => {
  const m = new Transformer(cfg, 9);
  const opt = new AdamW(m.parameters(), { weightDecay: 0 });
  const seq = Int32Array.from({ length: 33 }, (_, i) => (i * 7) % 23);
  const ids = seq.slice(0, 32), tgt = seq.slice(1, 33);
  const losses: number[] = [];
  for (let s = 0; s < 40; s++) {
    losses.push(tidy(() => {
      opt.zeroGrad();
      const loss = m.loss(ids, tgt, 2, 16);
      backward(loss);
      return loss.item();
    }));
    opt.update(3e-3);
  }
  assert.ok(Math.abs(losses[0] - Math.log(cfg.vocabSize)) < 0.3, `initial loss ${losses[0]} should be near ln(V)`);
  assert.ok(losses[39] < 0.5 * losses[0], `loss fell from ${losses[0]} to only ${losses[39]}`);
});

test('greedy generation is deterministic and honours stop tokens and max length', () => {
  const m = new Transformer(cfg, 2);
  const a = generate(m, [1, 2, 3], { maxNewTokens: 8 });
  const b = generate(m, [1, 2, 3], { maxNewTokens: 8 });
  assert.deepEqual(a.ids, b.ids);
  assert.equal(a.ids.length, 8);
  assert.equal(a.finishReason, 'length');
  const stopped = generate(m, [1, 2, 3], { maxNewTokens: 8, stopTokens: [a.ids[2]] });
  assert.deepEqual(stopped.ids, a.ids.slice(0, a.ids.indexOf(a.ids[2])));
  assert.equal(stopped.finishReason, 'stop');
  const batch = generateBatch(m, [[1, 2, 3], [4, 5, 6]], { maxNewTokens: 8 });
  assert.deepEqual(batch[0].ids, a.ids, 'a batched row equals the same prompt alone');
  assert.deepEqual(batch[1].ids, generate(m, [4, 5, 6], { maxNewTokens: 8 }).ids);
  const sampled = generate(m, [1, 2, 3], { maxNewTokens: 8, temperature: 1, topK: 5, topP: 0.9, seed: 3 });
  assert.deepEqual(sampled.ids, generate(m, [1, 2, 3], { maxNewTokens: 8, temperature: 1, topK: 5, topP: 0.9, seed: 3 }).ids);
  assert.throws(() => generate(m, [1, 999]), /outside the vocabulary/);
  assert.throws(() => generate(m, [1], { topP: 0 }), /topP/);
});

test('checkpoints round-trip the model, optimizer and training state', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hcx-ck-'));
  const m = new Transformer(cfg, 4);
  const opt = new AdamW(m.parameters());
  tidy(() => { backward(m.loss(Int32Array.of(1, 2, 3, 4), Int32Array.of(2, 3, 4, 5), 1, 4)); });
  opt.update(1e-3);
  const where = saveCheckpoint(dir, { model: m, optimizer: opt.state(), state: { step: 1, tokensSeen: 4, rng: [1, 2, 3, 4] } });
  assert.match(where, /step-1$/);
  const back = loadCheckpoint(where);
  for (const [name, t] of m.params) assert.deepEqual(back.model.param(name).data, t.data, name);
  assert.equal(back.state.tokensSeen, 4);
  const opt2 = new AdamW(back.model.parameters());
  opt2.loadState(back.optimizer!);
  assert.equal(opt2.step, 1);
  assert.deepEqual(loadModel(dir).param('model.norm.weight').data, m.param('model.norm.weight').data, 'a run directory loads its latest checkpoint');
});

test('model config validation names the field', () => {
  assert.throws(() => parseModelConfig({ ...cfg, nKvHeads: 3 }), /nHeads 4 is not a multiple of nKvHeads 3/);
  assert.throws(() => parseModelConfig({ ...cfg, dModel: -1 }), /field "dModel" must be a positive integer/);
  assert.throws(() => parseModelConfig({ ...cfg, heads: 4 }), /unknown field "heads"/);
  assert.throws(() => parseModelConfig('nope'), /unknown preset "nope"/);
  assert.equal(parseModelConfig({ preset: 'test', nLayers: 3 }).nLayers, 3);
});

test('bf16 compute gives nearly the fp32 loss and trains', () => {
  const m = new Transformer(cfg, 9);
  const seq = Int32Array.from({ length: 33 }, (_, i) => (i * 5) % 29);
  const ids = seq.slice(0, 32), tgt = seq.slice(1, 33);
  const f32 = tidy(() => m.loss(ids, tgt, 2, 16).item());
  m.computeDtype = 'bf16';
  const bf = tidy(() => m.loss(ids, tgt, 2, 16).item());
  assert.ok(Math.abs(f32 - bf) < 0.02, `fp32 loss ${f32} vs bf16 ${bf}`);
  const opt = new AdamW(m.parameters(), { weightDecay: 0 });
  let last = bf;
  for (let s = 0; s < 30; s++) {
    last = tidy(() => { opt.zeroGrad(); const l = m.loss(ids, tgt, 2, 16); backward(l); return l.item(); });
    opt.update(3e-3);
  }
  assert.ok(last < 0.6 * bf, `bf16 training: loss ${bf} -> ${last}`);
});

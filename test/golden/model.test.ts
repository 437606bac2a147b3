// llm.c-style golden test: a tiny model with fixed weights must reproduce PyTorch's logits, loss,
// every parameter gradient and the first 10 AdamW losses (values from scripts/golden/model_golden.py,
// computed in float64; regenerate with scripts/golden/make-model-golden.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdamW, backward, tidy } from '../../src/tensor/index.js';
import { PRESETS, parseModelConfig } from '../../src/model/config.js';
import { Transformer } from '../../src/model/transformer.js';
import { goldenInputs } from './inputs.js';

const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/golden/model-golden.json');
const golden = JSON.parse(readFileSync(file, 'utf8')) as {
  logits: string; loss: number; grads: Record<string, string>; adamw_losses: number[]; weights_sha256: string; config: unknown;
};
const f32 = (b64: string) => { const b = Buffer.from(b64, 'base64'); return new Float32Array(b.buffer, b.byteOffset, b.length / 4); };

function model(): Transformer {
  // The golden file predates the config's non-Llama fields: read as a config, it must be exactly the test preset.
  assert.deepEqual(parseModelConfig(golden.config), PRESETS.test, 'the golden file was made for the current test preset');
  const m = new Transformer(PRESETS.test, 42);
  const h = createHash('sha256');
  for (const t of m.parameters()) h.update(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  assert.equal(h.digest('hex'), golden.weights_sha256, 'initial weights differ from those the golden values were computed on');
  return m;
}

/** max |a - b| relative to max |b| */
function relErr(a: Float32Array, b: Float32Array): number {
  let err = 0, scale = 0;
  for (let i = 0; i < b.length; i++) { err = Math.max(err, Math.abs(a[i] - b[i])); scale = Math.max(scale, Math.abs(b[i])); }
  return err / scale;
}

test('golden: logits, loss and every gradient match PyTorch', () => {
  const m = model();
  const inp = goldenInputs();
  const ids = Int32Array.from(inp.ids), tgt = Int32Array.from(inp.targets);
  const logits = m.infer(ids, inp.batch, inp.time);
  assert.ok(relErr(logits.data, f32(golden.logits)) < 1e-5, `logits error ${relErr(logits.data, f32(golden.logits))}`);
  const loss = m.loss(ids, tgt, inp.batch, inp.time);
  assert.ok(Math.abs(loss.item() - golden.loss) < 1e-5, `loss ${loss.item()} vs ${golden.loss}`);
  backward(loss);
  for (const [name, t] of m.params) {
    const e = relErr(t.grad!.data, f32(golden.grads[name]));
    assert.ok(e < 1e-4, `gradient of ${name}: relative error ${e}`);
  }
});

test('golden: the first 10 AdamW losses match PyTorch', () => {
  const m = model();
  const inp = goldenInputs();
  const ids = Int32Array.from(inp.ids), tgt = Int32Array.from(inp.targets);
  const opt = new AdamW(m.parameters(), { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
  const losses: number[] = [];
  for (let s = 0; s < 10; s++) {
    losses.push(tidy(() => { opt.zeroGrad(); const l = m.loss(ids, tgt, inp.batch, inp.time); backward(l); return l.item(); }));
    opt.update(inp.lr);
  }
  losses.forEach((l, i) => assert.ok(Math.abs(l - golden.adamw_losses[i]) < 1e-4, `step ${i}: ${l} vs ${golden.adamw_losses[i]}`));
  assert.ok(losses[9] < losses[0], 'the loss falls');
});

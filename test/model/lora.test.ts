import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../../src/model/checkpoint.js';
import { exportHfModel } from '../../src/model/export_hf.js';
import { Lora, loadLoraAdapter } from '../../src/model/lora.js';
import { Transformer } from '../../src/model/transformer.js';
import { Rng, backward, tidy } from '../../src/tensor/index.js';
import { sft } from '../../src/train/sft.js';
import { parseSftConfig } from '../../src/train/sft_config.js';
import { pythonMissing, runPython } from '../helpers/python.js';
import { tinySource, type TinySource } from '../helpers/sft.js';

const dir = mkdtempSync(path.join(tmpdir(), 'hcx-lora-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
let src: TinySource;
test.before(async () => { src = await tinySource(dir); });
const here = path.dirname(fileURLToPath(import.meta.url));

/** An adapter that does something: B random instead of PEFT's zeros. */
function randomAdapter(model: Transformer, targets: string[]): Lora {
  const lora = new Lora(model, { rank: 4, alpha: 8, dropout: 0, targets }, 3);
  const rng = new Rng(8);
  for (const a of lora.adapters) rng.fillNormal(a.B.data, 0.05);
  lora.training = false;
  return lora;
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i])); return m; };

test('LoRA starts as the base model, trains only the adapters, and merges into the weights', () => {
  const model = loadModel(src.runDir);
  const ids = Int32Array.from({ length: 24 }, (_, i) => (i * 37) % src.config.vocabSize);
  const before = model.infer(ids, 2, 12).data.slice();
  const lora = new Lora(model, { rank: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj', 'up_proj'] });
  assert.deepEqual(model.infer(ids, 2, 12).data, before, 'B = 0: the adapted model equals the base');
  assert.equal(lora.adapters.length, 3 * src.config.nLayers);
  assert.ok(model.parameters().every((p) => !p.requiresGrad), 'base frozen');
  tidy(() => { backward(model.loss(ids, Int32Array.from(ids, (x) => (x + 1) % 64), 2, 12)); });
  assert.ok(model.parameters().every((p) => p.grad === null), 'no base gradients');
  assert.ok(lora.adapters.every((a) => a.A.grad && a.B.grad));
  const r = randomAdapter(loadModel(src.runDir), ['k_proj', 'o_proj', 'gate_proj', 'down_proj']);
  const adapted = r.model.infer(ids, 2, 12).data.slice();
  const merged = r.mergeIntoModel().infer(ids, 2, 12).data;
  assert.ok(maxDiff(adapted, merged) < 1e-5, `merged vs adapted: ${maxDiff(adapted, merged)}`);
  assert.ok(maxDiff(adapted, before) > 1e-3, 'the adapter changes the output');
});

test('hcx sft with LoRA: only adapters move; the checkpoint holds merged weights plus PEFT adapter files', async () => {
  // A few conversations seen again and again: a rank-8 update of a random tiny model fits them slowly but surely.
  const few = path.join(dir, 'few.jsonl');
  writeFileSync(few, readFileSync(src.data.all, 'utf8').split('\n').slice(0, 8).join('\n') + '\n');
  const cfg = parseSftConfig({ from: src.runDir, data: [few], runDir: path.join(dir, 'lora-run'), seqLen: 128, steps: 20, batchSize: 4, lr: 1e-2, warmupSteps: 1,
    heldout: 2, evalEvery: 0, lora: { rank: 8, alpha: 16, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] } }, 'test', undefined, 'none', { maxSeqLen: 256 }).cfg;
  const r = await sft(cfg, { quiet: true });
  assert.ok(r.metrics[19].loss < r.metrics[0].loss - 0.2, `loss ${r.metrics[0].loss} -> ${r.metrics[19].loss}`);
  const base = loadModel(src.runDir);
  for (const [name, t] of r.model.params) assert.deepEqual(t.data, base.param(name).data, `${name} is frozen`);
  const ck = r.finalCheckpoint;
  assert.ok(existsSync(path.join(ck, 'adapter_config.json')) && existsSync(path.join(ck, 'adapter_model.safetensors')));
  const ids = Int32Array.from({ length: 16 }, (_, i) => (i * 11) % src.config.vocabSize);
  r.lora!.training = false;
  const adapted = r.model.infer(ids, 1, 16).data;
  assert.ok(maxDiff(loadModel(ck).infer(ids, 1, 16).data, adapted) < 1e-5, 'model.safetensors is the merged model');
  const reloaded = loadLoraAdapter(loadModel(src.runDir), ck);
  assert.ok(maxDiff(reloaded.model.infer(ids, 1, 16).data, adapted) < 1e-6, 'the PEFT files reload the adapter');
});

test('peft opens hcx\'s adapter with the same logits, merges it alike, and hcx loads peft\'s adapter with the same logits', { skip: pythonMissing(['torch', 'transformers', 'peft']) }, () => {
  const hf = path.join(dir, 'hf');
  exportHfModel(loadModel(src.runDir), src.tok, hf);
  const lora = randomAdapter(loadModel(src.runDir), ['q_proj', 'v_proj', 'o_proj', 'up_proj']);
  const adapterDir = path.join(dir, 'hcx-adapter');
  mkdirSync(adapterDir, { recursive: true });
  for (const [name, data] of Object.entries(lora.files(hf))) writeFileSync(path.join(adapterDir, name), data);
  const [B, T] = [2, 10];
  const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 29 + 3) % src.config.vocabSize);
  const idsFile = path.join(dir, 'ids.json');
  writeFileSync(idsFile, JSON.stringify([[...ids.slice(0, T)], [...ids.slice(T)]]));
  const out = path.join(dir, 'peft.json');
  const own = path.join(dir, 'peft-adapter');
  runPython([path.resolve(here, '../../../test/model/py/peft_lora.py'), hf, adapterDir, idsFile, out, own]);
  const py = JSON.parse(readFileSync(out, 'utf8')) as { hcx_adapter: number[]; merged: number[]; own: number[] };
  const ours = lora.model.infer(ids, B, T).data;
  assert.ok(maxDiff(ours, py.hcx_adapter) < 1e-4, `peft vs hcx forward: ${maxDiff(ours, py.hcx_adapter)}`);
  assert.ok(maxDiff(lora.mergeIntoModel().infer(ids, B, T).data, py.merged) < 1e-4, 'merged alike');
  const theirs = loadLoraAdapter(loadModel(src.runDir), own);
  assert.deepEqual(theirs.config, { rank: 3, alpha: 6, dropout: 0, targets: theirs.config.targets });
  assert.deepEqual([...theirs.config.targets].sort(), ['down_proj', 'gate_proj', 'k_proj']);
  const d = maxDiff(theirs.model.infer(ids, B, T).data, py.own);
  assert.ok(d < 1e-4, `hcx with peft's adapter vs peft: ${d}`);
});

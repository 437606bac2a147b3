// hcx SFT against TRL's SFTTrainer (trl 1.13, transformers 5.18, torch 2.13 CPU): the same tiny model (exported
// with src/model/export_hf.ts), the same conversations in the same batches, assistant-only loss, fp32, AdamW
// with a constant learning rate and clipping, batch 4 x 2 accumulated micro-batches. TRL tokenizes the chats
// itself through a Jinja template with {% generation %} markers, so its input ids and loss masks are checked
// against hcx's template too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadChatData, RowStream } from '../../src/data/chat/dataset.js';
import { hcxTemplate } from '../../src/data/chat/template.js';
import { loadModel } from '../../src/model/checkpoint.js';
import { exportHfModel } from '../../src/model/export_hf.js';
import { sft } from '../../src/train/sft.js';
import { parseSftConfig } from '../../src/train/sft_config.js';
import { pythonMissing, runPython } from '../helpers/python.js';
import { tinySource } from '../helpers/sft.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const script = path.resolve(here, '../../../test/train/py/trl_sft.py');

test('hcx SFT losses equal TRL SFTTrainer\'s over 10 steps (1e-4, fp32), with the same assistant-only masks', { skip: pythonMissing(['torch', 'transformers', 'trl', 'datasets']) }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hcx-sft-trl-'));
  try {
    const src = await tinySource(dir);
    const lines = readFileSync(src.data.all, 'utf8').split('\n').filter(Boolean).slice(0, 36);
    const data = path.join(dir, 'parity.jsonl');
    writeFileSync(data, lines.join('\n') + '\n');
    const s = { batch_size: 4, grad_accum: 2, steps: 10, lr: 2e-3, beta1: 0.9, beta2: 0.999, clip: 1.0 };
    const cfg = parseSftConfig({
      from: src.runDir, data: [data], runDir: path.join(dir, 'run'), packing: 'none', seqLen: 256, steps: s.steps, batchSize: s.batch_size,
      gradAccum: s.grad_accum, lr: s.lr, minLr: s.lr, warmupSteps: 0, weightDecay: 0, beta1: s.beta1, beta2: s.beta2, clip: s.clip,
      heldout: 0, evalEvery: 0, saveEvery: 0, seed: 5,
    }, 'parity', undefined, 'none', { maxSeqLen: 256 }).cfg;
    const hf = path.join(dir, 'hf');
    exportHfModel(loadModel(src.runDir), src.tok, hf);
    const r = await sft(cfg, { quiet: true });
    // The conversations in the order hcx's batches took them, for TRL's sequential sampler.
    const d = await loadChatData({ sources: [{ path: data }], template: hcxTemplate(src.tok), seqLen: 256, truncation: 'cut', heldout: 0, seed: 5, onBadLine: 'fatal' });
    const stream = new RowStream(d.train, 'none', 256, cfg.seed);
    const order = Array.from({ length: s.steps * s.batch_size * s.grad_accum }, (_, k) => stream.rowAt(k).row[0]);
    const ordered = path.join(dir, 'ordered.jsonl');
    writeFileSync(ordered, order.map((i) => lines[i]).join('\n') + '\n');
    const settings = path.join(dir, 'settings.json');
    writeFileSync(settings, JSON.stringify({ ...s, out_dir: path.join(dir, 'trl') }));
    const out = path.join(dir, 'trl.json');
    runPython([script, hf, ordered, settings, out], { env: { HCX_THREADS: '1', TOKENIZERS_PARALLELISM: 'false' } });
    const trl = JSON.parse(readFileSync(out, 'utf8')) as { losses: number[]; tokenized: { input_ids: number[]; labels: number[] }[] };
    // Same tokens and the same trained positions.
    trl.tokenized.forEach((t, k) => {
      const e = d.train[order[k]];
      assert.deepEqual(t.input_ids, [...e.ids], `row ${k}: token ids`);
      assert.deepEqual(t.labels, [...e.ids].map((id, j) => (e.mask[j] ? id : -100)), `row ${k}: loss mask`);
    });
    assert.equal(trl.losses.length, s.steps);
    const hcx = r.metrics.map((m) => m.loss);
    if (process.env.HCX_TEST_VERBOSE) console.log(JSON.stringify({ hcx, trl: trl.losses }));
    hcx.forEach((l, i) => assert.ok(Math.abs(l - trl.losses[i]) < 1e-4, `step ${i + 1}: hcx ${l}, TRL ${trl.losses[i]} (all: ${hcx.map((x) => x.toFixed(6))} vs ${trl.losses.map((x) => x.toFixed(6))})`));
    assert.ok(hcx[9] < hcx[0] - 0.3, `the model learns: ${hcx[0]} -> ${hcx[9]}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

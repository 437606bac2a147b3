import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'node:test';
import { hcxTemplate } from '../../src/data/chat/template.js';
import { loadPreferenceData, pairBatch } from '../../src/data/prefs/dataset.js';
import { loadModel, listCheckpoints } from '../../src/model/checkpoint.js';
import { initScoreModel, openScoreModel } from '../../src/model/score_head.js';
import { backward, tensor } from '../../src/tensor/index.js';
import { parsePrefConfig, RM_SCHEMA, type RmConfig } from '../../src/train/pref_config.js';
import { bradleyTerryLoss } from '../../src/train/preference_losses.js';
import { readRewardStats, rm } from '../../src/train/reward.js';
import { koreanPairsFile } from '../helpers/prefs.js';
import { tinySource } from '../helpers/sft.js';
import { pythonMissing, runPython } from '../helpers/python.js';

const dir = mkdtempSync(path.join(tmpdir(), 'hcx-rm-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const config = (over: Record<string, unknown>) => parsePrefConfig<RmConfig>({ seqLen: 128, heldout: 8, batchSize: 4, lr: 3e-3, warmupSteps: 0, evalEvery: 5, saveEvery: 5, normSamples: 6, normMaxNewTokens: 8, ...over }, RM_SCHEMA, 'test', { maxSeqLen: 256 });

test('Bradley-Terry on fixed scores: -log sigmoid(r_c - r_r - margin), mean over pairs', () => {
  const s = tensor([1.5, -0.5, 0.2, 0.7], [4], true);
  const { loss, margins } = bradleyTerryLoss(s, Float32Array.from([0, 0.5]), 2);
  const want = (Math.log1p(Math.exp(-2)) + Math.log1p(Math.exp(1))) / 2;
  assert.ok(Math.abs(loss.item() - want) < 1e-6, `${loss.item()} vs ${want}`);
  assert.deepEqual([...margins].map((m) => +m.toFixed(5)), [2, -0.5]);
});

test('Bradley-Terry loss, its gradient, accuracy and margin equal TRL RewardTrainer.compute_loss (1e-6, fp32)', { skip: pythonMissing(['torch', 'trl']) }, () => {
  const chosen = [1.5, 0.2, -1, 3.25, -0.75], rejected = [-0.5, 0.7, -2, 3.5, -0.1], margin = [0, 0.5, 0.25, 1, 0];
  const py = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/train/py/trl_rm.py');
  for (const m of [null, margin]) {
    const inFile = path.join(dir, 'trl-rm-in.json'), outFile = path.join(dir, 'trl-rm-out.json');
    writeFileSync(inFile, JSON.stringify({ chosen, rejected, margin: m }));
    runPython([py, inFile, outFile]);
    const trl = JSON.parse(readFileSync(outFile, 'utf8')) as { loss: number; accuracy: number; margin: number; grad: number[] };
    const s = tensor(chosen.flatMap((c, i) => [c, rejected[i]]), [2 * chosen.length], true);
    const r = bradleyTerryLoss(s, m ? Float32Array.from(m) : null, chosen.length);
    backward(r.loss);
    const what = m ? 'with margin' : 'no margin';
    assert.ok(Math.abs(r.loss.item() - trl.loss) < 1e-6, `${what}: loss ${r.loss.item()} vs TRL ${trl.loss}`);
    const acc = [...r.margins].filter((x) => x > 0).length / chosen.length, mean = [...r.margins].reduce((a, b) => a + b, 0) / chosen.length;
    assert.ok(Math.abs(acc - trl.accuracy) < 1e-6 && Math.abs(mean - trl.margin) < 1e-6, `${what}: accuracy ${acc} / margin ${mean} vs TRL ${trl.accuracy} / ${trl.margin}`);
    chosen.forEach((_, i) => {
      assert.ok(Math.abs(s.grad!.data[2 * i] - trl.grad[i]) < 1e-6, `${what}: d/d chosen[${i}] ${s.grad!.data[2 * i]} vs TRL ${trl.grad[i]}`);
      assert.ok(Math.abs(s.grad!.data[2 * i + 1] - trl.grad[chosen.length + i]) < 1e-6, `${what}: d/d rejected[${i}]`);
    });
  }
});

test('with a zero head the loss is ln 2; swapping chosen and rejected negates the gradient', async () => {
  const src = await tinySource(dir);
  const data = await loadPreferenceData({ files: [koreanPairsFile(dir, 8)], format: 'auto', template: hcxTemplate(src.tok), seqLen: 128, heldout: 0, seed: 1, onBadLine: 'fatal' });
  const pairs = data.train.slice(0, 6);
  const grads = (swap: boolean) => {
    const sm = initScoreModel(loadModel(src.runDir), 1);
    sm.weight.data.fill(0);
    const b = pairBatch(swap ? pairs.map((p) => ({ ...p, chosen: p.rejected, rejected: p.chosen })) : pairs, src.tok.special.pad);
    const { loss } = bradleyTerryLoss(sm.score(b.ids, b.B, b.T, { ends: b.ends }), null, pairs.length);
    assert.ok(Math.abs(loss.item() - Math.LN2) < 1e-7, `loss ${loss.item()}`);
    backward(loss);
    return sm.parameters().map((p) => Float32Array.from(p.grad?.data ?? new Float32Array(p.size)));
  };
  const g = grads(false), h = grads(true);
  let nonzero = 0;
  g.forEach((gi, i) => gi.forEach((v, j) => { assert.ok(Math.abs(v + h[i][j]) <= 1e-7 * Math.max(1, Math.abs(v)), `param ${i}[${j}]: ${v} vs ${h[i][j]}`); nonzero += +(v !== 0); }));
  assert.ok(nonzero > 0, 'the head weight gets a gradient');
});

test('hcx rm learns Korean pairs, reports held-out accuracy, stores reward stats, resumes exactly', async () => {
  const src = await tinySource(dir);
  const data = koreanPairsFile(dir, 40);
  const runDir = path.join(dir, 'rm');
  const cfg = config({ from: src.runDir, data: [data], runDir, steps: 10 });
  const full = await rm(cfg, { quiet: true });
  assert.equal(full.metrics.length, 10);
  assert.ok(full.metrics[9].loss < full.metrics[0].loss, `loss ${full.metrics[0].loss} -> ${full.metrics[9].loss}`);
  assert.ok(full.heldout.accuracy >= 0.75, `held-out accuracy ${full.heldout.accuracy}`);
  assert.equal(full.heldout.pairs, 8);
  const stats = readRewardStats(runDir);
  assert.equal(stats.samples, 6);
  assert.ok(Number.isFinite(stats.mean) && stats.std >= 0);
  const sm = openScoreModel(runDir);
  assert.deepEqual([...sm.weight.data], [...full.scoreModel.weight.data]);
  // Kill after step 5 (simulated by a 5-step run with the same schedule), then --resume to 10.
  const part = path.join(dir, 'rm-part');
  await rm({ ...cfg, runDir: part, steps: 10 }, { quiet: true, onStep: (m) => { if (m.step === 7) throw new Error('killed'); } }).catch((e) => assert.match((e as Error).message, /killed/));
  assert.deepEqual(listCheckpoints(part).map((c) => c.step), [5]);
  const resumed = await rm({ ...cfg, runDir: part }, { quiet: true, resume: true });
  assert.deepEqual(resumed.metrics.map((m) => m.step), [6, 7, 8, 9, 10]);
  resumed.metrics.forEach((m, i) => assert.equal(m.loss, full.metrics[5 + i].loss, `step ${m.step}`));
  assert.deepEqual([...openScoreModel(part).weight.data], [...sm.weight.data]);
  const rows = readFileSync(path.join(part, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
  assert.deepEqual(rows, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  await assert.rejects(rm({ ...cfg, runDir: part, margin: 1 }, { quiet: true, resume: true }), /preference data differs/);
  assert.ok(existsSync(path.join(runDir, 'heldout.json')));
});

test('rm config: unknown fields and bad values are errors naming the field', () => {
  assert.throws(() => config({ from: 'x', data: ['y'], runDir: 'z', beta: 0.1 }), /unknown field "beta"/);
  assert.throws(() => config({ from: 'x', data: ['y'], runDir: 'z', normSamples: -1 }), /field "normSamples"/);
  assert.throws(() => config({ from: 'x', data: ['y'], runDir: 'z', seqLen: 4096 }), /exceeds the model's maxSeqLen/);
});

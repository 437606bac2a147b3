// hcx dpo on the tiny test-preset source (test/helpers/sft.ts) and built-in Korean pairs: ln 2 at step 0,
// stored and live reference log-probs agreeing, resume reusing the stored ones and another reference
// recomputing them, the loss's gradient against finite differences, and the loss and rewards against
// TRL's DPOTrainer on the same weights exported to Hugging Face format.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { hcxTemplate } from '../../src/data/chat/template.js';
import { loadPreferenceData, packedPairBatch, pairBatch } from '../../src/data/prefs/dataset.js';
import { listCheckpoints, loadModel, saveCheckpoint } from '../../src/model/checkpoint.js';
import { exportHfModel } from '../../src/model/export_hf.js';
import { Transformer } from '../../src/model/transformer.js';
import { backward, F, fromData } from '../../src/tensor/index.js';
import { dpo, run } from '../../src/train/dpo.js';
import { pairLogProbs } from '../../src/train/dpo_reference.js';
import { DPO_SCHEMA, parsePrefConfig, type DpoConfig } from '../../src/train/pref_config.js';
import { dpoSigmoidLoss, packedSequenceLogProbs, sequenceLogProbs } from '../../src/train/preference_losses.js';
import { IGNORE } from '../../src/train/losses.js';
import { koreanPairsFile } from '../helpers/prefs.js';
import { pythonMissing, runPython } from '../helpers/python.js';
import { tinySource } from '../helpers/sft.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const script = path.resolve(here, '../../../test/train/py/trl_dpo.py');
const dir = mkdtempSync(path.join(tmpdir(), 'hcx-dpo-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const config = (over: Record<string, unknown>) => parsePrefConfig<DpoConfig>({ seqLen: 128, heldout: 4, batchSize: 4, lr: 2e-3, warmupSteps: 0, evalEvery: 3, saveEvery: 3, ...over }, DPO_SCHEMA, 'test', { maxSeqLen: 256 });

/** A second tiny model with other weights (same config and tokenizer): a reference that is not the policy. */
function otherModel(src: Awaited<ReturnType<typeof tinySource>>, seed: number): string {
  const d = path.join(dir, `other-${seed}`);
  if (!existsSync(path.join(d, 'checkpoints'))) {
    saveCheckpoint(d, { model: new Transformer(src.config, seed), state: { step: 1, tokensSeen: 0 }, trainConfig: { model: src.config } });
    writeFileSync(path.join(d, 'tokenizer.json'), readFileSync(src.tokFile));
  }
  return d;
}

test('step-0 loss is ln 2 with zero rewards (policy == reference); the run writes metrics with TRL\'s names and plots', async () => {
  const src = await tinySource(dir);
  const runDir = path.join(dir, 'ln2');
  const r = await dpo(config({ from: src.runDir, data: [koreanPairsFile(dir, 24)], runDir, steps: 2 }), { quiet: true });
  const m0 = r.metrics[0];
  assert.ok(Math.abs(m0.loss - Math.LN2) < 1e-6, `step-1 loss ${m0.loss}`);
  // Zero up to fp32 rounding of log-prob sums of a few hundred nats (the reference pass runs the inference
  // kernels, the policy the training ones): beta x 1e-7 relative.
  const tol = (lp: number) => 1e-7 * Math.max(1, Math.abs(lp));
  assert.ok(Math.abs(m0['rewards/chosen']) < tol(m0['logps/chosen']) && Math.abs(m0['rewards/rejected']) < tol(m0['logps/rejected']) && Math.abs(m0['rewards/margins']) < tol(m0['logps/rejected']), JSON.stringify(m0));
  assert.equal(m0['rewards/accuracies'], 0, 'no pair is strictly preferred before training');
  assert.ok(m0['logps/chosen'] < 0 && m0['logps/rejected'] < 0);
  const row = JSON.parse(readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').split('\n')[0]);
  for (const k of ['loss', 'rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins']) assert.ok(k in row, `metrics.jsonl has ${k}`);
  assert.ok('eval_accuracy' in r.metrics[1], 'held-out pair accuracy at the last step');
  for (const f of ['loss.svg', 'rewards.svg', 'heldout.json', 'data.json']) assert.ok(existsSync(path.join(runDir, f)), f);
  assert.ok(r.metrics[1].loss < m0.loss, `the policy moves toward the chosen side: ${m0.loss} -> ${r.metrics[1].loss}`);
});

test('stored and live reference log-probs give the same losses; resume reuses the stored ones, another reference recomputes', async () => {
  const src = await tinySource(dir);
  const data = [koreanPairsFile(dir, 24)];
  const ref = otherModel(src, 11);
  const base = { from: src.runDir, data, ref, steps: 6 };
  const stored = await dpo(config({ ...base, runDir: path.join(dir, 'stored') }), { quiet: true });
  const live = await dpo(config({ ...base, runDir: path.join(dir, 'live'), reference: 'live' }), { quiet: true });
  assert.equal(stored.reference.reused, false);
  assert.ok(Math.abs(stored.metrics[0].loss - Math.LN2) > 1e-3, `a reference other than the policy: step-1 loss ${stored.metrics[0].loss} is not ln 2`);
  stored.metrics.forEach((m, i) => {
    const l = live.metrics[i];
    assert.ok(Math.abs(m.loss - l.loss) <= 1e-6, `step ${m.step}: stored ${m.loss}, live ${l.loss}`);
    assert.ok(Math.abs(m['rewards/margins'] - l['rewards/margins']) <= 1e-5, `step ${m.step} margins: ${m['rewards/margins']} vs ${l['rewards/margins']}`);
  });
  assert.ok(Math.abs(stored.heldout.loss - live.heldout.loss) <= 1e-6 && stored.heldout.accuracy === live.heldout.accuracy);
  assert.ok(!existsSync(path.join(dir, 'live', 'reference')), 'the live path stores nothing');

  // Killed after the step-3 checkpoint, then resumed: same losses, the stored reference reused.
  const part = path.join(dir, 'part');
  await dpo(config({ ...base, runDir: part }), { quiet: true, onStep: (m) => { if (m.step === 4) throw new Error('killed'); } }).catch((e) => assert.match((e as Error).message, /killed/));
  assert.deepEqual(listCheckpoints(part).map((c) => c.step), [3]);
  const resumed = await dpo(config({ ...base, runDir: part }), { quiet: true, resume: true });
  assert.equal(resumed.reference.reused, true);
  assert.deepEqual(resumed.metrics.map((m) => m.step), [4, 5, 6]);
  resumed.metrics.forEach((m, i) => assert.equal(m.loss, stored.metrics[3 + i].loss, `step ${m.step}`));
  // Resuming against another reference is refused; a fresh run with it computes a new file beside the old.
  const ref2 = otherModel(src, 12);
  await assert.rejects(dpo(config({ ...base, ref: ref2, runDir: part }), { quiet: true, resume: true }), /not the one .* was trained against/);
  const again = await dpo(config({ ...base, ref: ref2, runDir: part, steps: 1 }), { quiet: true });
  assert.equal(again.reference.reused, false);
  assert.notEqual(again.reference.hash, resumed.reference.hash);
  assert.equal(readdirSync(path.join(part, 'reference')).filter((f) => f.endsWith('.f32')).length, 2);
});

test('DPO loss gradient through the summed completion log-probs matches central finite differences', () => {
  const N = 2, B = 2 * N, T = 4, V = 5;
  let s = 3;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 4 - 2;
  const logits = Float64Array.from({ length: B * T * V }, rnd);
  // Completions of different lengths, prompt positions and padding ignored.
  const targets = Int32Array.from([IGNORE, 1, 3, 0, IGNORE, IGNORE, 2, IGNORE, 4, 4, 1, 2, IGNORE, 0, IGNORE, IGNORE]);
  const ref = Float32Array.from([-5.1, -3.7, -6.2, -4.4]);
  const beta = 0.3;
  const lossAt = (x: Float64Array, grad = false) => {
    const t = fromData(Float32Array.from(x), [B, T, V], grad);
    const l = dpoSigmoidLoss(sequenceLogProbs(t, targets, B, T), ref, beta, N).loss;
    return { t, l };
  };
  const { t, l } = lossAt(logits, true);
  backward(l);
  const g = t.grad!.data;
  const eps = 1e-2;
  let checked = 0;
  for (let i = 0; i < logits.length; i++) {
    const up = Float64Array.from(logits), down = Float64Array.from(logits);
    up[i] += eps; down[i] -= eps;
    const fd = (lossAt(up).l.item() - lossAt(down).l.item()) / (2 * eps);
    assert.ok(Math.abs(fd - g[i]) <= 2e-4 + 1e-2 * Math.abs(fd), `logit ${i}: analytic ${g[i]}, finite difference ${fd}`);
    checked += +(Math.abs(g[i]) > 1e-4);
  }
  // Ignored positions get no gradient; supervised ones do.
  for (let p = 0; p < B * T; p++) if (targets[p] === IGNORE) for (let v = 0; v < V; v++) assert.equal(g[p * V + v], 0, `ignored position ${p}`);
  assert.ok(checked > 10, `${checked} logits with a gradient`);
});

test('padding-free: the sides packed into one row give the padded rows\' summed log-probs and gradients (fp32)', async () => {
  const src = await tinySource(dir);
  const data = await loadPreferenceData({ files: [koreanPairsFile(dir, 24)], format: 'auto', template: hcxTemplate(src.tok), seqLen: 128, heldout: 0, seed: 1, onBadLine: 'fatal' });
  const pairs = data.train.slice(0, 5);
  const model = loadModel(otherModel(src, 17));
  const grads = (f: () => Float32Array) => {
    for (const p of model.parameters()) p.grad = null;
    const v = f();
    return { v, g: model.parameters().map((p) => Float32Array.from(p.grad!.data)) };
  };
  const padded = grads(() => {
    const b = pairBatch(pairs, src.tok.special.pad);
    const lp = sequenceLogProbs(model.forward(b.ids, b.B, b.T), b.targets, b.B, b.T);
    backward(F.sum(F.mul(lp, fromData(Float32Array.from({ length: lp.size }, (_, i) => 1 + i % 3), [lp.size]))));
    return Float32Array.from(lp.data);
  });
  const packed = grads(() => {
    const b = packedPairBatch(pairs);
    assert.equal(b.tokens, b.T, 'no padding');
    const lp = packedSequenceLogProbs(model.forward(b.ids, 1, b.T, { positions: b.positions, segmentIds: b.segmentIds }), b.targets, b.segmentIds, b.sides);
    backward(F.sum(F.mul(lp, fromData(Float32Array.from({ length: lp.size }, (_, i) => 1 + i % 3), [lp.size]))));
    return Float32Array.from(lp.data);
  });
  assert.equal(packed.v.length, 10);
  packed.v.forEach((x, i) => assert.ok(Math.abs(x - padded.v[i]) <= 1e-5 * Math.max(1, Math.abs(padded.v[i])), `side ${i}: packed ${x}, padded ${padded.v[i]}`));
  packed.g.forEach((g, k) => {
    let worst = 0, scale = 0;
    g.forEach((x, i) => { worst = Math.max(worst, Math.abs(x - padded.g[k][i])); scale = Math.max(scale, Math.abs(padded.g[k][i])); });
    assert.ok(worst <= 1e-4 * Math.max(scale, 1e-3), `parameter ${k}: max |Δgrad| ${worst} of ${scale}`);
  });
});

test('DPO loss and rewards equal TRL DPOTrainer\'s loss computation on the same weights (1e-5, fp32)', { skip: pythonMissing(['torch', 'transformers', 'trl', 'datasets']) }, async () => {
  const src = await tinySource(dir);
  const data = await loadPreferenceData({ files: [koreanPairsFile(dir, 24)], format: 'auto', template: hcxTemplate(src.tok), seqLen: 128, heldout: 0, seed: 1, onBadLine: 'fatal' });
  const pairs = data.train.slice(0, 6);
  const policy = loadModel(otherModel(src, 13)), ref = loadModel(src.runDir);
  const pad = src.tok.special.pad, beta = 0.1;
  // The trainer's own path: the pairs' sides packed padding-free into one row (TRL pads them).
  const b = packedPairBatch(pairs);
  const r = dpoSigmoidLoss(packedSequenceLogProbs(policy.forward(b.ids, 1, b.T, { positions: b.positions, segmentIds: b.segmentIds }), b.targets, b.segmentIds, b.sides), pairLogProbs(ref, pairs, 3), beta, pairs.length);
  const hfPolicy = path.join(dir, 'hf-policy'), hfRef = path.join(dir, 'hf-ref');
  exportHfModel(policy, src.tok, hfPolicy);
  exportHfModel(ref, src.tok, hfRef);
  const input = path.join(dir, 'trl-dpo-in.json'), out = path.join(dir, 'trl-dpo-out.json');
  writeFileSync(input, JSON.stringify({
    beta, pad, out_dir: path.join(dir, 'trl-dpo'),
    chosen: pairs.map((p) => [...p.chosen.ids]), rejected: pairs.map((p) => [...p.rejected.ids]),
    chosen_start: pairs.map((p) => p.chosen.start), rejected_start: pairs.map((p) => p.rejected.start),
  }));
  runPython([script, hfPolicy, hfRef, input, out], { env: { HCX_THREADS: '1', TOKENIZERS_PARALLELISM: 'false' } });
  const trl = JSON.parse(readFileSync(out, 'utf8')) as { loss: number; metrics: Record<string, number> };
  const mean = (a: Float32Array) => a.reduce((x, y) => x + y, 0) / a.length;
  const ours = {
    loss: r.loss.item(), 'rewards/chosen': mean(r.chosenRewards), 'rewards/rejected': mean(r.rejectedRewards),
    'rewards/margins': mean(r.chosenRewards.map((c, i) => c - r.rejectedRewards[i])),
    'rewards/accuracies': r.chosenRewards.filter((c, i) => c > r.rejectedRewards[i]).length / pairs.length,
  };
  if (process.env.HCX_TEST_VERBOSE) console.log(JSON.stringify({ ours, trl }));
  const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b)), `${what}: hcx ${a}, TRL ${b}`);
  close(ours.loss, trl.loss, 'loss');
  for (const k of ['rewards/chosen', 'rewards/rejected', 'rewards/margins', 'rewards/accuracies'] as const) close(ours[k], trl.metrics[k], k);
  assert.ok(Math.abs(ours.loss - Math.LN2) > 1e-3, `policy and reference differ: loss ${ours.loss}`);
});

test('dpo config: unknown fields and bad values are errors naming the field; run(config) validates the pipeline\'s settings', async () => {
  assert.throws(() => config({ from: 'x', data: ['y'], runDir: 'z', margin: 1 }), /unknown field "margin"/);
  assert.throws(() => config({ from: 'x', data: ['y'], runDir: 'z', beta: 0 }), /field "beta"/);
  assert.throws(() => config({ from: 'x', data: ['y'], runDir: 'z', reference: 'cached' }), /field "reference"/);
  const src = await tinySource(dir);
  await assert.rejects(run({ from: src.runDir, data: [koreanPairsFile(dir, 24)], runDir: path.join(dir, 'bad'), betta: 0.2 }), /unknown field "betta"/);
});

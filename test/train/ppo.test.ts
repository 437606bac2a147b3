// PPO on a tiny model: the first minibatch of the first epoch gives ratio exactly 1 and clip fraction 0;
// the engine's rollout log-probs equal the trainer's packed recomputation; masked rows contribute
// nothing; repeated 4-grams and unlikelihood; the run-level early stop; metrics, plots and strict config;
// --resume after a kill goes on exactly as the uninterrupted run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { listCheckpoints, loadModel } from '../../src/model/checkpoint.js';
import { readResult, writeResult } from '../../src/pipeline/results.js';
import { ppo as ppoSuite } from '../../src/pipeline/align_suites.js';
import { backward, F, fromData, noGrad, tidy, type Tensor } from '../../src/tensor/index.js';
import { Tokenizer } from '../../src/tokenizer/index.js';
import { hcxTemplate } from '../../src/data/chat/template.js';
import { run as ppo } from '../../src/train/ppo.js';
import { RunStopper } from '../../src/train/ppo_eval.js';
import { policyLoss, repeatedNgramMask, repeatedNgramShare, unlikelihoodLoss, valueLoss } from '../../src/train/ppo_losses.js';
import { rollout, rolloutEngine } from '../../src/train/rollout.js';
import { packRow, perSequence, ROW_QUANTUM, tokenLogprobs } from '../../src/train/rollout_batch.js';
import { loadPrompts, stratifiedSplit } from '../../src/train/prompts.js';
import { tinyRl } from '../helpers/rl.js';

const dir = mkdtempSync(path.join(tmpdir(), 'hcx-ppo-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('rollout log-probs from the serving engine equal the trainer\'s packed recomputation; n samples share the prefill', async () => {
  const f = await tinyRl(dir);
  const model = loadModel(f.runDir);
  const tok = Tokenizer.load(f.tokFile);
  const { items } = await loadPrompts([f.prompts], 'auto', hcxTemplate(tok), 200);
  const engine = rolloutEngine(model, { maxRunning: 8 });
  const prompts = items.slice(0, 6).map((p) => p.ids);
  const { samples, stats } = await rollout(engine, prompts, { n: 3, temperature: 1, maxTokens: 20, stopTokens: [tok.special.endofturn], seed: 3 });
  assert.equal(samples.length, 18);
  samples.forEach((s, i) => { assert.equal(s.prompt, Math.floor(i / 3)); assert.deepEqual([...s.promptIds], prompts[s.prompt]); });
  assert.ok(stats.prefixHits > 0, `siblings reuse the first sample's prompt blocks (${stats.prefixHits} of ${stats.prefixQueries} block lookups hit)`);
  // The three samples of a prompt differ (own seeds) at temperature 1.
  assert.ok(new Set(samples.slice(0, 3).map((s) => s.response.join(','))).size > 1);
  // All 18 in one row padded to a multiple of ROW_QUANTUM (what training uses), longer than the model's context.
  const b = packRow(samples, samples.map((_, i) => i), 256, tok.special.pad);
  const total = samples.reduce((a, s) => a + s.promptIds.length + s.response.length, 0);
  assert.equal(b.B, 1);
  assert.equal(b.T, Math.ceil(total / ROW_QUANTUM) * ROW_QUANTUM);
  assert.ok(total > model.config.maxSeqLen, `${total} tokens in one row, context ${model.config.maxSeqLen}`);
  assert.equal(b.mask.reduce((a, x) => a + x, 0), samples.reduce((a, s) => a + s.response.length, 0));
  const lp = tidy(() => noGrad(() => perSequence(tokenLogprobs(model, b, 1).logp.data, b)));
  let worst = 0;
  b.members.forEach((m, k) => {
    assert.equal(lp[k].length, samples[m].engineLogprobs.length);
    lp[k].forEach((x, t) => { worst = Math.max(worst, Math.abs(x - samples[m].engineLogprobs[t])); });
  });
  assert.ok(worst < 1e-4, `largest difference ${worst}`);
  // Each sequence packed alone gives the same log-probs as among the others (segments see only themselves).
  for (const m of [0, 7, 17]) {
    const alone = packRow(samples, [m], 256, tok.special.pad);
    const la = tidy(() => noGrad(() => perSequence(tokenLogprobs(model, alone, 1).logp.data, alone)))[0];
    la.forEach((x, t) => assert.ok(Math.abs(x - lp[b.members.indexOf(m)][t]) < 1e-5, `sequence ${m} token ${t}: alone ${x}, packed ${lp[b.members.indexOf(m)][t]}`));
  }
  assert.throws(() => packRow(samples, [0], 4, tok.special.pad), /rollout sequence 0 has \d+ tokens, rows hold 4/);
  // Only the rows with a target go through the LM head: values and gradients equal the full-logits path.
  const w = Float32Array.from({ length: b.B * b.T }, (_, i) => 1 + (i % 5) / 4);
  const grads = (f: () => Tensor) => {
    for (const p of model.parameters()) p.grad = null;
    const v = tidy(() => { const lp = f(); backward(F.sum(F.mul(lp, fromData(w, [w.length])))); return Float32Array.from(lp.data); });
    return { v, g: model.parameters().map((p) => Float32Array.from(p.grad!.data)) };
  };
  const picked = grads(() => tokenLogprobs(model, b, 0.7).logp);
  const full = grads(() => F.reshape(F.neg(F.crossEntropy(F.scale(model.forward(b.ids, b.B, b.T, { positions: b.positions, segmentIds: b.segmentIds }), 1 / 0.7), b.targets, { reduction: 'none' })), [b.B * b.T]));
  picked.v.forEach((x, i) => assert.ok(Math.abs(x - full.v[i]) < 1e-5, `row ${i}: ${x} vs ${full.v[i]}`));
  picked.g.forEach((g, k) => g.forEach((x, i) => assert.ok(Math.abs(x - full.g[k][i]) <= 1e-5 * Math.max(1, Math.abs(full.g[k][i])), `parameter ${k}[${i}]: ${x} vs ${full.g[k][i]}`)));
});

test('masked rows contribute exactly nothing to the policy and value losses', () => {
  const mask = Float32Array.from([1, 1, 0, 1, 0]);
  const mk = (junk: number) => {
    const lp = fromData(Float32Array.from([-1, -2, junk, -0.5, junk]), [5], true), v = fromData(Float32Array.from([0.1, 0.2, junk, 0.3, junk]), [5], true);
    const old = Float32Array.from([-1.1, -1.9, junk, -0.6, -junk]), adv = Float32Array.from([1, -1, junk, 0.5, junk]);
    const pg = policyLoss(lp, old, adv, mask, { clip: 0.2, logRatioClamp: 20 });
    const vf = valueLoss(v, old, adv, mask, 0.2);
    backward(pg.loss);
    return { pg: pg.loss.item(), vf: vf.loss.item(), g: [...lp.grad!.data] };
  };
  const a = mk(0), b = mk(1e6);
  assert.equal(a.pg, b.pg);
  assert.equal(a.vf, b.vf);
  assert.deepEqual(a.g, b.g);
  assert.equal(a.g[2], 0);
  assert.equal(a.g[4], 0);
});

test('repeated 4-grams: later occurrences are masked; unlikelihood pushes their probability down', () => {
  const toks = [1, 2, 3, 4, 9, 1, 2, 3, 4, 8];
  assert.deepEqual([...repeatedNgramMask(toks)], [0, 0, 0, 0, 0, 1, 1, 1, 1, 0]);
  assert.equal(repeatedNgramShare(toks), 1 / 7);
  assert.equal(repeatedNgramShare([1, 2, 3]), 0);
  const lp = fromData(Float32Array.from([-0.1, -0.2, -3]), [3], true);
  const ul = unlikelihoodLoss(lp, Float32Array.from([1, 0, 1]), 3);
  assert.ok(Math.abs(ul.item() - (-Math.log(1 - Math.exp(-0.1)) - Math.log(1 - Math.exp(-3))) / 3) < 1e-5);
  backward(ul);
  assert.ok(lp.grad!.data[0] > 0 && lp.grad!.data[2] > 0 && lp.grad!.data[1] === 0, 'descending the loss lowers the masked tokens\' log-probs only');
});

test('run-level early stop: patience on held-out reward, and response length beyond L% of the SFT model\'s', () => {
  const s = new RunStopper(2, 50);
  const r = (reward: number, length: number) => ({ reward, length, eosFraction: 1, rep4: 0 });
  assert.equal(s.record(0, r(0, 10), 'c0'), null);
  assert.equal(s.record(1, r(1, 12), 'c1'), null);
  assert.equal(s.record(2, r(0.5, 12), 'c2'), null);
  assert.match(s.record(3, r(0.9, 12), 'c3')!, /not improved for 2 evaluations/);
  assert.equal(s.best?.checkpoint, 'c1');
  const l = new RunStopper(5, 50);
  l.record(0, r(0, 10), 'c0');
  assert.equal(l.record(1, r(1, 15), 'c1'), null);
  assert.match(l.record(2, r(2, 15.5), 'c2')!, /length 15.5 tokens exceeds 150% of the SFT model's 10.0/);
  assert.equal(l.best?.checkpoint, 'c1', 'the over-long checkpoint is never kept as the best, whatever its reward');
});

test('held-out prompts are stratified by length and format', () => {
  const items = Array.from({ length: 60 }, (_, i) => ({ stratum: i % 3 === 0 ? 'short|single' : i % 3 === 1 ? 'long|single' : 'long|system+single', i }));
  const { train, heldout } = stratifiedSplit(items, 0.2, 1);
  assert.equal(heldout.length, 12);
  assert.equal(train.length, 48);
  for (const s of ['short|single', 'long|single', 'long|system+single']) assert.equal(heldout.filter((x) => x.stratum === s).length, 4);
});

test('a PPO run: first minibatch ratio exactly 1 and clip fraction 0, engine log-probs match, metrics, plots and the best checkpoint', async () => {
  const f = await tinyRl(dir);
  const runDir = path.join(dir, 'run');
  const r = await ppo({
    policy: f.runDir, reward: f.rmDir, prompts: [f.prompts], runDir, iterations: 2, promptsPerIteration: 4, samplesPerPrompt: 2, maxNewTokens: 12,
    miniBatchSize: 4, epochs: 2, batchSize: 2, lr: 1e-4, evalEvery: 1, heldout: 4, seed: 2,
  }, { quiet: true });
  assert.equal(r.metrics.length, 2);
  for (const m of r.metrics) {
    assert.equal(m.first_ratio, 1);
    assert.equal(m.first_clipfrac, 0);
    assert.ok(m.logprob_drift! < 1e-4, `engine vs trainer log-probs: ${m.logprob_drift}`);
    for (const k of ['reward', 'kl', 'entropy', 'response_len', 'rep4', 'clipfrac', 'approx_kl', 'value_loss', 'eos_fraction', 'rollout_s', 'train_s'] as const) assert.ok(Number.isFinite(m[k]), `${k}: ${m[k]}`);
    assert.ok(m.heldout_reward !== undefined);
  }
  // The policy moved: the second iteration's first ratio is 1 again (fresh old log-probs), but its loss saw updated weights.
  const rows = readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n');
  assert.equal(rows.length, 2);
  for (const p of ['reward', 'kl', 'entropy', 'response_len', 'rep4', 'clipfrac', 'approx_kl', 'value_loss', 'eos_fraction', 'seconds']) assert.ok(existsSync(path.join(runDir, 'plots', `${p}.svg`)), p);
  assert.ok(existsSync(path.join(r.finalCheckpoint, 'model.safetensors')));
  const res = JSON.parse(readFileSync(path.join(runDir, 'result.json'), 'utf8'));
  assert.equal(res.finalCheckpoint, r.finalCheckpoint);
  // The pipeline's ppo suite (what its eval workers run for heldoutEval "pipeline") scores a checkpoint as
  // the trainer's inline evaluation did: the same held-out prompts, reward model and normalisation.
  for (const e of res.evaluations as { iteration: number; checkpoint: string; reward: number; length: number }[]) {
    const s = await ppoSuite(e.checkpoint, { runDir });
    assert.ok(Math.abs(s.metrics.reward - e.reward) < 1e-4 && s.metrics.response_len === e.length, `iteration ${e.iteration}: suite ${JSON.stringify(s.metrics)} vs trainer ${JSON.stringify(e)}`);
  }
  assert.deepEqual(res.evaluations.map((e: { iteration: number }) => e.iteration), [0, 1, 2]);
  await assert.rejects(ppo({ policy: f.runDir, reward: f.rmDir, prompts: [f.prompts], runDir, klcoef: 0.1 }, { quiet: true }), /unknown field "klcoef"/);
});

test('--resume after a kill (even one before the iteration\'s metrics row was written) continues exactly as the uninterrupted run', async () => {
  const f = await tinyRl(dir);
  const cfg = (runDir: string) => ({
    policy: f.runDir, reward: f.rmDir, prompts: [f.prompts], runDir, iterations: 3, promptsPerIteration: 4, samplesPerPrompt: 2, maxNewTokens: 10,
    miniBatchSize: 4, epochs: 2, batchSize: 2, lr: 3e-4, evalEvery: 1, heldout: 4, seed: 5, patience: 10,
  });
  const full = await ppo(cfg(path.join(dir, 'full')), { quiet: true });
  const part = path.join(dir, 'part');
  await assert.rejects(ppo(cfg(part), { quiet: true, onIteration: (m) => { if (m.iteration === 2) throw new Error('killed'); } }), /killed/);
  // a kill between iteration 2's checkpoint and its metrics row
  const mf = path.join(part, 'metrics.jsonl');
  writeFileSync(mf, readFileSync(mf, 'utf8').trim().split('\n').slice(0, 1).join('\n') + '\n');
  const resumed = await ppo({ ...cfg(part), resume: true }, { quiet: true });
  const keys = ['reward', 'score', 'kl', 'response_len', 'policy_loss', 'value_loss', 'approx_kl', 'lr', 'heldout_reward', 'heldout_len'] as const;
  const pick = (m: object) => keys.map((k) => (m as Record<string, unknown>)[k]);
  assert.deepEqual(resumed.metrics.map((m) => m.iteration), [1, 2, 3]);
  assert.deepEqual(resumed.metrics.map(pick), full.metrics.map(pick));
  const rows = readFileSync(mf, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(rows.map((r) => r.iteration), [1, 2, 3]);
  assert.deepEqual(rows.map(pick), full.metrics.map(pick), 'the metrics file holds every iteration once');
  const a = loadModel(resumed.finalCheckpoint), b = loadModel(full.finalCheckpoint);
  for (const [name, t] of a.params) assert.ok(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(Buffer.from(b.param(name).data.buffer, b.param(name).data.byteOffset, b.param(name).data.byteLength)), `${name} differs`);
  assert.equal(path.basename(resumed.finalCheckpoint), path.basename(full.finalCheckpoint));
  await assert.rejects(ppo({ ...cfg(path.join(dir, 'empty')), resume: true }, { quiet: true }), /--resume: .*empty has no checkpoint to resume from/);
});

test('heldoutEval pipeline: training goes on while eval workers score checkpoints; the early stop reads their results in order, waits for the last, and resumes exactly', async () => {
  const f = await tinyRl(dir);
  // A stand-in for the pipeline's eval worker: it attaches a result to checkpoint k only once iteration k+1
  // has finished (they arrive late), with held-out rewards that peak at iteration 1 (patience 2 stops at 3's).
  const rewards = [0, 1, 0.5, 0.4, 0.3, 0.2, 0.1];
  const attach = (runDir: string, upTo: number) => {
    for (const c of listCheckpoints(runDir)) {
      if (c.step <= upTo && !readResult(c.dir, 'ppo')) writeResult(c.dir, { stage: 'ppo', step: c.step, hash: 'test', suite: 'ppo', metrics: { reward: rewards[c.step], response_len: 10, eos_fraction: 1, rep4: 0 }, worker: 'test', time: 0 });
    }
  };
  const cfg = (runDir: string) => ({
    policy: f.runDir, reward: f.rmDir, prompts: [f.prompts], runDir, iterations: 6, promptsPerIteration: 2, samplesPerPrompt: 2, maxNewTokens: 8,
    miniBatchSize: 4, epochs: 1, batchSize: 2, lr: 1e-4, evalEvery: 1, heldout: 2, seed: 4, patience: 2, heldoutEval: 'pipeline', heldoutWaitS: 30,
  });
  const full = path.join(dir, 'pipe-full');
  const r = await ppo(cfg(full), { quiet: true, onIteration: (m) => attach(full, m.iteration - 1) });
  assert.equal(r.metrics.length, 5, 'stopped after iteration 5, when checkpoint 3\'s result arrived');
  assert.match(r.stopReason ?? '', /not improved for 2 evaluations \(best 1\.0000 at iteration 1/);
  assert.deepEqual(r.metrics.map((m) => m.heldout_iteration ?? null), [null, 0, 1, 2, 3], 'each iteration reads the result that arrived during it');
  assert.equal(r.metrics[4].stop, r.stopReason);
  assert.equal(path.basename(r.finalCheckpoint), 'step-1');
  for (const m of r.metrics) assert.equal(m.first_ratio, 1);
  const res = JSON.parse(readFileSync(path.join(full, 'result.json'), 'utf8'));
  assert.equal(res.heldoutEval, 'pipeline');
  assert.deepEqual(res.evaluations.map((e: { iteration: number; reward: number }) => [e.iteration, e.reward]), [[0, 0], [1, 1], [2, 0.5], [3, 0.4]]);
  const state = JSON.parse(readFileSync(path.join(full, 'checkpoints', 'step-2', 'state.json'), 'utf8'));
  assert.equal((state.state ?? state).heldout, undefined, 'the trainer scored no held-out prompts itself');

  // Killed after iteration 4 (its checkpoint holds the results taken so far); the resumed run takes the
  // later ones again and stops where the uninterrupted run did, with the same best checkpoint.
  const part = path.join(dir, 'pipe-part');
  await assert.rejects(ppo(cfg(part), { quiet: true, onIteration: (m) => { attach(part, m.iteration - 1); if (m.iteration === 4) throw new Error('killed'); } }), /killed/);
  const resumed = await ppo({ ...cfg(part), resume: true }, { quiet: true, onIteration: (m) => attach(part, m.iteration - 1) });
  assert.deepEqual(resumed.metrics.map((m) => m.iteration), [1, 2, 3, 4, 5]);
  assert.equal(resumed.stopReason, r.stopReason);
  assert.equal(path.basename(resumed.finalCheckpoint), 'step-1');

  // No stop: after the last iteration the run waits for the results still out, then picks the best.
  const late = path.join(dir, 'pipe-late');
  const w = await ppo({ ...cfg(late), iterations: 2, patience: 5 }, { quiet: true, onIteration: (m) => { if (m.iteration === 2) setTimeout(() => attach(late, 2), 1500); } });
  assert.equal(w.stopReason, null);
  assert.deepEqual(JSON.parse(readFileSync(path.join(late, 'result.json'), 'utf8')).evaluations.map((e: { iteration: number }) => e.iteration), [0, 1, 2]);
  assert.equal(path.basename(w.finalCheckpoint), 'step-1');
  // ... and when none arrives in time, the last checkpoint is the result.
  const none = await ppo({ ...cfg(path.join(dir, 'pipe-none')), iterations: 1, heldoutWaitS: 0.5 }, { quiet: true });
  assert.equal(path.basename(none.finalCheckpoint), 'step-1');
});

// The alignment chain as a pipeline on the SQLite store: sft -> rm (built-in Korean pairs, the `pairs`
// suite on each checkpoint) -> ppo (built-in prompts, gated on the RM's held-out pair accuracy, the `ppo`
// suite on each checkpoint), and dpo beside it from the same sft model; a second PPO stage whose bar the RM
// cannot reach stays blocked.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadPlan } from '../../src/pipeline/plan.js';
import { runPipeline } from '../../src/pipeline/orchestrator.js';
import { readResult, runResults } from '../../src/pipeline/results.js';
import { readStatus } from '../../src/pipeline/status.js';
import { openStore } from '../../src/pipeline/store.js';
import { tinySource } from '../helpers/sft.js';

const dir = mkdtempSync(path.join(tmpdir(), 'hcx-align-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const flow = (v: unknown) => JSON.stringify(v);

function plan(source: string): string {
  const ppo = { prompts: 'builtin', promptCount: 24, iterations: 2, promptsPerIteration: 4, samplesPerPrompt: 2, maxNewTokens: 12, miniBatchSize: 4, epochs: 1, batchSize: 2, lr: 1e-4, evalEvery: 1, heldout: 4, seed: 2 };
  const file = path.join(dir, 'plan.yaml');
  writeFileSync(file, `name: align
dir: out
stages:
  sft:
    config: ${flow({ from: source, data: 'builtin', conversations: 60, seqLen: 128, batchSize: 8, steps: 30, lr: 2e-3, warmupSteps: 3, heldout: 8, evalEvery: 30, evalBatches: 1, saveEvery: 30, logEvery: 10 })}
  rm:
    after: sft
    config: ${flow({ data: 'builtin', questions: 40, seqLen: 128, heldout: 16, batchSize: 4, steps: 12, lr: 3e-3, warmupSteps: 0, evalEvery: 6, saveEvery: 6, normSamples: 4, normMaxNewTokens: 8 })}
    eval: [pairs]
  ppo:
    after: [sft, rm]
    gate: { stage: rm, suite: pairs, metric: accuracy, min: 0.6 }
    config: ${flow(ppo)}
    eval: [ppo]
  dpo:
    after: sft
    config: ${flow({ data: 'builtin', questions: 20, seqLen: 128, heldout: 8, batchSize: 4, steps: 4, lr: 1e-3, warmupSteps: 0, evalEvery: 4, saveEvery: 4 })}
    eval: [pairs]
  ppo_strict:
    kind: ppo
    after: [sft, rm]
    gate: { stage: rm, suite: pairs, metric: accuracy, min: 1.01 }
    config: ${flow(ppo)}
`);
  return file;
}

test('sft -> rm -> ppo runs by itself: builtin pairs and prompts, RM and PPO suites on every checkpoint, the gate on pair accuracy', { timeout: 300_000 }, async () => {
  const src = await tinySource(dir);
  const p = await loadPlan(plan(src.runDir));
  const store = await openStore(p.store);
  let res;
  try {
    res = await runPipeline(p, { store, evalWorkers: 1, log: () => {} });
  } finally {
    await store.close();
  }
  const by = Object.fromEntries(res.stages.map((s) => [s.name, s]));
  assert.deepEqual(res.stages.map((s) => [s.name, s.state]), [['sft', 'done'], ['rm', 'done'], ['ppo', 'done'], ['dpo', 'done'], ['ppo_strict', 'blocked']], JSON.stringify(res.stages.map((s) => s.error ?? s.reason)));
  assert.match(by.ppo_strict.reason ?? '', /gate: rm pairs\.accuracy = [\d.]+ is not >= 1\.01/);
  // dpo: from the sft stage's final checkpoint, on the pairs it built, with its held-out accuracy in the summary.
  const dpoCfg = JSON.parse(readFileSync(path.join(dir, 'out', 'dpo', 'config.json'), 'utf8'));
  assert.equal(dpoCfg.from, by.sft.output!.checkpoint);
  assert.ok(existsSync(path.join(dir, 'out', 'dpo', 'builtin-pairs.jsonl')));
  assert.equal((by.dpo.output!.summary as Record<string, number>).steps, 4);

  // rm: from the sft stage's final checkpoint, on the pairs it wrote into its folder; the pairs suite on its
  // final checkpoint rebuilds the same held-out split and agrees with the trainer's own figures.
  const rmOut = by.rm.output!, sftOut = by.sft.output!;
  const rmDir = path.join(dir, 'out', 'rm');
  assert.equal(rmOut.dir, rmDir);
  assert.ok(existsSync(path.join(rmDir, 'builtin-pairs.jsonl')));
  const rmCfg = JSON.parse(readFileSync(path.join(rmDir, 'config.json'), 'utf8'));
  assert.equal(rmCfg.from, sftOut.checkpoint);
  assert.equal(rmCfg.tokenizer, sftOut.files!.tokenizer);
  const s = rmOut.summary as Record<string, number>;
  assert.ok(s.accuracy >= 0.6, `held-out accuracy ${s.accuracy}`);
  const final = readResult(rmOut.checkpoint!, 'pairs')!;
  assert.equal(final.metrics.pairs, 16);
  assert.ok(Math.abs(final.metrics.accuracy - s.accuracy) < 1e-9 && Math.abs(final.metrics.margin - s.margin) < 1e-4, `${JSON.stringify(final.metrics)} vs ${JSON.stringify(s)}`);
  assert.deepEqual(runResults(rmDir, 'pairs').map((r) => r.step), [6, 12]);
  assert.deepEqual(by.rm.evals, { total: 2, done: 2, failed: 0 });

  // ppo: policy from sft, reward from rm; with the ppo suite in its eval list the run-level early stop reads
  // the eval workers' results (heldoutEval pipeline): every checkpoint (iteration 0 = the SFT policy, 1, 2)
  // got the suite, the trainer scored none itself, and it chose its best checkpoint from those results.
  const ppoDir = path.join(dir, 'out', 'ppo');
  const ppoCfg = JSON.parse(readFileSync(path.join(ppoDir, 'config.json'), 'utf8'));
  assert.equal(ppoCfg.policy, sftOut.checkpoint);
  assert.equal(ppoCfg.reward, rmOut.checkpoint);
  assert.equal(ppoCfg.heldoutEval, 'pipeline');
  assert.ok(existsSync(path.join(ppoDir, 'builtin-prompts.jsonl')));
  const ps = by.ppo.output!.summary as Record<string, number>;
  for (const k of ['reward', 'kl', 'response_len', 'heldout_reward']) assert.ok(Number.isFinite(ps[k]), `${k}: ${ps[k]}`);
  assert.equal(ps.iterations, 2);
  const suite = runResults(ppoDir, 'ppo');
  assert.deepEqual(suite.map((r) => r.step), [0, 1, 2]);
  const result = JSON.parse(readFileSync(path.join(ppoDir, 'result.json'), 'utf8'));
  assert.deepEqual(result.evaluations.map((e: { iteration: number; reward: number }) => [e.iteration, e.reward]), suite.map((r) => [r.step, r.metrics.reward]));
  const best = suite.reduce((a, b) => (b.metrics.reward > a.metrics.reward ? b : a));
  assert.equal(result.best.iteration, best.step);
  assert.equal(by.ppo.output!.checkpoint, path.join(ppoDir, 'checkpoints', `step-${best.step}`));
  for (const r of suite) {
    const state = JSON.parse(readFileSync(path.join(ppoDir, 'checkpoints', `step-${r.step}`, 'state.json'), 'utf8'));
    assert.equal((state.state ?? state).heldout, undefined);
    assert.equal(r.metrics.prompts, 4);
  }
  // progress lines of both stages went to their logs
  const logs = readdirSync(path.join(dir, 'out', 'logs'));
  const logOf = (stage: string) => readFileSync(path.join(dir, 'out', 'logs', logs.find((f) => f.startsWith(`stage_${stage}_`))!), 'utf8');
  assert.match(logOf('rm'), /rm: held-out accuracy [\d.]+ margin/);
  assert.match(logOf('ppo'), /"iteration":2,"reward":/);
  assert.match(logOf('ppo'), /ppo eval @0 \(pipeline eval worker, read after iteration \d+\)/);

  // the store agrees: a rerun of the finished plan queues nothing
  const store2 = await openStore(p.store);
  try {
    const st = await readStatus(store2);
    assert.equal(st.results.filter((r) => r.stage === 'ppo').length, 3);
    const again = await runPipeline(p, { store: store2, evalWorkers: 0, log: () => {} });
    assert.deepEqual(again.stages.map((x) => x.attempts), [1, 1, 1, 1, undefined]);
  } finally {
    await store2.close();
  }
});

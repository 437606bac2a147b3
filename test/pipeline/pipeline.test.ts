// End to end, over both stores: a plan runs tokenizer -> data -> pretrain while workers evaluate each
// checkpoint asynchronously; results land in the checkpoint folders and the store; a gate blocks or
// lets through a stage on an evaluation; re-running does nothing; a config change reruns downstream.
// With Redis, two separate worker processes share the evaluations.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readJournal } from '../../src/pipeline/checkpoint_events.js';
import { latestEvalResult, runResults } from '../../src/pipeline/results.js';
import { backends } from './stores.js';
import { hcx, outcome, runPlan, status, tinyPlan, traceCounts, writeCorpus } from './fixture.js';

const GATES = `  gated_ok:
    kind: eval
    config: { suites: [heldout] }
    gate: { stage: pretrain, suite: heldout, metric: loss, max: 100 }
  gated_off:
    kind: eval
    config: { suites: [heldout] }
    gate: { stage: pretrain, suite: heldout, metric: loss, max: 0.01 }
`;

/** Resolves once the worker process says it serves its queue. */
function serving(w: ReturnType<typeof hcx>): Promise<void> {
  return new Promise((res, rej) => {
    let err = '';
    const t = setTimeout(() => rej(new Error(`worker did not start: ${err}`)), 30_000);
    w.child.stderr!.on('data', (b: Buffer) => { err += b.toString(); if (/serving queue/.test(err)) { clearTimeout(t); res(); } });
  });
}

const outcomes: Record<string, ReturnType<typeof outcome>> = {};

for (const b of backends()) {
  describe(`pipeline run: ${b.name}`, { skip: b.skip }, () => {
    const dir = mkdtempSync(path.join(tmpdir(), `hcx-pipe-${b.name}-`));
    after(async () => { rmSync(dir, { recursive: true, force: true }); await b.teardown(); });

    test('runs the plan, evaluates every checkpoint on workers, gates, and re-runs nothing', { timeout: 180_000 }, async () => {
      writeCorpus(dir);
      const store = await b.freshUrl();
      tinyPlan(dir, { store, extra: GATES });
      const traceFile = path.join(dir, 'trace.txt');
      const env = { HCX_PIPELINE_TRACE: traceFile };
      // Redis: the orchestrator runs no evaluation itself; two worker processes share them.
      // Both are up and polling often before the plan starts, so each checkpoint's two evaluations go one to each.
      const workers = b.name === 'redis' ? [1, 2].map((i) => hcx(['pipeline', 'worker', '--queue', 'eval', '--store', store, '--name', `w${i}`, '--lease-ms', '1500', '--poll-ms', '50'], dir, env)) : [];
      await Promise.all(workers.map((w) => serving(w)));
      const r = await runPlan(dir, env, b.name === 'redis' ? ['--eval-workers', '0'] : []);
      for (const w of workers) w.child.kill('SIGTERM');
      await Promise.all(workers.map((w) => w.done));
      assert.equal(r.code, 0, r.err.slice(-3000));
      assert.match(r.out, /pretrain\s+pretrain\s+done\s+1\s+6\/6/);
      const st = await status(dir, store);
      const byName = Object.fromEntries(st.stages.map((s) => [s.name, s]));
      assert.deepEqual(st.stages.map((s) => [s.name, s.state]), [['tokenizer', 'done'], ['data', 'done'], ['pretrain', 'done'], ['gated_ok', 'done'], ['gated_off', 'blocked']]);
      assert.match(byName.gated_off.reason ?? '', /gate: pretrain heldout\.loss = [\d.]+ is not <= 0\.01/);
      assert.deepEqual(byName.pretrain.evals, { total: 6, done: 6, failed: 0 });
      const runDir = path.join(dir, 'out', 'pretrain');
      assert.deepEqual(readJournal(runDir).map((e) => e.step), [4, 8, 12], 'one checkpoint.saved event per checkpoint');
      assert.deepEqual(st.results.map((x) => [x.step, x.suite]).sort(), [[12, 'generate'], [12, 'heldout'], [4, 'generate'], [4, 'heldout'], [8, 'generate'], [8, 'heldout']].sort());
      assert.deepEqual(runResults(runDir).map((x) => [x.step, x.suite, x.metrics]), [...st.results].sort((x, y) => x.step - y.step || (x.suite < y.suite ? -1 : 1)).map((x) => [x.step, x.suite, x.metrics]), 'checkpoint folders hold the store\'s results');
      const latest = latestEvalResult(runDir, 'heldout');
      assert.equal(latest?.step, 12);
      assert.ok(latest!.metrics.loss > 0 && latest!.metrics.perplexity === Math.exp(latest!.metrics.loss));
      const h4 = st.results.find((x) => x.step === 4 && x.suite === 'heldout')!.metrics.loss;
      assert.ok(latest!.metrics.loss < h4, `held-out loss falls over training: ${h4} -> ${latest!.metrics.loss}`);
      if (b.name === 'redis') assert.deepEqual([...new Set(st.results.map((x) => x.worker))].sort(), ['w1', 'w2'], 'both worker processes took evaluations');
      const counts = traceCounts(traceFile);
      assert.deepEqual([...counts.values()].filter((n) => n !== 1), [], 'every stage and evaluation ran to completion once');
      assert.equal([...counts.keys()].filter((k) => k.startsWith('eval.done')).length, 6, 'two suites on each of three checkpoints');
      assert.equal(counts.get('stage.done gated_ok'), 1);
      outcomes[b.name] = outcome(dir, st);

      // Re-running the finished plan does nothing.
      const again = await runPlan(dir, env);
      assert.equal(again.code, 0, again.err);
      assert.doesNotMatch(again.err, /queued|started/);
      assert.deepEqual(traceCounts(traceFile), counts);

      // A changed pretraining config reruns pretraining (and its evaluations), not the tokenizer or data.
      tinyPlan(dir, { store, extra: GATES, pretrainExtra: ', lr: 0.002' });
      const changed = await runPlan(dir, env);
      assert.equal(changed.code, 0, changed.err.slice(-3000));
      assert.match(changed.err, /stage pretrain: queued/);
      assert.doesNotMatch(changed.err, /stage (tokenizer|data): queued/);
      const c2 = traceCounts(traceFile);
      assert.equal(c2.get('stage.done tokenizer'), 1);
      assert.equal(c2.get('stage.done pretrain'), 2);
      const losses = readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).step);
      assert.deepEqual(losses, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 'the rerun started over, not after the old run');
    });
  });
}

test('both stores give the same pipeline outcome', { skip: backends()[1].skip }, () => {
  if (!outcomes.sqlite || !outcomes.redis) return; // one of the runs failed and said so
  assert.deepEqual(outcomes.redis, outcomes.sqlite);
});

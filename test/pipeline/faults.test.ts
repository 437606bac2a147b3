// Faults: kill -9 (SIGKILL at deterministic crash points, and at random times) the stage process, an
// evaluation worker or the orchestrator itself, then restart. Afterwards no checkpoint event is lost,
// no evaluation and no stage ran twice to completion, and the results equal an uninterrupted run's.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readJournal } from '../../src/pipeline/checkpoint_events.js';
import { openStore } from '../../src/pipeline/store.js';
import { hcx, outcome, runPlan, status, tinyPlan, traceCounts, writeCorpus } from './fixture.js';

const root = mkdtempSync(path.join(tmpdir(), 'hcx-faults-'));
after(() => rmSync(root, { recursive: true, force: true }));

const template = path.join(root, 'template');
writeCorpus(template);
tinyPlan(template);

let baseline: ReturnType<typeof outcome> | undefined;

async function fresh(name: string): Promise<string> {
  const dir = path.join(root, name);
  cpSync(template, dir, { recursive: true });
  return dir;
}

async function check(dir: string, label: string): Promise<void> {
  const st = await status(dir);
  const got = outcome(dir, st);
  assert.deepEqual(got, baseline, `${label}: same stages, losses and evaluation results as the uninterrupted run`);
  const counts = traceCounts(path.join(dir, 'trace.txt'));
  assert.deepEqual([...counts].filter(([, n]) => n !== 1), [], `${label}: nothing ran twice to completion`);
  assert.equal([...counts.keys()].filter((k) => k.startsWith('stage.done')).length, 3, `${label}: every stage completed`);
  assert.equal([...counts.keys()].filter((k) => k.startsWith('eval.done')).length, 6, `${label}: every evaluation completed`);
  const store = await openStore(`sqlite:${path.join(dir, 'out', 'pipeline.db')}`);
  const events = await store.readEvents(0);
  await store.close();
  assert.deepEqual(events.map((e) => e.key).sort(), readJournal(path.join(dir, 'out', 'pretrain')).map((e) => `ckpt|pretrain|${e.step}|${e.hash}`).sort(), `${label}: every journal event is in the store`);
  assert.deepEqual(events.map((e) => (e.data as { step: number }).step).sort((a, b) => a - b), [4, 8, 12], `${label}: no event lost`);
}

test('uninterrupted run (the reference)', { timeout: 120_000 }, async () => {
  const dir = await fresh('baseline');
  const r = await runPlan(dir, { HCX_PIPELINE_TRACE: path.join(dir, 'trace.txt') });
  assert.equal(r.code, 0, r.err.slice(-3000));
  baseline = outcome(dir, await status(dir));
  assert.equal(baseline.results.length, 6);
});

// Kills inside the stage process or an eval worker: the orchestrator survives and retries the job.
const inRun: [string, string][] = [
  ['checkpoint.write@2', 'while the step-8 checkpoint is being written'],
  ['checkpoint.marker@2', 'between the step-8 marker and its event'],
  ['checkpoint.event@3', 'right after the last event, before training returns'],
  ['stage.start@1', 'as the tokenizer stage starts'],
  ['stage.finished@1', 'after a stage recorded its output, before reporting it'],
  ['eval.item@3', 'in the middle of an evaluation'],
  ['eval.written@2', 'after an evaluation attached its result, before it was marked done'],
];

for (const [point, what] of inRun) {
  test(`kill -9 ${what} (${point})`, { timeout: 120_000 }, async () => {
    assert.ok(baseline, 'the reference run failed');
    const dir = await fresh(point.replace(/[^a-z0-9]+/gi, '-'));
    const r = await runPlan(dir, { HCX_PIPELINE_TRACE: path.join(dir, 'trace.txt'), HCX_CRASH_AT: point });
    // A stage process writes to its job log, an eval worker to the orchestrator's stderr.
    const logs = readdirSync(path.join(dir, 'out', 'logs')).map((f) => readFileSync(path.join(dir, 'out', 'logs', f), 'utf8')).join('\n');
    assert.ok((r.err + logs).includes(`crash point ${point.split('@')[0]}`), `the crash point ${point} was reached`);
    assert.equal(r.code, 0, r.err.slice(-3000));
    await check(dir, point);
  });
}

// Kills of the orchestrator itself: its stage process and eval workers exit with it; a restart finishes.
const orchestratorPoints: [string, string][] = [
  ['orchestrator.stage-queued@2', 'the orchestrator, as the data stage starts'],
  ['orchestrator.ingest@2', 'the orchestrator, between journaling an event and queuing its evaluations'],
];

for (const [point, what] of orchestratorPoints) {
  test(`kill -9 ${what} (${point}), then restart`, { timeout: 120_000 }, async () => {
    assert.ok(baseline, 'the reference run failed');
    const dir = await fresh(point.replace(/[^a-z0-9]+/gi, '-'));
    const env = { HCX_PIPELINE_TRACE: path.join(dir, 'trace.txt') };
    const killed = await runPlan(dir, { ...env, HCX_CRASH_AT: point });
    assert.equal(killed.code, 'SIGKILL', killed.err.slice(-2000));
    const r = await runPlan(dir, env);
    assert.equal(r.code, 0, r.err.slice(-3000));
    await check(dir, point);
  });
}

test('kill -9 the orchestrator at random times, twice, then let it finish', { timeout: 180_000 }, async () => {
  assert.ok(baseline, 'the reference run failed');
  const dir = await fresh('random');
  const env = { HCX_PIPELINE_TRACE: path.join(dir, 'trace.txt') };
  for (const delay of [800 + Math.random() * 1500, 500 + Math.random() * 2500]) {
    const run = hcx(['pipeline', 'run', 'plan.yaml'], dir, env);
    await new Promise((r) => setTimeout(r, delay));
    run.child.kill('SIGKILL');
    await run.done;
  }
  const r = await runPlan(dir, env);
  assert.equal(r.code, 0, r.err.slice(-3000));
  await check(dir, 'random kills');
});

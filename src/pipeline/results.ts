// Evaluation results attached to checkpoints: one file per suite in the checkpoint's folder
// (CHECKPOINT/eval/SUITE.json, written atomically) and the same record in the store. The reader API
// lets a training loop (PPO's run-level early stopping) ask for the latest results of its own
// checkpoints while it trains, without a connection to the store.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { listCheckpoints } from '../model/checkpoint.js';
import { writeJsonAtomic } from '../util/atomic.js';
import type { Json } from './store.js';

export interface EvalResult {
  stage: string;
  step: number;
  /** Content hash of the checkpoint evaluated (checkpoint_events.checkpointHash). */
  hash: string;
  suite: string;
  metrics: Record<string, number>;
  samples?: Json;
  worker: string;
  time: number;
}

export const resultFile = (ckDir: string, suite: string): string => path.join(ckDir, 'eval', `${suite}.json`);

export function writeResult(ckDir: string, r: EvalResult): void {
  writeJsonAtomic(resultFile(ckDir, r.suite), r);
}

export function readResult(ckDir: string, suite: string): EvalResult | null {
  const f = resultFile(ckDir, suite);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as EvalResult) : null;
}

/** Every suite's result attached to one checkpoint. */
export function checkpointResults(ckDir: string): Record<string, EvalResult> {
  const d = path.join(ckDir, 'eval');
  if (!existsSync(d)) return {};
  return Object.fromEntries(readdirSync(d).filter((f) => f.endsWith('.json')).map((f) => [f.slice(0, -5), JSON.parse(readFileSync(path.join(d, f), 'utf8')) as EvalResult]));
}

/** Results of a run's checkpoints still on disk, oldest step first (those not evaluated yet are absent). */
export function runResults(runDir: string, suite?: string): EvalResult[] {
  const out: EvalResult[] = [];
  for (const c of listCheckpoints(runDir)) {
    for (const r of Object.values(checkpointResults(c.dir))) if (!suite || r.suite === suite) out.push(r);
  }
  return out.sort((a, b) => a.step - b.step || (a.suite < b.suite ? -1 : 1));
}

/** The newest evaluated checkpoint's result for a suite, or null while none has been evaluated. */
export function latestEvalResult(runDir: string, suite: string): EvalResult | null {
  const all = runResults(runDir, suite);
  return all.length ? all[all.length - 1] : null;
}

export const resultKey = (stage: string, step: number, suite: string): string => `${stage}|${String(step).padStart(9, '0')}|${suite}`;

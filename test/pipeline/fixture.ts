// A tiny plan (tokenizer -> data -> pretrain with heldout and generate on each of 3 checkpoints) and
// helpers to run `hcx pipeline` as a child process and read back what it left.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/data/hashing.js';
import { koreanDoc } from '../../src/data/corpus/korean.js';
import { englishDoc } from '../../src/data/corpus/english.js';

export const HCX = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/hcx.js');

export function writeCorpus(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(11);
  const docs = Array.from({ length: 24 }, (_, i) => (i % 2 ? englishDoc(rng) : koreanDoc(rng)).replace(/\n\n/g, '\n'));
  writeFileSync(path.join(dir, 'corpus.txt'), docs.join('\n\n'));
}

export interface PlanOptions { store?: string; steps?: number; extra?: string; pretrainExtra?: string }

export function tinyPlan(dir: string, o: PlanOptions = {}): string {
  const file = path.join(dir, 'plan.yaml');
  writeFileSync(file, `name: tiny
dir: out
${o.store ? `store: ${o.store}\n` : ''}stages:
  tokenizer:
    config: { vocabSize: 300, texts: [corpus.txt], split: rules }
  data:
    after: tokenizer
    config:
      sources: [{ path: corpus.txt, docMode: blankline }]
      packing: { seqLen: 32, longFactor: 2, longShare: 0.1, shardTokens: 4000 }
  pretrain:
    after: data
    config: { model: { preset: test, maxSeqLen: 64 }, batchSize: 4, steps: ${o.steps ?? 12}, warmupSteps: 2, evalEvery: 6, heldoutRecords: 4, evalBatches: 1, saveEvery: 4, seed: 3${o.pretrainExtra ?? ''} }
    eval: [heldout, generate]
${o.extra ?? ''}`);
  return file;
}

export interface Run { child: ChildProcess; done: Promise<{ code: number | string; out: string; err: string }> }

export function hcx(args: string[], cwd: string, env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [HCX, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HCX_THREADS: '1', HCX_PIPELINE_LEASE_MS: '1500', ...env } });
  let out = '', err = '';
  child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
  const done = new Promise<{ code: number | string; out: string; err: string }>((res) => child.on('close', (c, sig) => res({ code: c ?? sig ?? -1, out, err })));
  return { child, done };
}

export async function runPlan(dir: string, env: Record<string, string> = {}, extraArgs: string[] = []): Promise<{ code: number | string; out: string; err: string }> {
  return hcx(['pipeline', 'run', 'plan.yaml', ...extraArgs], dir, env).done;
}

export interface StatusJson {
  stages: { name: string; state: string; attempts?: number; evals: { total: number; done: number; failed: number }; output?: { summary?: Record<string, unknown> }; reason?: string }[];
  results: { stage: string; step: number; suite: string; hash: string; metrics: Record<string, number>; worker: string }[];
  jobs: { id: string; state: string; attempts: number; worker?: string }[];
}

export async function status(dir: string, store?: string): Promise<StatusJson> {
  const r = await hcx(['pipeline', 'status', ...(store ? ['--store', store] : ['plan.yaml']), '--json'], dir).done;
  if (r.code !== 0) throw new Error(`hcx pipeline status failed: ${r.err}`);
  return JSON.parse(r.out) as StatusJson;
}

/** What an uninterrupted run and a run with kills must agree on. */
export function outcome(dir: string, st: StatusJson) {
  const metrics = readFileSync(path.join(dir, 'out', 'pretrain', 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { step: number; loss: number; eval_loss?: number });
  const results = st.results.map((r) => ({ stage: r.stage, step: r.step, suite: r.suite, hash: r.hash, metrics: r.metrics })).sort((a, b) => a.step - b.step || (a.suite < b.suite ? -1 : 1));
  const files = results.map((r) => {
    const f = path.join(dir, 'out', 'pretrain', 'checkpoints', `step-${r.step}`, 'eval', `${r.suite}.json`);
    return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as { metrics: unknown }).metrics : null;
  });
  return {
    stages: st.stages.map((s) => [s.name, s.state, s.evals]),
    losses: metrics.map((m) => [m.step, m.loss, m.eval_loss ?? null]),
    results, files,
  };
}

/** Lines of the trace file: how often each stage and evaluation ran to completion. */
export function traceCounts(file: string): Map<string, number> {
  const counts = new Map<string, number>();
  if (!existsSync(file)) return counts;
  for (const l of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const [what, id] = l.split(' ');
    counts.set(`${what} ${id}`, (counts.get(`${what} ${id}`) ?? 0) + 1);
  }
  return counts;
}

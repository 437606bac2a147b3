// The orchestrator: walks the plan in dependency order, starts a stage (enqueues its job, keyed by the
// stage key) once its upstream stages are done and its gate passes, and turns each running stage's
// checkpoint.saved events into evaluation jobs for other workers. Everything it does is idempotent, so
// a restarted orchestrator (after kill -9) picks up exactly where the store says the pipeline is.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readJournal, readMarker } from './checkpoint_events.js';
import { evalJobHandler, evalJobId, type EvalPayload } from './eval_job.js';
import { stageDir, stageKeys, substitute, type Plan, type PlanStage } from './plan.js';
import { resultKey, type EvalResult } from './results.js';
import { stageJobHandler, type StagePayload } from './stage_job.js';
import type { StageOutput } from './stages.js';
import { openStore, type Json, type Store } from './store.js';
import { runWorker, type WorkerOptions } from './worker.js';
import { crashPoint } from '../util/crash.js';

export type StageState = 'waiting' | 'queued' | 'running' | 'done' | 'failed' | 'blocked';

export interface StageStatus {
  name: string; kind: string; key: string; jobId: string; dir: string; after: string[]; state: StageState;
  reason?: string; attempts?: number; output?: StageOutput; error?: string;
  evals: { total: number; done: number; failed: number };
}

export interface RunOptions {
  store?: Store;
  log?: (line: string) => void;
  /** Lease of every job (default 30 s; HCX_PIPELINE_LEASE_MS overrides). */
  leaseMs?: number;
  pollMs?: number;
  /** Run stage jobs in this process's own worker (default true); false leaves them to `hcx pipeline worker --queue train`. */
  trainWorker?: boolean;
  /** Evaluation worker processes to start beside the orchestrator (default 1; 0: external workers only). */
  evalWorkers?: number;
  /** Called after each pass with the stage table. */
  onTick?: (stages: StageStatus[]) => void;
  signal?: AbortSignal;
}

const HCX_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/hcx.js');
export const TRAIN_QUEUE = 'train', EVAL_QUEUE = 'eval';

export const leaseFromEnv = (fallback: number): number => Number(process.env.HCX_PIPELINE_LEASE_MS) || fallback;

/** Reads the stage key a stage folder was last started with (stage_process writes it). */
function folderKey(dir: string): string | undefined {
  const f = path.join(dir, 'stage.json');
  try {
    return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as { key: string }).key : undefined;
  } catch {
    return undefined;
  }
}

export class Orchestrator {
  private ingested = new Set<string>();
  private evalIds = new Map<string, Set<string>>();

  constructor(readonly plan: Plan, readonly store: Store, private log: (l: string) => void) {}

  /** One pass over the plan; returns every stage's status. */
  async tick(): Promise<StageStatus[]> {
    const keys = stageKeys(this.plan);
    const byName = new Map<string, StageStatus>();
    for (const s of this.plan.stages) {
      const key = keys.get(s.name)!;
      const st: StageStatus = { name: s.name, kind: s.kind, key, jobId: `stage|${s.name}|${key}`, dir: stageDir(this.plan, s), after: s.after, state: 'waiting', evals: { total: 0, done: 0, failed: 0 } };
      byName.set(s.name, st);
      const deps = s.after.map((d) => byName.get(d)!);
      const bad = deps.find((d) => d.state === 'failed' || d.state === 'blocked');
      if (bad) { st.state = 'blocked'; st.reason = `upstream ${bad.name} ${bad.state}`; }
      else if (deps.some((d) => d.state !== 'done')) st.reason = `after ${deps.filter((d) => d.state !== 'done').map((d) => d.name).join(', ')}`;
      else if (s.gate && !(await this.gatePasses(s, byName, st))) { /* gatePasses set state and reason */ }
      else await this.startOrFollow(s, st, deps);
      if (s.eval.length && (st.state === 'running' || st.state === 'done') && folderKey(st.dir) === key) await this.ingest(s, st);
      st.evals = await this.evalProgress(s.name);
      await this.store.put('stages', s.name, st as unknown as Json);
    }
    return [...byName.values()];
  }

  private async gatePasses(s: PlanStage, byName: Map<string, StageStatus>, st: StageStatus): Promise<boolean> {
    const g = s.gate!;
    const up = byName.get(g.stage)!;
    const ck = up.output?.checkpoint;
    const m = ck ? readMarker(ck) : null;
    if (!ck || !m) { st.state = 'blocked'; st.reason = `gate: ${g.stage} left no announced checkpoint`; return false; }
    const r = (await this.store.get('results', resultKey(g.stage, m.step, g.suite))) as unknown as EvalResult | undefined;
    if (!r || r.hash !== m.hash) { st.reason = `gate: waiting for ${g.suite} on ${g.stage} step ${m.step}`; return false; }
    const v = r.metrics[g.metric];
    const bar = g.min !== undefined ? `>= ${g.min}` : '';
    const bar2 = g.max !== undefined ? `<= ${g.max}` : '';
    const ok = typeof v === 'number' && (g.min === undefined || v >= g.min) && (g.max === undefined || v <= g.max);
    if (!ok) { st.state = 'blocked'; st.reason = `gate: ${g.stage} ${g.suite}.${g.metric} = ${v} is not ${[bar, bar2].filter(Boolean).join(' and ')}`; }
    return ok;
  }

  private async startOrFollow(s: PlanStage, st: StageStatus, deps: StageStatus[]): Promise<void> {
    let job = await this.store.getJob(st.jobId);
    if (!job) {
      const outputs = Object.fromEntries(deps.map((d) => [d.name, d.output as unknown as Record<string, unknown>]));
      const payload: StagePayload = {
        name: s.name, kind: s.kind, key: st.key, config: substitute(s.config, outputs, s.where) as Record<string, unknown>,
        dir: st.dir, cwd: this.plan.baseDir, where: s.where, pipelineDir: this.plan.dir,
        inputs: Object.fromEntries(deps.map((d) => [d.name, { kind: d.kind, output: d.output! }])), suites: s.eval,
      };
      if (await this.store.enqueue({ id: st.jobId, queue: TRAIN_QUEUE, kind: 'stage', payload: payload as unknown as Json, maxAttempts: s.maxAttempts, retryDelayMs: 500 })) {
        this.log(`stage ${s.name}: queued (key ${st.key})`);
        crashPoint('orchestrator.stage-queued');
      }
      job = await this.store.getJob(st.jobId);
    }
    if (!job) return;
    st.attempts = job.attempts;
    st.state = job.state;
    if (job.state === 'done') st.output = job.result as unknown as StageOutput;
    if (job.state === 'failed') { st.error = job.error; st.reason = (job.error ?? '').split('\n')[0]; }
  }

  /** checkpoint.saved events of a stage's journal -> store journal + one eval job per suite. */
  private async ingest(s: PlanStage, st: StageStatus): Promise<void> {
    for (const ev of readJournal(st.dir)) {
      const k = `ckpt|${s.name}|${ev.step}|${ev.hash}`;
      if (this.ingested.has(k)) continue;
      const dir = path.resolve(st.dir, ev.dir);
      const { fresh } = await this.store.appendEvent(k, ev.type, { stage: s.name, runDir: st.dir, step: ev.step, dir, hash: ev.hash, time: ev.time });
      if (fresh) this.log(`stage ${s.name}: checkpoint step ${ev.step} saved; evaluating ${s.eval.join(', ')}`);
      crashPoint('orchestrator.ingest'); // an event in the store journal whose eval jobs are not queued yet
      const ids = this.evalIds.get(s.name) ?? new Set<string>();
      for (const suite of s.eval) {
        const p: EvalPayload = { stage: s.name, runDir: st.dir, step: ev.step, dir, hash: ev.hash, suite };
        const id = evalJobId(p);
        await this.store.enqueue({ id, queue: EVAL_QUEUE, kind: 'eval', payload: p as unknown as Json, maxAttempts: 3, retryDelayMs: 500 });
        ids.add(id);
      }
      this.evalIds.set(s.name, ids);
      this.ingested.add(k);
    }
  }

  private async evalProgress(stage: string): Promise<StageStatus['evals']> {
    const ids = this.evalIds.get(stage);
    const out = { total: 0, done: 0, failed: 0 };
    if (!ids) return out;
    for (const id of ids) {
      const j = await this.store.getJob(id);
      out.total++;
      if (j?.state === 'done') out.done++;
      if (j?.state === 'failed') out.failed++;
    }
    return out;
  }
}

export const finished = (stages: StageStatus[]): boolean =>
  stages.every((s) => ['done', 'failed', 'blocked'].includes(s.state) && s.evals.done + s.evals.failed === s.evals.total);

/** Evaluation worker processes that are started again when one dies (not while stopping). */
class EvalWorkers {
  private children = new Set<ChildProcess>();
  private stopping = false;

  constructor(private storeUrl: string, private leaseMs: number, private log: (l: string) => void) {}

  start(generation = 1): void {
    if (this.stopping) return;
    const { HCX_CRASH_AT: _c, ...calm } = process.env; // fault tests' crash points apply to the first generation only
    const child = spawn(process.execPath, [HCX_BIN, 'pipeline', 'worker', '--queue', EVAL_QUEUE, '--store', this.storeUrl, '--lease-ms', String(this.leaseMs), '--parent', String(process.pid)],
      { stdio: ['ignore', 'ignore', 'pipe'], env: generation === 1 ? process.env : calm });
    child.stderr!.on('data', (b: Buffer) => { for (const l of b.toString().split('\n')) if (l.trim()) this.log(l); });
    this.children.add(child);
    child.on('exit', (code, sig) => {
      this.children.delete(child);
      if (this.stopping) return;
      this.log(`eval worker ${child.pid} exited (${code ?? sig}); starting another`);
      this.start(generation + 1);
    });
  }

  stop(): void {
    this.stopping = true;
    for (const c of this.children) c.kill('SIGTERM');
  }
}

/** Runs a plan to the end: every stage done, failed or blocked, and every checkpoint evaluated. */
export async function runPipeline(plan: Plan, o: RunOptions = {}): Promise<{ stages: StageStatus[]; ok: boolean }> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const store = o.store ?? (await openStore(plan.store));
  const leaseMs = o.leaseMs ?? leaseFromEnv(30_000);
  const orch = new Orchestrator(plan, store, log);
  const record = { name: plan.name, file: plan.file, dir: plan.dir, store: plan.store, stages: plan.stages.map((s) => s.name), started: Date.now() };
  await store.put('pipeline', 'plan', record);
  const stop = new AbortController();
  o.signal?.addEventListener('abort', () => stop.abort(), { once: true });
  const common: Omit<WorkerOptions, 'queue' | 'handlers'> = { store, leaseMs, signal: stop.signal, log: (l) => log(`[worker] ${l}`) };
  const workers: Promise<void>[] = [];
  if (o.trainWorker ?? true) workers.push(runWorker({ ...common, queue: TRAIN_QUEUE, handlers: { stage: stageJobHandler(store) } }));
  const evalWorkers = new EvalWorkers(plan.store, leaseMs, log);
  for (let i = 0; i < (o.evalWorkers ?? 1); i++) evalWorkers.start();
  let stages: StageStatus[] = [];
  try {
    for (;;) {
      stages = await orch.tick();
      o.onTick?.(stages);
      if (finished(stages) || stop.signal.aborted) break;
      await new Promise((r) => setTimeout(r, o.pollMs ?? 200));
    }
  } finally {
    stop.abort();
    evalWorkers.stop();
    await Promise.all(workers);
    await store.put('pipeline', 'plan', { ...record, finished: Date.now() });
    if (!o.store) await store.close();
  }
  return { stages, ok: stages.every((s) => s.state === 'done' || s.state === 'blocked') };
}

export { evalJobHandler };

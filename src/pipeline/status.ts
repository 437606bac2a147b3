// The pipeline's state as the store has it: the plan's stages with their state, and the evaluation
// results per checkpoint; as a table for the terminal or one JSON document.
import type { StageStatus } from './orchestrator.js';
import type { EvalResult } from './results.js';
import type { JobRecord, Store } from './store.js';

export interface PipelineStatus {
  plan: { name: string; file: string; dir: string; store: string; stages: string[]; started?: number; finished?: number } | null;
  stages: StageStatus[];
  results: EvalResult[];
  jobs: Pick<JobRecord, 'id' | 'queue' | 'kind' | 'state' | 'attempts' | 'worker' | 'error'>[];
}

export async function readStatus(store: Store): Promise<PipelineStatus> {
  const plan = (await store.get('pipeline', 'plan')) as PipelineStatus['plan'] | undefined;
  const byName = new Map((await store.entries('stages')).map(([k, v]) => [k, v as unknown as StageStatus]));
  const order = plan?.stages ?? [...byName.keys()];
  const stages = order.map((n) => byName.get(n)).filter((s): s is StageStatus => !!s);
  const results = (await store.entries('results')).map(([, v]) => v as unknown as EvalResult);
  const jobs = (await store.listJobs()).map(({ id, queue, kind, state, attempts, worker, error }) => ({ id, queue, kind, state, attempts, ...(worker ? { worker } : {}), ...(error ? { error } : {}) }));
  return { plan: plan ?? null, stages, results, jobs };
}

const fmt = (v: unknown): string => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : v === null || v === undefined ? '' : String(v));

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

export function stageTable(stages: StageStatus[]): string {
  return table(['stage', 'kind', 'state', 'tries', 'evals', 'result', 'note'], stages.map((s) => [
    s.name, s.kind, s.state, s.attempts ? String(s.attempts) : '', s.evals.total ? `${s.evals.done}/${s.evals.total}${s.evals.failed ? ` (${s.evals.failed} failed)` : ''}` : '',
    Object.entries(s.output?.summary ?? {}).filter(([, v]) => typeof v === 'number').slice(0, 3).map(([k, v]) => `${k} ${fmt(v)}`).join(', '),
    s.reason ?? '',
  ]));
}

export function resultsTable(results: EvalResult[]): string {
  if (!results.length) return '(no evaluation results yet)';
  const sorted = [...results].sort((a, b) => (a.stage < b.stage ? -1 : a.stage > b.stage ? 1 : a.step - b.step || (a.suite < b.suite ? -1 : 1)));
  return table(['stage', 'step', 'suite', 'metrics'], sorted.map((r) => [r.stage, String(r.step), r.suite, Object.entries(r.metrics).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')]));
}

export function formatStatus(s: PipelineStatus): string {
  const head = s.plan ? `pipeline ${s.plan.name} (${s.plan.file}); store ${s.plan.store}${s.plan.finished ? '; finished' : ''}` : 'pipeline (no plan recorded in this store yet)';
  const failed = s.jobs.filter((j) => j.state === 'failed');
  return [head, '', stageTable(s.stages), '', resultsTable(s.results), ...(failed.length ? ['', 'failed jobs:', ...failed.map((j) => `  ${j.id}: ${(j.error ?? '').split('\n')[0]}`)] : [])].join('\n');
}

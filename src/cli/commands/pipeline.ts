// `hcx pipeline run|status|worker`: the event-driven pipeline (a plan of stages; every checkpoint is
// evaluated asynchronously by workers on this or other machines).
import { defineCommand, defineGroup } from '../args.js';

const STORE_NOTE = 'store URL: sqlite:PATH (the default: the plan\'s DIR/pipeline.db) or redis://HOST:PORT[/DB][?prefix=NAME]';

async function storeFor(store: string | undefined, plan: string | undefined): Promise<string> {
  if (store) return store;
  if (!plan) throw new Error('hcx pipeline status: give the plan file or --store URL');
  const { loadPlan } = await import('../../pipeline/plan.js');
  return (await loadPlan(plan)).store;
}

const run = defineCommand({
  summary: 'run a plan to the end (a finished stage is not rerun; a changed config reruns what depends on it)',
  options: {
    'eval-workers': { type: 'number', integer: true, min: 0, default: 1, description: 'evaluation worker processes to start here (0: external workers only)' },
    'no-train-worker': { type: 'boolean', description: 'leave stage jobs to `hcx pipeline worker --queue train` processes' },
    'lease-ms': { type: 'number', integer: true, min: 100, default: 30_000, description: 'job lease; a worker silent this long loses its job to another' },
    json: { type: 'boolean', description: 'print the final status as JSON' },
  },
  positionals: { name: 'PLAN', min: 1, max: 1, description: 'the plan (YAML or JSON)' },
  notes: STORE_NOTE,
  async run(o, [planFile]) {
    const { loadPlan } = await import('../../pipeline/plan.js');
    const { runPipeline } = await import('../../pipeline/orchestrator.js');
    const { readStatus, formatStatus } = await import('../../pipeline/status.js');
    const { openStore } = await import('../../pipeline/store.js');
    const plan = await loadPlan(planFile);
    const store = await openStore(plan.store);
    const r = await runPipeline(plan, { store, evalWorkers: o.evalWorkers, trainWorker: !o.noTrainWorker, leaseMs: Number(process.env.HCX_PIPELINE_LEASE_MS) || o.leaseMs });
    const st = await readStatus(store);
    await store.close();
    console.log(o.json ? JSON.stringify(st, null, 2) : formatStatus(st));
    if (!r.ok) process.exitCode = 1;
  },
});

const status = defineCommand({
  summary: 'stages with their state, evaluation results per checkpoint, failed jobs',
  options: {
    store: { type: 'string', placeholder: 'URL', description: 'the store (default: the plan\'s)' },
    json: { type: 'boolean', description: 'one JSON document' },
  },
  positionals: { name: 'PLAN', min: 0, max: 1, description: 'the plan file (or give --store)' },
  notes: STORE_NOTE,
  async run(o, [planFile]) {
    const { openStore } = await import('../../pipeline/store.js');
    const { readStatus, formatStatus } = await import('../../pipeline/status.js');
    const store = await openStore(await storeFor(o.store, planFile));
    const st = await readStatus(store);
    await store.close();
    console.log(o.json ? JSON.stringify(st, null, 2) : formatStatus(st));
  },
});

const worker = defineCommand({
  summary: 'take jobs from the store (eval: checkpoint evaluations; train: stages), on this or another machine',
  options: {
    queue: { type: 'string', default: 'eval', choices: ['eval', 'train'], description: 'the queue to serve' },
    store: { type: 'string', placeholder: 'URL', default: 'sqlite:runs/pipeline/pipeline.db', description: 'the pipeline\'s store' },
    'lease-ms': { type: 'number', integer: true, min: 100, default: 30_000, description: 'job lease, renewed by heartbeats' },
    'poll-ms': { type: 'number', integer: true, min: 10, default: 1000, description: 'longest wait between polls of an empty queue' },
    name: { type: 'string', placeholder: 'NAME', description: 'worker name in the store (default HOST:PID)' },
    parent: { type: 'number', integer: true, min: 1, hidden: true, description: 'exit when this process is gone' },
  },
  notes: `${STORE_NOTE}. Checkpoints and stage folders must be on storage every worker sees at the same path.`,
  async run(o) {
    const { runWorkerProcess } = await import('../../pipeline/worker_process.js');
    await runWorkerProcess({ queue: o.queue, storeUrl: o.store, leaseMs: Number(process.env.HCX_PIPELINE_LEASE_MS) || o.leaseMs, pollMs: o.pollMs, name: o.name, parent: o.parent });
  },
});

export const command = defineGroup({
  summary: 'event-driven pipeline: run a plan of stages, evaluate checkpoints asynchronously on workers',
  subcommands: { run, status, worker },
});

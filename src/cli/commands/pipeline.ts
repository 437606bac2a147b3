// `hcx pipeline run|status|worker`: the event-driven pipeline (plan of stages, asynchronous evaluation
// of every checkpoint by workers on this or other machines).
import type { Command } from '../main.js';
import { flagBool, flagNumber, flagString, parseArgs, type ParsedArgs } from '../args.js';

const USAGE = `hcx pipeline run PLAN.yaml [--eval-workers 1] [--no-train-worker] [--lease-ms 30000] [--json]
    run a plan to the end (re-running it does nothing for finished stages; a changed config reruns what depends on it)
hcx pipeline status [PLAN.yaml | --store URL] [--json]
    stages with their state, evaluation results per checkpoint, failed jobs
hcx pipeline worker [--queue eval] [--store URL] [--lease-ms 30000] [--name NAME] [--parent PID]
    take jobs (eval: checkpoint evaluations; train: stages) from the store, on this or another machine
store URL: sqlite:PATH (default, the plan's DIR/pipeline.db) or redis://HOST:PORT[/DB][?prefix=NAME]`;

function strict(p: ParsedArgs, sub: string, allowed: string[]): void {
  for (const k of p.flags.keys()) if (!allowed.includes(k)) throw new Error(`hcx pipeline ${sub}: unknown flag --${k} (expected: ${allowed.map((a) => `--${a}`).join(', ')})`);
}

async function storeUrl(p: ParsedArgs, sub: string): Promise<string> {
  const url = flagString(p, 'store');
  if (url) return url;
  const planFile = p.positional[0];
  if (!planFile) throw new Error(`hcx pipeline ${sub}: give the plan file or --store URL`);
  const { loadPlan } = await import('../../pipeline/plan.js');
  return (await loadPlan(planFile)).store;
}

export const command: Command = {
  summary: 'event-driven pipeline: run a plan of stages, evaluate checkpoints asynchronously on workers',
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    const p = parseArgs(rest);
    if (sub === 'run') {
      strict(p, sub, ['eval-workers', 'no-train-worker', 'lease-ms', 'json']);
      if (p.positional.length !== 1) throw new Error('hcx pipeline run: give one plan file');
      const { loadPlan } = await import('../../pipeline/plan.js');
      const { runPipeline } = await import('../../pipeline/orchestrator.js');
      const { readStatus, formatStatus } = await import('../../pipeline/status.js');
      const { openStore } = await import('../../pipeline/store.js');
      const plan = await loadPlan(p.positional[0]);
      const store = await openStore(plan.store);
      const r = await runPipeline(plan, {
        store, evalWorkers: flagNumber(p, 'eval-workers', 1), trainWorker: !flagBool(p, 'no-train-worker'),
        ...(p.flags.has('lease-ms') ? { leaseMs: flagNumber(p, 'lease-ms', 30_000) } : {}),
      });
      const st = await readStatus(store);
      await store.close();
      console.log(flagBool(p, 'json') ? JSON.stringify(st, null, 2) : formatStatus(st));
      if (!r.ok) process.exitCode = 1;
      return;
    }
    if (sub === 'status') {
      strict(p, sub, ['store', 'json']);
      const { openStore } = await import('../../pipeline/store.js');
      const { readStatus, formatStatus } = await import('../../pipeline/status.js');
      const store = await openStore(await storeUrl(p, sub));
      const st = await readStatus(store);
      await store.close();
      console.log(flagBool(p, 'json') ? JSON.stringify(st, null, 2) : formatStatus(st));
      return;
    }
    if (sub === 'worker') {
      strict(p, sub, ['queue', 'store', 'lease-ms', 'name', 'parent']);
      const { runWorkerProcess } = await import('../../pipeline/worker_process.js');
      await runWorkerProcess({
        queue: flagString(p, 'queue', 'eval')!, storeUrl: flagString(p, 'store', 'sqlite:runs/pipeline/pipeline.db')!,
        leaseMs: flagNumber(p, 'lease-ms', 30_000), name: flagString(p, 'name'), parent: p.flags.has('parent') ? flagNumber(p, 'parent', 0) : undefined,
      });
      return;
    }
    throw new Error(`hcx pipeline: choose run, status or worker\n${USAGE}`);
  },
};

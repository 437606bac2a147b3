// `hcx pipeline worker`: a worker process for one queue. It connects to the store (retrying with
// backoff, saying so, while the store cannot be reached), serves eval and stage jobs, stops cleanly on
// SIGTERM/SIGINT after the current job, and exits when the process that started it (--parent) is gone.
import { evalJobHandler } from './eval_job.js';
import { stageJobHandler } from './stage_job.js';
import { openStore, type Store } from './store.js';
import { defaultWorkerName, runWorker } from './worker.js';

export interface WorkerProcessOptions { queue: string; storeUrl: string; leaseMs: number; pollMs?: number; name?: string; parent?: number }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function parentAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** Opens the store, retrying with exponential backoff (0.5 s doubling to 30 s) until it answers or `signal` aborts. */
export async function connectWithRetry(url: string, log: (l: string) => void, signal?: AbortSignal): Promise<Store | null> {
  let wait = 500;
  while (!signal?.aborted) {
    try {
      return await openStore(url);
    } catch (e) {
      log(`cannot reach the store ${url}: ${(e as Error).message}; retrying in ${(wait / 1000).toFixed(1)} s`);
      await sleep(wait);
      wait = Math.min(wait * 2, 30_000);
    }
  }
  return null;
}

export async function runWorkerProcess(o: WorkerProcessOptions): Promise<void> {
  const name = o.name ?? defaultWorkerName();
  const log = (l: string) => process.stderr.write(`[worker ${name} ${o.queue}] ${l}\n`);
  const stop = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => { log(`${sig}: stopping after the current job`); stop.abort(); });
  if (o.parent) setInterval(() => { if (!parentAlive(o.parent!)) { log(`parent ${o.parent} is gone; exiting`); process.exit(0); } }, 500).unref();
  const store = await connectWithRetry(o.storeUrl, log, stop.signal);
  if (!store) return;
  log(`serving queue ${o.queue} from ${o.storeUrl}`);
  try {
    await runWorker({ store, queue: o.queue, name, leaseMs: o.leaseMs, pollMs: o.pollMs, log, signal: stop.signal, handlers: { eval: evalJobHandler(store), stage: stageJobHandler(store) } });
  } finally {
    await store.close();
  }
}

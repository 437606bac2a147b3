// A worker: claims jobs of one queue from the store under a lease, keeps the lease alive with
// heartbeats while the job runs, and finishes the job (only if it still holds the lease). A job whose
// lease is lost is abandoned: another worker has it. When the store cannot be reached the worker says
// so and retries with exponential backoff.
import { hostname } from 'node:os';
import type { ClaimedJob, Json, Store } from './store.js';

export interface JobContext {
  /** Aborted when the lease is lost (expired and taken by another worker); stop without finishing. */
  lost: AbortSignal;
  worker: string;
  log(line: string): void;
}

export type JobHandler = (job: ClaimedJob, ctx: JobContext) => Promise<Json>;

export interface WorkerOptions {
  store: Store;
  queue: string;
  handlers: Record<string, JobHandler>;
  name?: string;
  leaseMs?: number;
  /** Longest wait between polls of an empty queue. */
  pollMs?: number;
  log?: (line: string) => void;
  /** Stops the loop after the current job. */
  signal?: AbortSignal;
  /** Return true to stop when the queue is empty. */
  stopWhenIdle?: () => boolean | Promise<boolean>;
}

export class LeaseLost extends Error {}

export const defaultWorkerName = (): string => `${hostname()}:${process.pid}`;

const sleep = (ms: number, signal?: AbortSignal): Promise<void> => new Promise((r) => {
  const done = () => { clearTimeout(t); signal?.removeEventListener('abort', done); r(); };
  const t = setTimeout(done, ms);
  signal?.addEventListener('abort', done, { once: true });
});

/** Runs one claimed job with heartbeats; true when it was completed by this worker. */
export async function runJob(store: Store, job: ClaimedJob, handler: JobHandler, o: { leaseMs: number; worker: string; log: (l: string) => void }): Promise<boolean> {
  const lost = new AbortController();
  const beat = setInterval(() => {
    store.heartbeat(job.lease, o.leaseMs).then((ok) => { if (!ok) lost.abort(); }, (e: Error) => o.log(`heartbeat for ${job.id} failed: ${e.message}`));
  }, Math.max(50, Math.floor(o.leaseMs / 3)));
  try {
    const result = await handler(job, { lost: lost.signal, worker: o.worker, log: o.log });
    if (lost.signal.aborted) throw new LeaseLost(`lost the lease on ${job.id}`);
    const ok = await store.complete(job.lease, result);
    if (!ok) o.log(`${job.id}: lease lost before completion; another worker has it`);
    return ok;
  } catch (e) {
    if (e instanceof LeaseLost || lost.signal.aborted) {
      o.log(`${job.id}: lease lost; abandoning it`);
      return false;
    }
    const msg = (e as Error).stack ?? String(e);
    const r = await store.fail(job.lease, msg);
    o.log(`${job.id}: attempt ${job.attempt} failed (${r === 'retry' ? 'will be retried' : r === 'failed' ? 'no attempts left' : 'lease lost'}): ${(e as Error).message.split('\n')[0]}`);
    return false;
  } finally {
    clearInterval(beat);
  }
}

export async function runWorker(o: WorkerOptions): Promise<void> {
  const worker = o.name ?? defaultWorkerName();
  const leaseMs = o.leaseMs ?? 30_000;
  const log = o.log ?? ((l: string) => process.stderr.write(`[worker ${worker}] ${l}\n`));
  const maxPoll = o.pollMs ?? 1000;
  let idle = 50, backoff = 500;
  while (!o.signal?.aborted) {
    let job: ClaimedJob | null;
    try {
      job = await o.store.claim(o.queue, worker, leaseMs);
      backoff = 500;
    } catch (e) {
      log(`cannot reach the store ${o.store.url}: ${(e as Error).message}; retrying in ${(backoff / 1000).toFixed(1)} s`);
      await sleep(backoff, o.signal);
      backoff = Math.min(backoff * 2, 30_000);
      continue;
    }
    if (!job) {
      if (o.stopWhenIdle && (await o.stopWhenIdle())) return;
      await sleep(idle, o.signal);
      idle = Math.min(idle * 2, maxPoll);
      continue;
    }
    idle = 50;
    const handler = o.handlers[job.kind];
    if (!handler) {
      await o.store.fail(job.lease, `worker ${worker} has no handler for job kind "${job.kind}" (queue ${o.queue})`);
      continue;
    }
    log(`${job.id}: started (attempt ${job.attempt})`);
    const done = await runJob(o.store, job, handler, { leaseMs, worker, log });
    if (done) log(`${job.id}: done`);
  }
}

// The store for workers on several machines: BullMQ queues on Redis for the jobs (its locks are the
// leases, its stalled-job check gives an expired lease's job back for a retry, a job id is added once),
// and plain Redis structures for the journal (a list plus a key -> seq hash, appended by one Lua script
// so an event is added once) and the key-value space (one hash per namespace). Same semantics as the
// SQLite store; test/pipeline/store.test.ts runs one suite over both.
import { Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_RETRY_DELAY_MS, newToken, type ClaimedJob, type JobRecord, type JobSpec, type JobState, type Json, type Lease, type PipelineEvent, type Store } from './store.js';

const APPEND_EVENT = `
local had = redis.call('HGET', KEYS[2], ARGV[1])
if had then return {tonumber(had), 0} end
local seq = redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], seq)
return {seq, 1}`;

const STATE: Record<string, JobState> = { completed: 'done', failed: 'failed', active: 'running' };

/** Connects once, without retrying, so a wrong address fails fast with a clear message. */
async function probe(url: string): Promise<void> {
  const r = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 3000 });
  r.on('error', () => {}); // reported by connect() below
  try {
    await r.connect();
    await r.ping();
  } catch (e) {
    throw new Error(`cannot reach the store at ${url}: ${(e as Error).message || String(e)}`);
  } finally {
    r.disconnect();
  }
}

export class RedisStore implements Store {
  private queues = new Map<string, Queue>();
  private workers = new Map<string, Worker>();
  private active = new Map<string, Job>();

  private constructor(readonly url: string, private redis: Redis, private prefix: string) {}

  /** redis://host:port[/db][?prefix=NAME] (prefix namespaces every key; default hcx). */
  static async open(url: string): Promise<RedisStore> {
    const u = new URL(url);
    const prefix = u.searchParams.get('prefix') ?? 'hcx';
    u.search = '';
    await probe(u.toString());
    const redis = new Redis(u.toString(), { maxRetriesPerRequest: null });
    redis.on('error', (e) => process.stderr.write(`pipeline store ${url}: ${e.message}; reconnecting\n`));
    redis.defineCommand('hcxAppendEvent', { numberOfKeys: 2, lua: APPEND_EVENT });
    return new RedisStore(url, redis, prefix);
  }

  private key = (k: string): string => `${this.prefix}:${k}`;

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.redis, prefix: this.prefix });
      this.queues.set(name, q);
    }
    return q;
  }

  private worker(queue: string, leaseMs: number): Worker {
    const k = `${queue}/${leaseMs}`;
    let w = this.workers.get(k);
    if (!w) {
      w = new Worker(queue, null, {
        connection: this.redis, prefix: this.prefix, autorun: false, lockDuration: leaseMs,
        stalledInterval: Math.max(250, Math.floor(leaseMs / 2)), maxStalledCount: 1_000_000, // attempts are counted by claim()
      });
      w.on('error', (e) => process.stderr.write(`pipeline store ${this.url}: ${e.message}\n`));
      void w.startStalledCheckTimer();
      this.workers.set(k, w);
    }
    return w;
  }

  async appendEvent(key: string, type: string, data: Json): Promise<{ seq: number; fresh: boolean }> {
    const ev = JSON.stringify({ key, type, data, time: Date.now() });
    const [seq, fresh] = (await (this.redis as unknown as { hcxAppendEvent(...a: string[]): Promise<[number, number]> })
      .hcxAppendEvent(this.key('events'), this.key('event-keys'), key, ev));
    return { seq, fresh: fresh === 1 };
  }

  async readEvents(afterSeq: number, limit = 1000): Promise<PipelineEvent[]> {
    const rows = await this.redis.lrange(this.key('events'), afterSeq, afterSeq + limit - 1);
    return rows.map((r, i) => ({ seq: afterSeq + i + 1, ...(JSON.parse(r) as Omit<PipelineEvent, 'seq'>) }));
  }

  async enqueue(spec: JobSpec): Promise<boolean> {
    const maxAttempts = spec.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    await this.queue(spec.queue).add(spec.kind, { payload: spec.payload, maxAttempts }, {
      jobId: spec.id, attempts: maxAttempts, backoff: { type: 'fixed', delay: spec.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS },
    });
    return (await this.redis.hsetnx(this.key('job-queues'), spec.id, spec.queue)) === 1;
  }

  async claim(queue: string, worker: string, leaseMs: number): Promise<ClaimedJob | null> {
    const w = this.worker(queue, leaseMs);
    for (;;) {
      const token = `${worker}:${newToken()}`;
      const job = await w.getNextJob(token, { block: false });
      if (!job) return null;
      const data = job.data as { payload: Json; maxAttempts: number };
      // attemptsStarted counts every move to active, including those whose worker died (stalled).
      if (job.attemptsStarted > data.maxAttempts) {
        await job.moveToFailed(new UnrecoverableError(`lease expired on its last attempt (${data.maxAttempts}/${data.maxAttempts})`), token, false);
        continue;
      }
      await this.redis.hset(this.key('job-workers'), job.id!, worker);
      this.active.set(token, job);
      return { id: job.id!, queue, kind: job.name, payload: data.payload, attempt: job.attemptsStarted, lease: { jobId: job.id!, token, worker } };
    }
  }

  private async jobOf(lease: Lease): Promise<Job | undefined> {
    const j = this.active.get(lease.token);
    if (j) return j;
    const queue = await this.redis.hget(this.key('job-queues'), lease.jobId);
    return queue ? Job.fromId(this.queue(queue), lease.jobId) : undefined;
  }

  async heartbeat(lease: Lease, leaseMs: number): Promise<boolean> {
    const job = await this.jobOf(lease);
    if (!job) return false;
    try {
      return (await job.extendLock(lease.token, leaseMs)) === 1;
    } catch {
      return false;
    }
  }

  async complete(lease: Lease, result: Json): Promise<boolean> {
    const job = await this.jobOf(lease);
    if (!job) return false;
    try {
      await job.moveToCompleted(result, lease.token, false);
      return true;
    } catch {
      return false; // the lock was lost: another worker owns the job now
    } finally {
      this.active.delete(lease.token);
    }
  }

  async fail(lease: Lease, error: string): Promise<'retry' | 'failed' | 'lost'> {
    const job = await this.jobOf(lease);
    if (!job) return 'lost';
    try {
      await job.moveToFailed(new Error(error), lease.token, false);
    } catch {
      return 'lost';
    } finally {
      this.active.delete(lease.token);
    }
    return (await job.getState()) === 'failed' ? 'failed' : 'retry';
  }

  private async record(id: string, queue: string, workers: Record<string, string>): Promise<JobRecord | null> {
    const job = await Job.fromId(this.queue(queue), id);
    if (!job) return null;
    const st = await job.getState();
    const data = job.data as { payload: Json; maxAttempts: number };
    const w = workers[id];
    return {
      id, queue, kind: job.name, payload: data.payload, state: STATE[st] ?? 'queued', attempts: job.attemptsStarted, maxAttempts: data.maxAttempts,
      ...(w ? { worker: w } : {}), ...(st === 'completed' ? { result: job.returnvalue as Json } : {}),
      ...(job.failedReason ? { error: job.failedReason } : {}), updatedAt: job.finishedOn ?? job.processedOn ?? job.timestamp,
    };
  }

  async getJob(id: string): Promise<JobRecord | null> {
    const queue = await this.redis.hget(this.key('job-queues'), id);
    if (!queue) return null;
    const w = await this.redis.hget(this.key('job-workers'), id);
    return this.record(id, queue, w ? { [id]: w } : {});
  }

  async listJobs(): Promise<JobRecord[]> {
    const all = await this.redis.hgetall(this.key('job-queues'));
    const workers = await this.redis.hgetall(this.key('job-workers'));
    const out: JobRecord[] = [];
    for (const [id, queue] of Object.entries(all)) {
      const r = await this.record(id, queue, workers);
      if (r) out.push(r);
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  async put(ns: string, key: string, value: Json): Promise<void> {
    await this.redis.hset(this.key(`kv:${ns}`), key, JSON.stringify(value));
  }

  async get(ns: string, key: string): Promise<Json | undefined> {
    const v = await this.redis.hget(this.key(`kv:${ns}`), key);
    return v === null ? undefined : (JSON.parse(v) as Json);
  }

  async entries(ns: string): Promise<[string, Json][]> {
    const all = await this.redis.hgetall(this.key(`kv:${ns}`));
    return Object.entries(all).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, JSON.parse(v) as Json]);
  }

  async close(): Promise<void> {
    for (const w of this.workers.values()) await w.close(true);
    for (const q of this.queues.values()) await q.close();
    this.redis.disconnect();
  }
}

// The pipeline's store: a durable event journal, job queues with leases, and a small key-value space
// (stage records, evaluation results). Two engines implement it with the same semantics: SQLite (WAL,
// embedded, the default: one machine, any number of processes) and Redis with BullMQ queues (workers on
// several machines). Every operation that can be repeated after a crash is idempotent: an event or a job
// with a key that exists already is not added twice, and only the holder of a live lease can finish a job.
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface JobSpec {
  /** Unique and deterministic (e.g. eval|stage|step|hash|suite): enqueuing an existing id does nothing. */
  id: string;
  queue: string;
  kind: string;
  payload: Json;
  /** Attempts before the job is failed for good (a worker that dies mid-job uses one up). Default 3. */
  maxAttempts?: number;
  /** Wait before a failed attempt is retried. Default 1000 ms. */
  retryDelayMs?: number;
}

export interface Lease { jobId: string; token: string; worker: string }

export interface ClaimedJob { id: string; queue: string; kind: string; payload: Json; attempt: number; lease: Lease }

export type JobState = 'queued' | 'running' | 'done' | 'failed';

export interface JobRecord {
  id: string; queue: string; kind: string; payload: Json; state: JobState;
  attempts: number; maxAttempts: number; worker?: string; result?: Json; error?: string; updatedAt: number;
}

export interface PipelineEvent { seq: number; key: string; type: string; data: Json; time: number }

export interface Store {
  readonly url: string;
  /** Appends an event unless one with this key exists; returns its sequence number either way. */
  appendEvent(key: string, type: string, data: Json): Promise<{ seq: number; fresh: boolean }>;
  /** Events with seq > afterSeq, oldest first. */
  readEvents(afterSeq: number, limit?: number): Promise<PipelineEvent[]>;
  /** Adds a job unless its id exists (in any state); true when it was added. */
  enqueue(spec: JobSpec): Promise<boolean>;
  /** Takes the oldest ready job of a queue (or one whose lease expired) under a lease of leaseMs. */
  claim(queue: string, worker: string, leaseMs: number): Promise<ClaimedJob | null>;
  /** Extends a lease; false when it was lost (expired and taken, or the job finished). */
  heartbeat(lease: Lease, leaseMs: number): Promise<boolean>;
  /** Marks the job done with its result, only if the lease is still held; false when it was lost. */
  complete(lease: Lease, result: Json): Promise<boolean>;
  /** Gives the job back for a retry (after its retryDelayMs), or fails it when its attempts are used up. */
  fail(lease: Lease, error: string): Promise<'retry' | 'failed' | 'lost'>;
  getJob(id: string): Promise<JobRecord | null>;
  listJobs(): Promise<JobRecord[]>;
  put(ns: string, key: string, value: Json): Promise<void>;
  get(ns: string, key: string): Promise<Json | undefined>;
  entries(ns: string): Promise<[string, Json][]>;
  close(): Promise<void>;
}

export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_RETRY_DELAY_MS = 1000;

/** Opens a store from a URL: redis://host:port[/db], or a SQLite file (sqlite:PATH or a plain path). */
export async function openStore(url: string): Promise<Store> {
  if (/^rediss?:\/\//.test(url)) {
    const { RedisStore } = await import('./redis_store.js');
    return RedisStore.open(url);
  }
  const file = url.replace(/^sqlite:(\/\/)?/, '');
  const { SqliteStore } = await import('./sqlite_store.js');
  return new SqliteStore(file);
}

export const newToken = (): string => `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

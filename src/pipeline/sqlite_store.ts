// The embedded store: one SQLite file in WAL mode (readers never block the writer; several processes on
// one machine share it), via better-sqlite3. Each operation is one transaction, so a kill -9 at any
// point leaves the journal, the jobs and their leases consistent.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_RETRY_DELAY_MS, newToken, type ClaimedJob, type JobRecord, type JobSpec, type JobState, type Json, type Lease, type PipelineEvent, type Store } from './store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, type TEXT NOT NULL, data TEXT NOT NULL, time INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY, queue TEXT NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL, state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL, worker TEXT, token TEXT, lease_until INTEGER NOT NULL DEFAULT 0,
  not_before INTEGER NOT NULL DEFAULT 0, retry_delay INTEGER NOT NULL, result TEXT, error TEXT, created INTEGER NOT NULL, updated INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_ready ON jobs (queue, state, created);
CREATE TABLE IF NOT EXISTS kv (ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (ns, key));
`;

interface JobRow {
  id: string; queue: string; kind: string; payload: string; state: JobState; attempts: number; max_attempts: number;
  worker: string | null; token: string | null; lease_until: number; result: string | null; error: string | null; updated: number;
}

const toRecord = (r: JobRow): JobRecord => ({
  id: r.id, queue: r.queue, kind: r.kind, payload: JSON.parse(r.payload) as Json, state: r.state, attempts: r.attempts, maxAttempts: r.max_attempts,
  ...(r.worker ? { worker: r.worker } : {}), ...(r.result !== null ? { result: JSON.parse(r.result) as Json } : {}), ...(r.error !== null ? { error: r.error } : {}), updatedAt: r.updated,
});

export class SqliteStore implements Store {
  readonly url: string;
  private db: Database.Database;

  constructor(file: string) {
    this.url = `sqlite:${path.resolve(file)}`;
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    try {
      this.db = new Database(file, { timeout: 10_000 });
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL'); // an acknowledged event survives a power cut, not only a kill
      this.db.exec(SCHEMA);
    } catch (e) {
      throw new Error(`pipeline store ${file}: ${(e as Error).message}`);
    }
  }

  async appendEvent(key: string, type: string, data: Json): Promise<{ seq: number; fresh: boolean }> {
    return this.db.transaction(() => {
      const had = this.db.prepare('SELECT seq FROM events WHERE key = ?').get(key) as { seq: number } | undefined;
      if (had) return { seq: had.seq, fresh: false };
      const r = this.db.prepare('INSERT INTO events (key, type, data, time) VALUES (?, ?, ?, ?)').run(key, type, JSON.stringify(data), Date.now());
      return { seq: Number(r.lastInsertRowid), fresh: true };
    }).immediate();
  }

  async readEvents(afterSeq: number, limit = 1000): Promise<PipelineEvent[]> {
    const rows = this.db.prepare('SELECT seq, key, type, data, time FROM events WHERE seq > ? ORDER BY seq LIMIT ?').all(afterSeq, limit) as { seq: number; key: string; type: string; data: string; time: number }[];
    return rows.map((r) => ({ ...r, data: JSON.parse(r.data) as Json }));
  }

  async enqueue(spec: JobSpec): Promise<boolean> {
    const now = Date.now();
    const r = this.db.prepare('INSERT OR IGNORE INTO jobs (id, queue, kind, payload, state, max_attempts, retry_delay, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(spec.id, spec.queue, spec.kind, JSON.stringify(spec.payload), 'queued', spec.maxAttempts ?? DEFAULT_MAX_ATTEMPTS, spec.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS, now, now);
    return r.changes === 1;
  }

  async claim(queue: string, worker: string, leaseMs: number): Promise<ClaimedJob | null> {
    return this.db.transaction((): ClaimedJob | null => {
      for (;;) {
        const now = Date.now();
        const row = this.db.prepare(`SELECT * FROM jobs WHERE queue = ? AND ((state = 'queued' AND not_before <= ?) OR (state = 'running' AND lease_until < ?)) ORDER BY created, id LIMIT 1`)
          .get(queue, now, now) as JobRow | undefined;
        if (!row) return null;
        // A running job whose lease expired lost its worker mid-attempt; that attempt counts.
        if (row.state === 'running' && row.attempts >= row.max_attempts) {
          this.db.prepare(`UPDATE jobs SET state = 'failed', error = ?, token = NULL, updated = ? WHERE id = ?`)
            .run(`lease of ${row.worker} expired on its last attempt (${row.attempts}/${row.max_attempts})`, now, row.id);
          continue;
        }
        const token = newToken();
        this.db.prepare(`UPDATE jobs SET state = 'running', attempts = attempts + 1, worker = ?, token = ?, lease_until = ?, updated = ? WHERE id = ?`)
          .run(worker, token, now + leaseMs, now, row.id);
        return { id: row.id, queue: row.queue, kind: row.kind, payload: JSON.parse(row.payload) as Json, attempt: row.attempts + 1, lease: { jobId: row.id, token, worker } };
      }
    }).immediate();
  }

  async heartbeat(lease: Lease, leaseMs: number): Promise<boolean> {
    const now = Date.now();
    const r = this.db.prepare(`UPDATE jobs SET lease_until = ?, updated = ? WHERE id = ? AND token = ? AND state = 'running' AND lease_until >= ?`)
      .run(now + leaseMs, now, lease.jobId, lease.token, now);
    return r.changes === 1;
  }

  async complete(lease: Lease, result: Json): Promise<boolean> {
    const now = Date.now();
    const r = this.db.prepare(`UPDATE jobs SET state = 'done', result = ?, error = NULL, token = NULL, updated = ? WHERE id = ? AND token = ? AND state = 'running'`)
      .run(JSON.stringify(result), now, lease.jobId, lease.token);
    return r.changes === 1;
  }

  async fail(lease: Lease, error: string): Promise<'retry' | 'failed' | 'lost'> {
    return this.db.transaction((): 'retry' | 'failed' | 'lost' => {
      const row = this.db.prepare(`SELECT attempts, max_attempts, retry_delay FROM jobs WHERE id = ? AND token = ? AND state = 'running'`).get(lease.jobId, lease.token) as { attempts: number; max_attempts: number; retry_delay: number } | undefined;
      if (!row) return 'lost';
      const now = Date.now();
      const state = row.attempts < row.max_attempts ? 'queued' : 'failed';
      this.db.prepare(`UPDATE jobs SET state = ?, error = ?, token = NULL, not_before = ?, updated = ? WHERE id = ?`).run(state, error, now + row.retry_delay, now, lease.jobId);
      return state === 'queued' ? 'retry' : 'failed';
    }).immediate();
  }

  async getJob(id: string): Promise<JobRecord | null> {
    const r = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    return r ? toRecord(r) : null;
  }

  async listJobs(): Promise<JobRecord[]> {
    return (this.db.prepare('SELECT * FROM jobs ORDER BY created, id').all() as JobRow[]).map(toRecord);
  }

  async put(ns: string, key: string, value: Json): Promise<void> {
    this.db.prepare('INSERT INTO kv (ns, key, value) VALUES (?, ?, ?) ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value').run(ns, key, JSON.stringify(value));
  }

  async get(ns: string, key: string): Promise<Json | undefined> {
    const r = this.db.prepare('SELECT value FROM kv WHERE ns = ? AND key = ?').get(ns, key) as { value: string } | undefined;
    return r ? (JSON.parse(r.value) as Json) : undefined;
  }

  async entries(ns: string): Promise<[string, Json][]> {
    return (this.db.prepare('SELECT key, value FROM kv WHERE ns = ? ORDER BY key').all(ns) as { key: string; value: string }[]).map((r) => [r.key, JSON.parse(r.value) as Json]);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

// The pipeline dashboard (`hcx dashboard`): one page showing the plan as stages with their state, live
// training curves (loss, reward, KL: every number in each training stage's metrics.jsonl), evaluation
// results per checkpoint, and the log of a failed job. The page follows the store through server-sent
// events (/api/events pushes the status whenever it changes; polled once a second on the server).
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readMetricsFile } from '../train/run.js';
import { tail } from './stage_job.js';
import { readStatus } from './status.js';
import type { Store } from './store.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function page(): string {
  for (const p of [path.join(here, 'web', 'dashboard.html'), path.resolve(here, '..', '..', '..', 'src', 'pipeline', 'web', 'dashboard.html')]) {
    if (existsSync(p)) return readFileSync(p, 'utf8');
  }
  return '<!doctype html><title>hcx pipeline</title><p>dashboard page not found (src/pipeline/web/dashboard.html)</p>';
}

export interface Dashboard { url: string; server: Server; close(): Promise<void> }

const json = (res: ServerResponse, code: number, body: unknown): void => {
  res.writeHead(code, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
};

export async function startDashboard(store: Store, o: { port?: number; host?: string; pollMs?: number } = {}): Promise<Dashboard> {
  const clients = new Set<ServerResponse>();
  let last = '';
  const push = async (): Promise<void> => {
    if (!clients.size) return;
    const body = JSON.stringify(await readStatus(store));
    if (body === last) return;
    last = body;
    for (const c of clients) c.write(`event: status\ndata: ${body}\n\n`);
  };
  const timer = setInterval(() => { push().catch((e: Error) => process.stderr.write(`dashboard: ${e.message}\n`)); }, o.pollMs ?? 1000);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (req.method !== 'GET') return json(res, 405, { error: 'GET only' });
    if (u.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page());
      return;
    }
    if (u.pathname === '/api/status') return json(res, 200, await readStatus(store));
    if (u.pathname === '/api/metrics') {
      const name = u.searchParams.get('stage') ?? '';
      const st = (await readStatus(store)).stages.find((s) => s.name === name);
      if (!st) return json(res, 404, { error: `no stage "${name}"` });
      return json(res, 200, { stage: name, rows: readMetricsFile(path.join(st.dir, 'metrics.jsonl')) });
    }
    if (u.pathname === '/api/logs') {
      const id = u.searchParams.get('job') ?? '';
      const job = await store.getJob(id);
      if (!job) return json(res, 404, { error: `no job "${id}"` });
      const rec = (await store.get('logs', id)) as { file?: string } | undefined;
      const file = rec?.file && existsSync(rec.file) ? rec.file : undefined;
      return json(res, 200, { job: id, state: job.state, error: job.error ?? null, file: file ?? null, log: file ? tail(file, 400) : null });
    }
    if (u.pathname === '/api/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(`event: status\ndata: ${JSON.stringify(await readStatus(store))}\n\n`);
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    }
    json(res, 404, { error: `no route ${u.pathname}` });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => { if (!res.headersSent) json(res, 500, { error: e.message }); else res.end(); });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 8600, o.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as { port: number; address: string };
  return {
    url: `http://${addr.address}:${addr.port}`, server,
    close: () => new Promise((resolve) => {
      clearInterval(timer);
      for (const c of clients) c.end();
      server.close(() => resolve());
    }),
  };
}

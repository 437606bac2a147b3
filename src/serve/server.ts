// `hcx serve`'s HTTP server on node:http: OpenAI-compatible routes over the engine, /v1/infill, vLLM's
// /tokenize, /detokenize and /tokenizer_info, /health,
// Prometheus /metrics, the web chat page at /, an optional Bearer API key, request size and per-client
// rate limits, OpenAI-shaped JSON errors, and a graceful shutdown that lets in-flight requests finish
// (up to a drain time) before cancelling the rest.
import http from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TextTokenizer } from '../tokenizer/index.js';
import type { Engine } from './engine.js';
import { ApiError } from './openai.js';
import type { ServeContext } from './handlers.js';
import { completions, infill } from './completions_route.js';
import { chat } from './chat_route.js';
import { detokenize, tokenize, tokenizerInfo } from './tokenize_route.js';
import { AsyncTokenizer } from './async_tokenizer.js';
import { defaultLimits, type RequestLimits } from './limits.js';
import type { Counter } from './metrics.js';

export interface ServerOptions {
  port?: number;
  host?: string;
  /** Clients must send `Authorization: Bearer <apiKey>` on /v1/ routes. */
  apiKey?: string;
  /** Largest request body accepted (default 1 MiB). */
  maxBodyBytes?: number;
  /** Requests per minute per client address on /v1/ routes (0 = no limit, the default). */
  rateLimitPerMinute?: number;
  /** Queued requests beyond which new ones get 503 (default 4096). */
  maxQueue?: number;
  /** Name reported by /v1/models and checked against the request's `model` (default "hcx"). */
  modelName?: string;
  /** Bounds on the work one request may ask for (defaults: limits.ts). */
  limits?: Partial<RequestLimits>;
  /** Texts longer than this many characters are tokenized on a worker thread (default 16384). */
  inlineTokenizeChars?: number;
}

export interface HcxServer {
  url: string;
  port: number;
  ctx: ServeContext;
  /** Stops accepting, lets in-flight requests run for up to drainMs (default 5000), cancels the rest. */
  close(drainMs?: number): Promise<void>;
}

function webPage(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // dist/src/serve -> the repository's src/serve/web; or run from source.
  for (const p of [path.join(here, 'web', 'index.html'), path.resolve(here, '..', '..', '..', 'src', 'serve', 'web', 'index.html')]) {
    if (existsSync(p)) return readFileSync(p, 'utf8');
  }
  return '<!doctype html><title>hcx</title><p>web page not found (src/serve/web/index.html)</p>';
}

/** Token buckets per client: `perMinute` requests, refilled continuously. */
class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(private readonly perMinute: number) {}
  /** 0 when allowed, else seconds until the next request would be. */
  take(key: string): number {
    if (this.perMinute <= 0) return 0;
    const now = Date.now(), rate = this.perMinute / 60_000;
    const b = this.buckets.get(key) ?? { tokens: this.perMinute, at: now };
    b.tokens = Math.min(this.perMinute, b.tokens + (now - b.at) * rate);
    b.at = now;
    this.buckets.set(key, b);
    if (this.buckets.size > 10_000) for (const [k, v] of this.buckets) if (v.tokens >= this.perMinute) this.buckets.delete(k);
    if (b.tokens >= 1) { b.tokens -= 1; return 0; }
    return Math.ceil((1 - b.tokens) / rate / 1000);
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) { res.end(); return; }
  const s = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(s)), ...headers });
  res.end(s);
}

function readBody(req: http.IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) { reject(new ApiError(413, `request body of ${declared} bytes exceeds the limit of ${limit}`, null, 'request_too_large')); return; }
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > limit) { reject(new ApiError(413, `request body exceeds the limit of ${limit} bytes`, null, 'request_too_large')); req.removeAllListeners('data'); req.resume(); return; }
      chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') { resolve({}); return; }
      try { resolve(JSON.parse(text)); } catch (e) { reject(new ApiError(400, `could not parse the JSON body: ${(e as Error).message}`, null, 'invalid_json')); }
    });
    req.on('error', reject);
  });
}

export async function startServer(engine: Engine, tok: TextTokenizer, opts: ServerOptions = {}): Promise<HcxServer> {
  const ctx: ServeContext = {
    engine, tok, asyncTok: new AsyncTokenizer(tok, opts.inlineTokenizeChars), modelName: opts.modelName ?? 'hcx', maxQueue: opts.maxQueue ?? 4096,
    limits: defaultLimits(engine.config.maxSeqLen, opts.limits),
  };
  const maxBody = opts.maxBodyBytes ?? 1 << 20;
  const limiter = new RateLimiter(opts.rateLimitPerMinute ?? 0);
  const keyDigest = opts.apiKey ? digest(opts.apiKey) : null;
  const page = webPage();
  const httpRequests: Counter = engine.metrics.registry.counter('hcx_http_requests_total', 'HTTP requests by route and status');
  let closing = false;
  const inflight = new Set<Promise<void>>();

  const routes: Record<string, (body: unknown, res: http.ServerResponse) => Promise<unknown>> = {
    '/v1/completions': (b, res) => completions(ctx, b, res),
    '/v1/chat/completions': (b, res) => chat(ctx, b, res),
    '/v1/infill': (b, res) => infill(ctx, b, res),
    '/tokenize': (b) => tokenize(ctx, b),
    '/detokenize': async (b) => detokenize(ctx, b),
  };
  const modelCard = () => ({ id: ctx.modelName, object: 'model', created: 0, owned_by: 'hcx', max_model_len: engine.config.maxSeqLen });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = url.pathname.replace(/\/+$/, '') || '/';
    const isModel = route.startsWith('/v1/models/');
    const known = isModel || ['/', '/health', '/metrics', '/v1/models', '/v1/stats', '/tokenizer_info', ...Object.keys(routes)].includes(route);
    res.on('finish', () => httpRequests.inc(1, { route: isModel ? '/v1/models/{id}' : known ? route : 'other', status: String(res.statusCode) }));
    if (route === '/' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' });
      res.end(page);
      return;
    }
    if (route === '/health' && req.method === 'GET') {
      sendJson(res, closing ? 503 : 200, { status: closing ? 'shutting_down' : 'ok', model: ctx.modelName, running: engine.numRunning, waiting: engine.numWaiting });
      return;
    }
    if (route === '/metrics' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(engine.metrics.registry.render());
      return;
    }
    if (!known) throw new ApiError(404, `no route ${req.method} ${url.pathname}`, null, 'not_found');
    if (keyDigest) {
      const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
      if (!m || !timingSafeEqual(digest(m[1].trim()), keyDigest)) throw new ApiError(401, 'missing or incorrect API key (send Authorization: Bearer <key>)', null, 'invalid_api_key');
    }
    const wait = limiter.take(req.socket.remoteAddress ?? '?');
    if (wait > 0) { sendJson(res, 429, new ApiError(429, `rate limit of ${opts.rateLimitPerMinute} requests per minute exceeded`, null, 'rate_limit_exceeded').toJSON(), { 'retry-after': String(wait) }); return; }
    if (route === '/v1/models' || route === '/v1/stats' || route === '/tokenizer_info' || isModel) {
      if (req.method !== 'GET') throw new ApiError(405, `${route} takes GET`, null, 'method_not_allowed');
      if (route === '/v1/stats') { sendJson(res, 200, { model: ctx.modelName, ...engine.metrics.snapshot() }); return; }
      if (route === '/tokenizer_info') { sendJson(res, 200, tokenizerInfo(ctx)); return; }
      if (isModel) {
        const id = decodeURIComponent(url.pathname.slice('/v1/models/'.length).replace(/\/+$/, ''));
        if (id !== ctx.modelName) throw new ApiError(404, `The model '${id}' does not exist (this server serves '${ctx.modelName}')`, 'model', 'model_not_found');
        sendJson(res, 200, modelCard());
        return;
      }
      sendJson(res, 200, { object: 'list', data: [modelCard()] });
      return;
    }
    if (req.method !== 'POST') throw new ApiError(405, `${route} takes POST`, null, 'method_not_allowed');
    if (closing) throw new ApiError(503, 'the server is shutting down', null, 'shutting_down');
    const body = await readBody(req, maxBody);
    const out = await routes[route](body, res);
    if (out !== undefined) sendJson(res, 200, out);
  }

  const server = http.createServer((req, res) => {
    engine.noteArrival();
    const p = handle(req, res).catch((e: unknown) => {
      const err = e instanceof ApiError ? e : new ApiError(500, `internal error: ${(e as Error)?.message ?? String(e)}`);
      if (res.headersSent) {
        // A stream already started: report in-band and end it.
        if (!res.writableEnded) res.end(`data: ${JSON.stringify(err.toJSON())}\n\ndata: [DONE]\n\n`);
        return;
      }
      sendJson(res, err.status, err.toJSON(), err.status === 413 ? { connection: 'close' } : {});
    }).finally(() => inflight.delete(p));
    inflight.add(p);
  });
  server.keepAliveTimeout = 5000;
  server.on('connection', () => engine.noteArrival());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host && opts.host !== '0.0.0.0' && opts.host !== '::' ? opts.host : '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    ctx,
    async close(drainMs = 5000): Promise<void> {
      closing = true;
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      await engine.shutdown(drainMs);
      await Promise.allSettled([...inflight]);
      server.closeAllConnections();
      await closed;
      await ctx.asyncTok.close();
    },
  };
}

// What the generation routes share: the serving context, server-sent events, checks on prompts and the
// queue, and submitting a request's choices so that a client that goes away cancels them (which frees
// their KV blocks). The routes: completions_route.ts, chat_route.ts, tokenize_route.ts.
import type { ServerResponse } from 'node:http';
import type { TextTokenizer } from '../tokenizer/index.js';
import type { AsyncTokenizer } from './async_tokenizer.js';
import type { Engine } from './engine.js';
import type { RequestLimits } from './limits.js';
import type { RequestHandle } from './request_handle.js';
import type { RequestOutput, RequestParams, StreamDelta } from './sequence.js';
import { ApiError } from './openai.js';
import type { CommonRequest } from './request.js';

export interface ServeContext {
  engine: Engine;
  /** The served model's tokenizer, of any kind (hcx's own, a Hugging Face tokenizer.json, a GGUF's). */
  tok: TextTokenizer;
  /** Encodes long texts off the event loop. */
  asyncTok: AsyncTokenizer;
  modelName: string;
  /** Requests waiting in the engine beyond which new ones get 503 (default 4096). */
  maxQueue: number;
  limits: RequestLimits;
}

/** Server-sent events on one response; writes after the client left are dropped. */
export class Sse {
  closed = false;
  constructor(private readonly res: ServerResponse) {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.on('close', () => (this.closed = true));
  }
  send(obj: unknown): void {
    if (!this.closed) this.res.write(`data: ${JSON.stringify(obj)}\n\n`);
  }
  end(): void {
    if (!this.closed) this.res.end('data: [DONE]\n\n');
    this.closed = true;
  }
}

export interface Job {
  ids: number[];
  params: RequestParams;
  index: number;
  /** Text the choice starts with (the echoed prompt). */
  echoText?: string;
  /** The job of the same prompt whose prompt logprobs this one reports (n > 1 computes them once). */
  promptLogprobsFrom?: number;
}

export function checkModel(ctx: ServeContext, r: CommonRequest): void {
  if (r.model !== undefined && r.model !== ctx.modelName && r.model !== 'default') {
    throw new ApiError(404, `The model '${r.model}' does not exist (this server serves '${ctx.modelName}')`, 'model', 'model_not_found');
  }
}

export function checkIds(ctx: ServeContext, ids: number[], param: string): void {
  const c = ctx.engine.config;
  if (ids.length === 0) throw new ApiError(400, `'${param}' encodes to no tokens`, param);
  if (ids.length > c.maxSeqLen) {
    throw new ApiError(400, `This model's maximum context length is ${c.maxSeqLen} tokens; the prompt has ${ids.length}`, param, 'context_length_exceeded');
  }
  for (const t of ids) if (!(t >= 0 && t < c.vocabSize)) throw new ApiError(400, `token id ${t} is outside the vocabulary (0..${c.vocabSize - 1})`, param);
}

function admit(ctx: ServeContext, extra: number): void {
  if (ctx.engine.isClosed) throw new ApiError(503, 'the server is shutting down', null, 'shutting_down');
  if (ctx.engine.numWaiting + extra > ctx.maxQueue) throw new ApiError(503, `the server is overloaded (${ctx.engine.numWaiting} requests queued); retry later`, null, 'overloaded');
}

/** Submits the jobs and cancels them all when the response closes before they finish. */
export function submitAll(ctx: ServeContext, jobs: Job[], res: ServerResponse, onDelta?: (job: Job, d: StreamDelta) => void): { handles: RequestHandle[]; outputs: Promise<RequestOutput[]> } {
  admit(ctx, jobs.length);
  const handles: RequestHandle[] = [];
  try {
    for (const j of jobs) handles.push(ctx.engine.submit(j.ids, j.params, onDelta && ((d) => onDelta(j, d))));
  } catch (e) {
    for (const h of handles) h.cancel();
    throw new ApiError(400, (e as Error).message);
  }
  let finished = false;
  res.on('close', () => { if (!finished) for (const h of handles) h.cancel(); });
  const outputs = Promise.all(handles.map((h) => h.done)).then((o) => { finished = true; return o; });
  return { handles, outputs };
}

export function failed(outs: RequestOutput[]): void {
  const e = outs.find((o) => o.finishReason === 'error');
  if (e) throw new ApiError(500, `generation failed: ${e.error ?? 'unknown error'}`);
  if (outs.some((o) => o.finishReason === 'abort')) throw new ApiError(503, 'the request was cancelled (the server is shutting down)', null, 'cancelled');
}

/** In-band error event for a stream whose request failed or was cancelled by the server (a no-op once the client left). */
export function streamError(sse: Sse, reason: string): void {
  sse.send(reason === 'abort'
    ? { error: { message: 'the request was cancelled (the server is shutting down)', type: 'server_error', param: null, code: 'cancelled' } }
    : { error: { message: 'generation failed', type: 'server_error', param: null, code: null } });
}

/** Tokens a choice generated, its stop token included (as usage counts them). */
export const generatedTokens = (o: RequestOutput): number => o.outputTokens.length + (o.stopToken !== undefined ? 1 : 0);

export const created = (): number => Math.floor(Date.now() / 1000);

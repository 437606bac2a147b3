// The generation routes: /v1/completions (echo, logprobs, suffix via FIM), /v1/chat/completions and
// /v1/infill, each streaming over SSE or answering with one JSON object. A client that goes away
// cancels its requests, which frees their KV blocks.
import type { ServerResponse } from 'node:http';
import type { Tokenizer } from '../tokenizer/index.js';
import type { Engine } from './engine.js';
import type { RequestHandle } from './request_handle.js';
import type { RequestOutput, RequestParams, StreamDelta, TokenLogprob } from './sequence.js';
import { tokenPieces } from './text_stream.js';
import {
  ApiError, chatLogprobs, completionLogprobs, parseChat, parseCompletion, parseInfill, requestId, usage,
  type CommonRequest,
} from './openai.js';

export interface ServeContext {
  engine: Engine;
  tok: Tokenizer;
  modelName: string;
  /** Requests waiting in the engine beyond which new ones get 503 (default 4096). */
  maxQueue: number;
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

interface Job {
  ids: number[];
  params: RequestParams;
  index: number;
  /** Text the choice starts with (the echoed prompt). */
  echoText?: string;
}

function checkModel(ctx: ServeContext, r: CommonRequest): void {
  if (r.model !== undefined && r.model !== ctx.modelName && r.model !== 'default') {
    throw new ApiError(404, `The model '${r.model}' does not exist (this server serves '${ctx.modelName}')`, 'model', 'model_not_found');
  }
}

function checkIds(ctx: ServeContext, ids: number[], param: string): void {
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
function submitAll(ctx: ServeContext, jobs: Job[], res: ServerResponse, onDelta?: (job: Job, d: StreamDelta) => void): { handles: RequestHandle[]; outputs: Promise<RequestOutput[]> } {
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

function failed(outs: RequestOutput[]): void {
  const e = outs.find((o) => o.finishReason === 'error');
  if (e) throw new ApiError(500, `generation failed: ${e.error ?? 'unknown error'}`);
  if (outs.some((o) => o.finishReason === 'abort')) throw new ApiError(503, 'the request was cancelled (the server is shutting down)', null, 'cancelled');
}

/** In-band error event for a stream whose request failed or was cancelled by the server (a no-op once the client left). */
function streamError(sse: Sse, reason: string): void {
  sse.send(reason === 'abort'
    ? { error: { message: 'the request was cancelled (the server is shutting down)', type: 'server_error', param: null, code: 'cancelled' } }
    : { error: { message: 'generation failed', type: 'server_error', param: null, code: null } });
}

const created = () => Math.floor(Date.now() / 1000);

export async function completions(ctx: ServeContext, body: unknown, res: ServerResponse): Promise<unknown> {
  const r = parseCompletion(body);
  checkModel(ctx, r);
  const { tok } = ctx;
  if (r.suffix !== undefined && r.echo) throw new ApiError(400, "'echo' cannot be combined with 'suffix'", 'echo');
  const wantLp = r.logprobs !== null;
  const jobs: Job[] = [];
  const promptLens: number[] = [];
  r.prompts.forEach((p, pi) => {
    let ids = 'text' in p ? tok.encode(p.text) : p.ids;
    if (r.suffix !== undefined) ids = [tok.special.fimPrefix, ...ids, tok.special.fimSuffix, ...tok.encode(r.suffix), tok.special.fimMiddle];
    checkIds(ctx, ids, 'prompt');
    const text = 'text' in p ? p.text : tok.decode(p.ids);
    promptLens.push(ids.length);
    for (let j = 0; j < r.n; j++) {
      const params: RequestParams = { ...r.params, stopTokens: r.ignoreEos ? [] : [tok.special.eot] };
      if (r.params.seed !== undefined) params.seed = (r.params.seed + j) >>> 0;
      if (wantLp) params.logprobs = r.logprobs!;
      if (wantLp && r.echo) params.promptLogprobs = r.logprobs!;
      jobs.push({ ids, params, index: pi * r.n + j, ...(r.echo ? { echoText: text } : {}) });
    }
  });
  const id = requestId('cmpl'), model = ctx.modelName;
  const tokenText = (t: number) => tok.decode([t]);
  const promptTokens = promptLens.reduce((a, b) => a + b, 0);
  if (r.stream) return streamCompletion(ctx, jobs, res, { id, model, wantLp, includeUsage: r.includeUsage, promptTokens });
  const { outputs } = submitAll(ctx, jobs, res);
  const outs = await outputs;
  failed(outs);
  const choices = outs.map((o, k) => {
    const job = jobs[k];
    let logprobs: unknown = null;
    if (wantLp) {
      const gen = tokenPieces((ids) => tok.decode(ids, { skipSpecial: true }), o.outputTokens, job.echoText?.length ?? 0);
      let pieces = gen.pieces, offsets = gen.offsets;
      let lps: (TokenLogprob | null)[] = o.logprobs ?? [];
      if (job.echoText !== undefined) {
        const pr = tokenPieces((ids) => tok.decode(ids), job.ids);
        pieces = [...pr.pieces, ...pieces];
        offsets = [...pr.offsets, ...offsets];
        lps = [...(o.promptLogprobs ?? job.ids.map(() => null)), ...lps];
      }
      logprobs = completionLogprobs(pieces, offsets, lps, tokenText);
    }
    return { index: job.index, text: (job.echoText ?? '') + o.text, logprobs, finish_reason: o.finishReason };
  });
  return {
    id, object: 'text_completion', created: created(), model, choices,
    usage: usage(promptTokens, outs.reduce((a, o) => a + o.outputTokens.length, 0)),
  };
}

async function streamCompletion(ctx: ServeContext, jobs: Job[], res: ServerResponse,
  o: { id: string; model: string; wantLp: boolean; includeUsage: boolean; promptTokens: number }): Promise<undefined> {
  const sse = new Sse(res);
  const offsets = new Map<number, number>();
  const chunk = (choices: unknown[]) => ({ id: o.id, object: 'text_completion', created: created(), model: o.model, choices });
  const { outputs } = submitAll(ctx, jobs, res, (job, d) => {
    let off = offsets.get(job.index);
    if (off === undefined) {
      off = job.echoText?.length ?? 0;
      if (job.echoText) sse.send(chunk([{ index: job.index, text: job.echoText, logprobs: null, finish_reason: null }]));
    }
    let logprobs: unknown = null;
    if (o.wantLp && d.tokens.length > 0) {
      const pieces = d.tokens.map((t) => ctx.tok.decode([t.token], { skipSpecial: true }));
      const offs = pieces.map((p) => { const x = off!; off! += p.length; return x; });
      logprobs = completionLogprobs(pieces, offs, d.tokens, (t) => ctx.tok.decode([t]));
    }
    offsets.set(job.index, off);
    if (d.finishReason === 'error' || d.finishReason === 'abort') return streamError(sse, d.finishReason);
    if (d.text || logprobs || d.finishReason) sse.send(chunk([{ index: job.index, text: d.text, logprobs, finish_reason: d.finishReason ?? null }]));
  });
  const outs = await outputs;
  if (o.includeUsage) sse.send({ ...chunk([]), usage: usage(o.promptTokens, outs.reduce((a, x) => a + x.outputTokens.length, 0)) });
  sse.end();
  return undefined;
}

export async function chat(ctx: ServeContext, body: unknown, res: ServerResponse): Promise<unknown> {
  const r = parseChat(body);
  checkModel(ctx, r);
  const { tok } = ctx;
  const ids = tok.renderChat(r.messages, { addGenerationPrompt: true });
  checkIds(ctx, ids, 'messages');
  const jobs: Job[] = Array.from({ length: r.n }, (_, j) => {
    const params: RequestParams = { ...r.params, stopTokens: r.ignoreEos ? [] : [tok.special.endofturn, tok.special.eot] };
    if (params.maxTokens === undefined) params.maxTokens = ctx.engine.config.maxSeqLen;
    if (r.params.seed !== undefined) params.seed = (r.params.seed + j) >>> 0;
    if (r.logprobs) params.logprobs = r.topLogprobs;
    return { ids, params, index: j };
  });
  const id = requestId('chatcmpl'), model = ctx.modelName;
  const tokenText = (t: number) => tok.decode([t]);
  const tokenBytes = (t: number) => Array.from(tok.tokenBytes(t));
  if (r.stream) {
    const sse = new Sse(res);
    const chunk = (choice: unknown) => ({ id, object: 'chat.completion.chunk', created: created(), model, choices: [choice] });
    const started = new Set<number>();
    const { outputs } = submitAll(ctx, jobs, res, (job, d) => {
      if (d.finishReason === 'error' || d.finishReason === 'abort') return streamError(sse, d.finishReason);
      if (!started.has(job.index)) {
        started.add(job.index);
        sse.send(chunk({ index: job.index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }));
      }
      const lp = r.logprobs && d.tokens.length ? chatLogprobs(d.tokens, tokenText, tokenBytes) : null;
      if (d.text || lp) sse.send(chunk({ index: job.index, delta: { content: d.text }, logprobs: lp, finish_reason: null }));
      if (d.finishReason) sse.send(chunk({ index: job.index, delta: {}, logprobs: null, finish_reason: d.finishReason }));
    });
    const outs = await outputs;
    if (r.includeUsage) sse.send({ id, object: 'chat.completion.chunk', created: created(), model, choices: [], usage: usage(ids.length, outs.reduce((a, x) => a + x.outputTokens.length, 0)) });
    sse.end();
    return undefined;
  }
  const { outputs } = submitAll(ctx, jobs, res);
  const outs = await outputs;
  failed(outs);
  return {
    id, object: 'chat.completion', created: created(), model,
    choices: outs.map((o, k) => ({
      index: jobs[k].index, message: { role: 'assistant', content: o.text },
      logprobs: r.logprobs ? chatLogprobs(o.logprobs ?? [], tokenText, tokenBytes) : null, finish_reason: o.finishReason,
    })),
    usage: usage(ids.length, outs.reduce((a, o) => a + o.outputTokens.length, 0)),
  };
}

/** Fill in the middle: <|fim_prefix|> prefix <|fim_suffix|> suffix <|fim_middle|> -> middle, until end-of-text. */
export async function infill(ctx: ServeContext, body: unknown, res: ServerResponse): Promise<unknown> {
  const r = parseInfill(body);
  checkModel(ctx, r);
  const { input_prefix: _a, input_suffix: _b, prefix: _c, ...rest } = body as Record<string, unknown>;
  return completions(ctx, { ...rest, prompt: r.prefix, suffix: r.suffix, echo: false, n: 1 }, res);
}

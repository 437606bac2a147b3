// The OpenAI wire format: validating request bodies into engine parameters (every error names the
// field, in OpenAI's error shape) and the response objects of /v1/completions and /v1/chat/completions.
import type { RequestParams, TokenLogprob } from './sequence.js';

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly param: string | null = null,
              readonly code: string | null = null, readonly type = status === 401 ? 'authentication_error' : status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error') {
    super(message);
  }
  toJSON(): unknown {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

type Obj = Record<string, unknown>;

const bad = (param: string, what: string): never => { throw new ApiError(400, `'${param}' ${what}`, param); };

function num(b: Obj, k: string, lo: number, hi: number, int = false): number | undefined {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (int && !Number.isInteger(v))) {
    bad(k, `must be ${int ? 'an integer' : 'a number'} between ${lo} and ${hi}, got ${JSON.stringify(v)}`);
  }
  return v as number;
}

function bool(b: Obj, k: string): boolean | undefined {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') bad(k, `must be true or false, got ${JSON.stringify(v)}`);
  return v as boolean;
}

function stops(b: Obj): string[] | undefined {
  const v = b.stop;
  if (v === undefined || v === null) return undefined;
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length > 4 || list.some((s) => typeof s !== 'string' || s.length === 0)) {
    bad('stop', 'must be a non-empty string or a list of at most 4 non-empty strings');
  }
  return list as string[];
}

export interface CommonRequest {
  model?: string;
  params: RequestParams;
  /** vLLM's extension: do not stop at end-of-text / end-of-turn (benchmarks with fixed output lengths). */
  ignoreEos: boolean;
  n: number;
  stream: boolean;
  includeUsage: boolean;
}

export function asObject(body: unknown): Obj {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError(400, 'the request body must be a JSON object');
  return body as Obj;
}

function common(b: Obj, defaultMax: number | undefined, maxTokensKey: string): CommonRequest {
  if (b.model !== undefined && typeof b.model !== 'string') bad('model', 'must be a string');
  const seed = num(b, 'seed', -(2 ** 53), 2 ** 53, true);
  const so = b.stream_options;
  if (so !== undefined && so !== null && (typeof so !== 'object' || Array.isArray(so))) bad('stream_options', 'must be an object');
  const maxTokens = num(b, maxTokensKey, 0, 1 << 20, true) ?? defaultMax;
  const params: RequestParams = {
    maxTokens,
    temperature: num(b, 'temperature', 0, 2) ?? 1,
    topP: num(b, 'top_p', 0, 1),
    topK: num(b, 'top_k', -1, 1 << 20, true),
    repetitionPenalty: num(b, 'repetition_penalty', 0.01, 10),
    presencePenalty: num(b, 'presence_penalty', -2, 2),
    frequencyPenalty: num(b, 'frequency_penalty', -2, 2),
    seed: seed === undefined ? undefined : seed >>> 0,
    stop: stops(b),
  };
  if (params.topP === 0) params.topP = 1e-9; // OpenAI accepts 0: only the most likely token
  if (params.topK === -1) params.topK = 0;
  for (const k of Object.keys(params) as (keyof RequestParams)[]) if (params[k] === undefined) delete params[k];
  return {
    model: b.model as string | undefined, params, ignoreEos: bool(b, 'ignore_eos') ?? false, n: num(b, 'n', 1, 16, true) ?? 1, stream: bool(b, 'stream') ?? false,
    includeUsage: (so as Obj | undefined)?.include_usage === true,
  };
}

export type Prompt = { text: string } | { ids: number[] };

export interface CompletionRequest extends CommonRequest {
  prompts: Prompt[];
  echo: boolean;
  logprobs: number | null;
  suffix?: string;
}

export function parseCompletion(body: unknown): CompletionRequest {
  const b = asObject(body);
  const c = common(b, 16, 'max_tokens');
  const p = b.prompt;
  let prompts: Prompt[];
  const isIds = (x: unknown): x is number[] => Array.isArray(x) && x.length > 0 && x.every((t) => Number.isInteger(t));
  if (typeof p === 'string') prompts = [{ text: p }];
  else if (isIds(p)) prompts = [{ ids: p }];
  else if (Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'string')) prompts = (p as string[]).map((text) => ({ text }));
  else if (Array.isArray(p) && p.length > 0 && p.every(isIds)) prompts = (p as number[][]).map((ids) => ({ ids }));
  else return bad('prompt', 'must be a string, a list of strings, a list of token ids or a list of such lists');
  if (prompts.length * c.n > 64) bad('prompt', `asks for ${prompts.length * c.n} completions in one request (at most 64)`);
  const suffix = b.suffix;
  if (suffix !== undefined && suffix !== null && typeof suffix !== 'string') bad('suffix', 'must be a string');
  const logprobs = num(b, 'logprobs', 0, 20, true) ?? null;
  return { ...c, prompts, echo: bool(b, 'echo') ?? false, logprobs, ...(typeof suffix === 'string' ? { suffix } : {}) };
}

export interface ChatRequest extends CommonRequest {
  messages: { role: 'system' | 'user' | 'assistant'; content: string }[];
  logprobs: boolean;
  topLogprobs: number;
}

export function parseChat(body: unknown): ChatRequest {
  const b = asObject(body);
  const maxKey = b.max_completion_tokens !== undefined && b.max_completion_tokens !== null ? 'max_completion_tokens' : 'max_tokens';
  const c = common(b, undefined, maxKey);
  if (!Array.isArray(b.messages) || b.messages.length === 0) bad('messages', 'must be a non-empty list of messages');
  const messages = (b.messages as unknown[]).map((m, i) => {
    const o = m as Obj;
    if (typeof o !== 'object' || o === null) bad(`messages[${i}]`, 'must be an object');
    const role = o.role === 'developer' ? 'system' : o.role;
    if (role !== 'system' && role !== 'user' && role !== 'assistant') bad(`messages[${i}].role`, `must be system, user or assistant, got ${JSON.stringify(o.role)}`);
    let content = o.content;
    if (Array.isArray(content)) {
      content = content.map((part, j) => {
        const q = part as Obj;
        if (q?.type !== 'text' || typeof q.text !== 'string') bad(`messages[${i}].content[${j}]`, 'must be a text part ({"type": "text", "text": ...})');
        return q.text as string;
      }).join('');
    }
    if (typeof content !== 'string') bad(`messages[${i}].content`, 'must be a string or a list of text parts');
    return { role: role as 'system' | 'user' | 'assistant', content: content as string };
  });
  const logprobs = bool(b, 'logprobs') ?? false;
  const top = num(b, 'top_logprobs', 0, 20, true);
  if (top !== undefined && !logprobs) bad('top_logprobs', 'needs logprobs: true');
  return { ...c, messages, logprobs, topLogprobs: top ?? 0 };
}

export interface InfillRequest extends CommonRequest {
  prefix: string;
  suffix: string;
}

/** POST /v1/infill: {prefix | input_prefix | prompt, suffix | input_suffix, ...sampling}. */
export function parseInfill(body: unknown): InfillRequest {
  const b = asObject(body);
  const c = common(b, 64, 'max_tokens');
  const prefix = b.prefix ?? b.input_prefix ?? b.prompt ?? '';
  const suffix = b.suffix ?? b.input_suffix ?? '';
  if (typeof prefix !== 'string') bad('prefix', 'must be a string');
  if (typeof suffix !== 'string') bad('suffix', 'must be a string');
  if (c.n !== 1) bad('n', 'must be 1 for infill');
  return { ...c, prefix: prefix as string, suffix: suffix as string };
}

/** The legacy completions logprobs object. */
export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
}

export function completionLogprobs(pieces: string[], offsets: number[], lps: (TokenLogprob | null)[], tokenText: (id: number) => string): CompletionLogprobs {
  return {
    tokens: pieces,
    token_logprobs: lps.map((l) => (l ? l.logprob : null)),
    top_logprobs: lps.map((l) => {
      if (!l?.top) return null;
      const o: Record<string, number> = {};
      for (const t of l.top) {
        const s = tokenText(t.token);
        if (!(s in o)) o[s] = t.logprob;
      }
      return o;
    }),
    text_offset: offsets,
  };
}

/** The chat logprobs object: one entry per token with its bytes and top alternatives. */
export function chatLogprobs(lps: TokenLogprob[], tokenText: (id: number) => string, tokenBytes: (id: number) => number[]): { content: unknown[] } {
  const entry = (t: { token: number; logprob: number }) => ({ token: tokenText(t.token), logprob: t.logprob, bytes: tokenBytes(t.token) });
  return { content: lps.map((l) => ({ ...entry(l), top_logprobs: (l.top ?? []).map(entry) })) };
}

export const usage = (prompt: number, completion: number) => ({ prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion });

let counter = 0;
export const requestId = (prefix: string): string => `${prefix}-${Date.now().toString(36)}${(counter++).toString(36).padStart(4, '0')}`;

/** Client-facing finish reason ('abort' and 'error' never reach a client that is still listening as such). */
export const finishReason = (r: string): string => (r === 'stop' ? 'stop' : r === 'length' ? 'length' : r);

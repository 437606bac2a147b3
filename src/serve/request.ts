// Reading OpenAI request bodies into engine parameters. Every error names the field, in OpenAI's error
// shape. A parameter hcx does not implement is a 400 naming it, never silently ignored; the few that only
// describe the caller (user, metadata) are accepted.
import type { RequestParams } from './sequence.js';
import { ApiError } from './openai.js';
import { parseMessages, parseResponseFormat, parseTools, type ChatMessageIn, type ResponseFormat, type ToolChoice, type ToolSpec } from './request_chat.js';

export type Obj = Record<string, unknown>;

export const bad = (param: string, what: string): never => { throw new ApiError(400, `'${param}' ${what}`, param); };

function num(b: Obj, k: string, lo: number, hi: number, int = false): number | undefined {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (int && !Number.isInteger(v))) {
    bad(k, `must be ${int ? 'an integer' : 'a number'} between ${lo} and ${hi}, got ${JSON.stringify(v)}`);
  }
  return v as number;
}

export function bool(b: Obj, k: string): boolean | undefined {
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

/** OpenAI's logit_bias: {"token id": bias in -100..100}. */
function logitBias(b: Obj): Record<number, number> | undefined {
  const v = b.logit_bias;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) return bad('logit_bias', 'must be an object mapping token ids to biases');
  const out: Record<number, number> = {};
  for (const [k, x] of Object.entries(v as Obj)) {
    if (!/^\d+$/.test(k)) bad('logit_bias', `key ${JSON.stringify(k)} is not a token id`);
    if (typeof x !== 'number' || !(x >= -100 && x <= 100)) bad('logit_bias', `bias of token ${k} must be a number between -100 and 100, got ${JSON.stringify(x)}`);
    out[Number(k)] = x as number;
  }
  return out;
}

// Parameters each route understands. Others: a 400 naming them (as OpenAI answers "Unrecognized request argument").
const SAMPLING = ['model', 'temperature', 'top_p', 'top_k', 'n', 'stream', 'stream_options', 'stop', 'seed', 'presence_penalty', 'frequency_penalty',
  'repetition_penalty', 'logit_bias', 'ignore_eos', 'user', 'metadata', 'response_format'];
const KNOWN = {
  completions: new Set([...SAMPLING, 'prompt', 'suffix', 'max_tokens', 'logprobs', 'echo', 'best_of']),
  chat: new Set([...SAMPLING, 'messages', 'max_tokens', 'max_completion_tokens', 'logprobs', 'top_logprobs', 'tools', 'tool_choice', 'parallel_tool_calls', 'store']),
  infill: new Set([...SAMPLING, 'prompt', 'prefix', 'input_prefix', 'suffix', 'input_suffix', 'max_tokens', 'logprobs', 'echo']),
};
const NOT_SUPPORTED: Record<string, string> = {
  functions: "is deprecated and not supported; use 'tools'",
  function_call: "is deprecated and not supported; use 'tool_choice'",
  audio: 'is not supported (this server outputs text only)',
  modalities: 'is not supported (this server outputs text only)',
  prediction: 'is not supported (no predicted outputs)',
  reasoning_effort: 'is not supported (the model has no reasoning mode)',
  web_search_options: 'is not supported',
  min_p: 'is not supported (use top_p or top_k)',
  best_of: "is supported only equal to 'n' (no server-side ranking of candidates)",
  store: 'true is not supported (this server stores no completions)',
};

function checkKnown(b: Obj, route: keyof typeof KNOWN): void {
  for (const k of Object.keys(b)) {
    if (b[k] === undefined || b[k] === null) continue;
    if (!KNOWN[route].has(k)) throw new ApiError(400, `'${k}' ${NOT_SUPPORTED[k] ?? 'is not a parameter this server supports'}`, k, 'unsupported_parameter');
  }
  const so = b.stream_options;
  if (so !== undefined && so !== null) {
    if (typeof so !== 'object' || Array.isArray(so)) bad('stream_options', 'must be an object');
    for (const k of Object.keys(so as Obj)) if (k !== 'include_usage') throw new ApiError(400, `'stream_options.${k}' is not supported`, `stream_options.${k}`, 'unsupported_parameter');
  }
  if (b.metadata !== undefined && b.metadata !== null && (typeof b.metadata !== 'object' || Array.isArray(b.metadata))) bad('metadata', 'must be an object');
  if (b.user !== undefined && b.user !== null && typeof b.user !== 'string') bad('user', 'must be a string');
  if (b.store === true) throw new ApiError(400, `'store' ${NOT_SUPPORTED.store}`, 'store', 'unsupported_parameter');
}

export interface CommonRequest {
  model?: string;
  params: RequestParams;
  /** vLLM's extension: do not stop at end-of-text / end-of-turn (benchmarks with fixed output lengths). */
  ignoreEos: boolean;
  n: number;
  stream: boolean;
  includeUsage: boolean;
  responseFormat: ResponseFormat;
}

export function asObject(body: unknown): Obj {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError(400, 'the request body must be a JSON object');
  return body as Obj;
}

function common(b: Obj, defaultMax: number | undefined, maxTokensKey: string): CommonRequest {
  if (b.model !== undefined && typeof b.model !== 'string') bad('model', 'must be a string');
  const seed = num(b, 'seed', -(2 ** 53), 2 ** 53, true);
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
    logitBias: logitBias(b),
  };
  if (params.topP === 0) params.topP = 1e-9; // OpenAI accepts 0: only the most likely token
  if (params.topK === -1) params.topK = 0;
  for (const k of Object.keys(params) as (keyof RequestParams)[]) if (params[k] === undefined) delete params[k];
  return {
    model: b.model as string | undefined, params, ignoreEos: bool(b, 'ignore_eos') ?? false, n: num(b, 'n', 1, 1 << 10, true) ?? 1, stream: bool(b, 'stream') ?? false,
    includeUsage: (b.stream_options as Obj | undefined)?.include_usage === true,
    responseFormat: parseResponseFormat(b.response_format),
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
  checkKnown(b, 'completions');
  const c = common(b, 16, 'max_tokens');
  const p = b.prompt;
  let prompts: Prompt[];
  const isIds = (x: unknown): x is number[] => Array.isArray(x) && x.length > 0 && x.every((t) => Number.isInteger(t));
  if (typeof p === 'string') prompts = [{ text: p }];
  else if (isIds(p)) prompts = [{ ids: p }];
  else if (Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'string')) prompts = (p as string[]).map((text) => ({ text }));
  else if (Array.isArray(p) && p.length > 0 && p.every(isIds)) prompts = (p as number[][]).map((ids) => ({ ids }));
  else return bad('prompt', 'must be a string, a list of strings, a list of token ids or a list of such lists');
  const bestOf = num(b, 'best_of', 1, 1 << 10, true);
  if (bestOf !== undefined && bestOf !== c.n) throw new ApiError(400, `'best_of' ${NOT_SUPPORTED.best_of}`, 'best_of', 'unsupported_parameter');
  const suffix = b.suffix;
  if (suffix !== undefined && suffix !== null && typeof suffix !== 'string') bad('suffix', 'must be a string');
  const logprobs = num(b, 'logprobs', 0, 1 << 10, true) ?? null;
  return { ...c, prompts, echo: bool(b, 'echo') ?? false, logprobs, ...(typeof suffix === 'string' ? { suffix } : {}) };
}

export interface ChatRequest extends CommonRequest {
  messages: ChatMessageIn[];
  logprobs: boolean;
  topLogprobs: number;
  tools: ToolSpec[];
  toolChoice: ToolChoice;
  parallelToolCalls: boolean;
}

export function parseChat(body: unknown): ChatRequest {
  const b = asObject(body);
  checkKnown(b, 'chat');
  const maxKey = b.max_completion_tokens !== undefined && b.max_completion_tokens !== null ? 'max_completion_tokens' : 'max_tokens';
  const c = common(b, undefined, maxKey);
  const messages = parseMessages(b.messages);
  const logprobs = bool(b, 'logprobs') ?? false;
  const top = num(b, 'top_logprobs', 0, 1 << 10, true);
  if (top !== undefined && !logprobs) bad('top_logprobs', 'needs logprobs: true');
  const { tools, toolChoice } = parseTools(b.tools, b.tool_choice);
  if (toolChoice.kind !== 'none' && toolChoice.kind !== 'auto' && c.responseFormat.type !== 'text') {
    throw new ApiError(400, "'response_format' cannot be combined with a required or named 'tool_choice'", 'response_format');
  }
  return { ...c, messages, logprobs, topLogprobs: top ?? 0, tools, toolChoice, parallelToolCalls: bool(b, 'parallel_tool_calls') ?? true };
}

export interface InfillRequest extends CommonRequest {
  prefix: string;
  suffix: string;
}

/** POST /v1/infill: {prefix | input_prefix | prompt, suffix | input_suffix, ...sampling}. */
export function parseInfill(body: unknown): InfillRequest {
  const b = asObject(body);
  checkKnown(b, 'infill');
  const c = common(b, 64, 'max_tokens');
  const prefix = b.prefix ?? b.input_prefix ?? b.prompt ?? '';
  const suffix = b.suffix ?? b.input_suffix ?? '';
  if (typeof prefix !== 'string') bad('prefix', 'must be a string');
  if (typeof suffix !== 'string') bad('suffix', 'must be a string');
  if (c.n !== 1) bad('n', 'must be 1 for infill');
  return { ...c, prefix: prefix as string, suffix: suffix as string };
}

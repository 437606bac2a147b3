// How much work one request may ask for. One maximal request used to cost half a gigabyte and half a
// minute of both cores (4 prompts x n 16 x 20 logprobs with echo); each limit is a server option, and a
// request over one gets a 400 naming the limit, its value and the flag that sets it.
import { ApiError } from './openai.js';

export interface RequestLimits {
  /** Choices in one request: prompts x n (default 64). */
  maxChoices: number;
  /** max_tokens of one choice (default: the model's context). */
  maxTokens: number;
  /** logprobs / top_logprobs alternatives (default 20). */
  maxLogprobs: number;
  /** Prompt tokens scored for echo with logprobs, summed over the prompts (default 8192). */
  maxEchoTokens: number;
  /** Tokens one request may occupy: the sum over its choices of prompt + max_tokens (default 262144). */
  maxRequestTokens: number;
}

export const LIMIT_FLAGS: Record<keyof RequestLimits, string> = {
  maxChoices: 'max-choices', maxTokens: 'max-tokens-limit', maxLogprobs: 'max-logprobs', maxEchoTokens: 'max-echo-tokens', maxRequestTokens: 'max-request-tokens',
};

export function defaultLimits(contextLength: number, o: Partial<RequestLimits> = {}): RequestLimits {
  const l: RequestLimits = { maxChoices: 64, maxTokens: contextLength, maxLogprobs: 20, maxEchoTokens: 8192, maxRequestTokens: 262_144, ...o };
  for (const [k, v] of Object.entries(l)) if (!(Number.isInteger(v) && v >= 0)) throw new Error(`--${LIMIT_FLAGS[k as keyof RequestLimits]} must be a non-negative integer, got ${v}`);
  return l;
}

/** Throws a 400 when `value` exceeds limit `name`. */
export function checkLimit(limits: RequestLimits, name: keyof RequestLimits, value: number, param: string | null, what: string): void {
  const max = limits[name];
  if (value > max) {
    const snake = name.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
    throw new ApiError(400, `${what} is ${value}, over this server's limit ${snake} = ${max} (hcx serve --${LIMIT_FLAGS[name]})`, param, 'limit_exceeded');
  }
}

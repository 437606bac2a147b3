// The OpenAI wire format: the error shape and the response objects of /v1/completions and
// /v1/chat/completions (request bodies are read in request.ts).
import type { TokenLogprob } from './sequence.js';

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly param: string | null = null,
              readonly code: string | null = null, readonly type = status === 401 ? 'authentication_error' : status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error') {
    super(message);
  }
  toJSON(): unknown {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
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

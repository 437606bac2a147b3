// Any OpenAI-compatible server. Log-likelihoods come from /v1/completions with echo=true and logprobs
// (lm-eval's local-completions semantics: the prompt is context+continuation, max_tokens 1, and the
// continuation's tokens are those whose text_offset lies at or after the context); generation uses
// /v1/completions, or /v1/chat/completions for chat requests or when `chat` is set.
// A concurrency limit bounds requests in flight; 429/5xx and network errors retry with exponential backoff.
import type { EvalModel, GenerateRequest, LoglikelihoodRequest, LoglikelihoodResult, ChatMessage } from '../model.js';
import { cutAtStop } from '../model.js';

export interface OpenAIOptions {
  baseUrl: string;
  model: string;
  apiKey?: string;
  concurrency?: number;
  /** Prompts per /v1/completions request (1 = batching off). */
  batchSize?: number;
  retries?: number;
  /** First backoff delay in ms (doubles each retry, with jitter). */
  backoffMs?: number;
  timeoutMs?: number;
  /** Use chat completions for generation. */
  chat?: boolean;
}

interface CompletionChoice {
  text: string;
  index: number;
  finish_reason?: string | null;
  logprobs?: { tokens: string[]; token_logprobs: (number | null)[]; top_logprobs?: (Record<string, number> | null)[]; text_offset: number[] };
}

export class HttpError extends Error {
  constructor(readonly status: number, body: string) { super(`HTTP ${status}: ${body.slice(0, 300)}`); }
}

class Semaphore {
  private active = 0;
  private queue: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.queue.push(r));
    this.active++;
    try { return await fn(); } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class OpenAIModel implements EvalModel {
  readonly id: string;
  private sem: Semaphore;
  /** Requests sent, including retries (for tests and benchmarks). */
  requestsSent = 0;

  constructor(readonly o: OpenAIOptions) {
    this.id = `openai:${o.model}@${o.baseUrl}`;
    this.sem = new Semaphore(o.concurrency ?? 8);
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    const retries = this.o.retries ?? 5;
    const base = this.o.backoffMs ?? 500;
    return this.sem.run(async () => {
      for (let attempt = 0; ; attempt++) {
        this.requestsSent++;
        try {
          const res = await fetch(this.o.baseUrl.replace(/\/$/, '') + path, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...(this.o.apiKey ? { authorization: `Bearer ${this.o.apiKey}` } : {}) },
            body: JSON.stringify(body),
            signal: AbortSignal.timeout(this.o.timeoutMs ?? 600_000),
          });
          const text = await res.text();
          if (!res.ok) {
            const err = new HttpError(res.status, text);
            if ((res.status === 429 || res.status >= 500) && attempt < retries) {
              const ra = Number(res.headers.get('retry-after'));
              await sleep(Number.isFinite(ra) && ra > 0 ? ra * 1000 : base * 2 ** attempt * (0.5 + Math.random()));
              continue;
            }
            throw err;
          }
          return JSON.parse(text) as T;
        } catch (e) {
          if (e instanceof HttpError || attempt >= retries) throw e;
          await sleep(base * 2 ** attempt * (0.5 + Math.random())); // network error, timeout
        }
      }
    });
  }

  private chunks<T>(xs: T[]): T[][] {
    const n = Math.max(1, this.o.batchSize ?? 1);
    const out: T[][] = [];
    for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
    return out;
  }

  async loglikelihood(reqs: LoglikelihoodRequest[]): Promise<LoglikelihoodResult[]> {
    const indexed = reqs.map((r, i) => ({ r, i }));
    const out = new Array<LoglikelihoodResult>(reqs.length);
    await Promise.all(this.chunks(indexed).map(async (chunk) => {
      const res = await this.post<{ choices: CompletionChoice[] }>('/v1/completions', {
        model: this.o.model, prompt: chunk.map(({ r }) => r.context + r.continuation), echo: true, max_tokens: 1, logprobs: 1, temperature: 0,
      });
      const byIndex = [...res.choices].sort((a, b) => a.index - b.index);
      // lm-eval's encode-pair: trailing spaces of the context belong to the continuation.
      chunk.forEach(({ r, i }, j) => (out[i] = parseEcho(byIndex[j], r.context.replace(/ +$/, '').length, (r.context + r.continuation).length)));
    }));
    return out;
  }

  async loglikelihoodRolling(texts: string[]): Promise<number[]> {
    const res = await this.loglikelihood(texts.map((t) => ({ context: '', continuation: t })));
    return res.map((r) => r.logprob);
  }

  async generateUntil(reqs: GenerateRequest[]): Promise<string[]> {
    return Promise.all(reqs.map(async (r) => {
      const stop = r.until.filter(Boolean).slice(0, 4); // the OpenAI API takes at most 4; the rest are cut client-side
      const sampling = { max_tokens: r.maxTokens, temperature: r.temperature, ...(r.topP !== undefined ? { top_p: r.topP } : {}), ...(r.seed !== undefined ? { seed: r.seed } : {}), ...(stop.length ? { stop } : {}) };
      if (this.o.chat || typeof r.context !== 'string') {
        const messages: ChatMessage[] = typeof r.context === 'string' ? [{ role: 'user', content: r.context }] : r.context;
        const res = await this.post<{ choices: { message: { content: string } }[] }>('/v1/chat/completions', { model: this.o.model, messages, ...sampling });
        return cutAtStop(res.choices[0]?.message?.content ?? '', r.until);
      }
      const res = await this.post<{ choices: CompletionChoice[] }>('/v1/completions', { model: this.o.model, prompt: r.context, ...sampling });
      return cutAtStop(res.choices[0]?.text ?? '', r.until);
    }));
  }
}

/**
 * Sum the echoed prompt's token logprobs that belong to the continuation: tokens starting at or after
 * the context's end (a token straddling the boundary counts to the continuation), and before the prompt's end
 * (the generated tokens are dropped, as lm-eval's [ctxlen:-1]). When generation stopped at its length the
 * last `generated` entries are the generated ones; counting them matters when the prompt ends inside a
 * multi-byte character, whose trailing byte tokens sit at the prompt's end offset like a generated token.
 * Otherwise (a stop token ended it, and servers differ on listing it) offsets decide.
 */
export function parseEcho(choice: CompletionChoice | undefined, ctxChars: number, promptChars: number, generated = 1): LoglikelihoodResult {
  const lp = choice?.logprobs;
  if (!lp) throw new Error('the server returned no logprobs: loglikelihood needs /v1/completions with echo and logprobs');
  let logprob = 0;
  let isGreedy = true;
  let n = 0;
  let promptTokens = lp.tokens.length;
  if (choice?.finish_reason === 'length') promptTokens -= generated;
  else if (choice?.finish_reason === 'stop' && promptTokens > 0) {
    // A stop token's entry (OpenAI, vLLM and hcx list it) sits at the prompt's end; so do the trailing byte
    // tokens of a prompt that ends in a multi-byte character, but those read as U+FFFD or nothing.
    const k = promptTokens - 1;
    if (lp.text_offset[k] >= promptChars && !/^\uFFFD*$/.test(lp.tokens[k])) promptTokens = k;
  }
  for (let i = 0; i < promptTokens; i++) {
    const start = lp.text_offset[i];
    const end = i + 1 < lp.text_offset.length ? lp.text_offset[i + 1] : start + lp.tokens[i].length;
    if (start > promptChars) break;
    if (end <= ctxChars) continue;
    const l = lp.token_logprobs[i];
    if (l === null) throw new Error('the server gave no logprob for a continuation token');
    logprob += l;
    n++;
    const top = lp.top_logprobs?.[i];
    if (top) {
      let best = '';
      let bestL = -Infinity;
      for (const [t, v] of Object.entries(top)) if (v > bestL) { best = t; bestL = v; }
      if (best !== lp.tokens[i] && bestL > l) isGreedy = false;
    }
  }
  if (n === 0) throw new Error('no continuation tokens found in the echoed prompt');
  return { logprob, isGreedy };
}

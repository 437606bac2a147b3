// The model interface of the harness: lm-evaluation-harness's three request types, batched.
// Backends implement EvalModel directly (the OpenAI-compatible client) or implement the token-level
// TokenLM and get EvalModel from TokenLMAdapter (llama.cpp today, hcx's own engine later).

export interface ChatMessage { role: 'system' | 'user' | 'assistant'; content: string }

export interface LoglikelihoodRequest { context: string; continuation: string }
export interface LoglikelihoodResult { logprob: number; isGreedy: boolean }
export interface GenerateRequest {
  /** Raw prompt, or chat messages (backends with a chat template apply it). */
  context: string | ChatMessage[];
  until: string[];
  maxTokens: number;
  temperature: number;
  topP?: number;
  seed?: number;
}

export interface EvalModel {
  /** Identifies the model in results and the cache key. */
  readonly id: string;
  loglikelihood(reqs: LoglikelihoodRequest[]): Promise<LoglikelihoodResult[]>;
  /** Full-text log-likelihood with disjoint rolling windows (perplexity). */
  loglikelihoodRolling(texts: string[]): Promise<number[]>;
  generateUntil(reqs: GenerateRequest[]): Promise<string[]>;
  close?(): Promise<void>;
}

/** One scored sequence: log p(tokens[i] | tokens[<i]) for i in [from, tokens.length). */
export interface ScoreRequest { tokens: number[]; from: number }
export interface ScoreResult {
  logprobs: number[];
  /** Whether tokens[i] was the argmax at its position. */
  greedy: boolean[];
  /** The argmax token and its log-probability at each scored position (for servers' top_logprobs). */
  argmax: number[];
  argmaxLogprob: number[];
}

/**
 * A token-level language model: what hcx's engine (or any engine) must provide to be evaluated.
 * Tokenization must be deterministic; `score` must be exact log-softmax over the full vocabulary.
 */
export interface TokenLM {
  readonly id: string;
  /** Longest sequence `score` accepts. */
  readonly maxLength: number;
  /** Token prepended to every sequence (BOS), or null. Also the context of an empty-context request. */
  readonly prefixToken: number | null;
  readonly eosTokens: number[];
  tokenize(text: string): Promise<number[]>;
  detokenize(tokens: number[]): Promise<string>;
  score(batch: ScoreRequest[]): Promise<ScoreResult[]>;
  /** Sample up to maxTokens after `tokens`; `shouldStop` sees the text generated so far. */
  generate(tokens: number[], opts: { maxTokens: number; temperature: number; topP?: number; seed?: number; shouldStop(text: string): boolean }): Promise<string>;
  /** Apply the model's chat template, when it has one. */
  applyChatTemplate?(messages: ChatMessage[]): Promise<string>;
  close?(): Promise<void>;
}

/** Cut a generation at the first stop sequence (lm-eval: text.split(term)[0] for each term). */
export function cutAtStop(text: string, until: string[]): string {
  let end = text.length;
  for (const s of until) {
    if (!s) continue;
    const i = text.indexOf(s);
    if (i >= 0 && i < end) end = i;
  }
  return text.slice(0, end);
}

/**
 * lm-eval's HFLM semantics on top of a TokenLM:
 * - context/continuation split (_encode_pair): trailing spaces of the context move to the continuation;
 *   whole = enc(context+continuation), context_enc = enc(context), continuation_enc = whole[len(context_enc):];
 * - an empty context scores after the prefix token;
 * - left truncation to maxLength; rolling windows of maxLength with the prefix token as the first context.
 */
export class TokenLMAdapter implements EvalModel {
  constructor(readonly lm: TokenLM) {}
  get id(): string { return this.lm.id; }

  async encodePair(context: string, continuation: string): Promise<[number[], number[]]> {
    const nSpaces = context.length - context.replace(/ +$/, '').length;
    if (nSpaces > 0) {
      continuation = context.slice(context.length - nSpaces) + continuation;
      context = context.slice(0, context.length - nSpaces);
    }
    const prefix = this.lm.prefixToken === null ? [] : [this.lm.prefixToken];
    if (context === '') {
      const cont = await this.lm.tokenize(continuation);
      return [prefix, cont];
    }
    const whole = await this.lm.tokenize(context + continuation);
    const ctx = await this.lm.tokenize(context);
    return [[...prefix, ...ctx], whole.slice(ctx.length)];
  }

  async loglikelihood(reqs: LoglikelihoodRequest[]): Promise<LoglikelihoodResult[]> {
    const batch: ScoreRequest[] = [];
    for (const r of reqs) {
      const [ctx, cont] = await this.encodePair(r.context, r.continuation);
      if (cont.length === 0) throw new Error(`loglikelihood: empty continuation for ${JSON.stringify(r.continuation)}`);
      if (ctx.length === 0) throw new Error('loglikelihood: a model without a prefix token cannot score an empty context');
      let tokens = [...ctx, ...cont];
      if (tokens.length > this.lm.maxLength) tokens = tokens.slice(tokens.length - this.lm.maxLength);
      batch.push({ tokens, from: tokens.length - cont.length });
    }
    const out = await this.lm.score(batch);
    return out.map((o) => ({ logprob: o.logprobs.reduce((a, b) => a + b, 0), isGreedy: o.greedy.every(Boolean) }));
  }

  async loglikelihoodRolling(texts: string[]): Promise<number[]> {
    const res: number[] = [];
    for (const text of texts) {
      const toks = await this.lm.tokenize(text);
      const prefix = this.lm.prefixToken;
      if (prefix === null) throw new Error('loglikelihoodRolling needs a prefix token');
      const windows: ScoreRequest[] = [];
      const L = this.lm.maxLength;
      // Disjoint windows (lm-eval get_rolling_token_windows with context_len 1).
      for (let start = 0; start < toks.length; start += L) {
        const pred = toks.slice(start, start + L);
        const ctx = start === 0 ? [prefix] : toks.slice(start - 1, start);
        windows.push({ tokens: [...ctx, ...pred], from: ctx.length });
      }
      const out = await this.lm.score(windows);
      res.push(out.reduce((a, o) => a + o.logprobs.reduce((x, y) => x + y, 0), 0));
    }
    return res;
  }

  async generateUntil(reqs: GenerateRequest[]): Promise<string[]> {
    return Promise.all(reqs.map(async (r) => {
      const text = typeof r.context === 'string' ? r.context : this.lm.applyChatTemplate ? await this.lm.applyChatTemplate(r.context) : r.context.map((m) => `${m.role}: ${m.content}`).join('\n') + '\nassistant:';
      const prefix = this.lm.prefixToken === null ? [] : [this.lm.prefixToken];
      let tokens = [...prefix, ...(await this.lm.tokenize(text))];
      const room = this.lm.maxLength - r.maxTokens;
      if (room > 0 && tokens.length > room) tokens = tokens.slice(tokens.length - room);
      const out = await this.lm.generate(tokens, {
        maxTokens: r.maxTokens, temperature: r.temperature, topP: r.topP, seed: r.seed,
        shouldStop: (t) => r.until.some((s) => s && t.includes(s)),
      });
      return cutAtStop(out, r.until);
    }));
  }

  close(): Promise<void> { return this.lm.close?.() ?? Promise.resolve(); }
}

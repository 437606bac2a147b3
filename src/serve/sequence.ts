// One request's state inside the engine: its tokens (prompt, then output), how many of them have keys
// and values in the cache, its block table, sampling parameters and what it has produced so far.
import { Rng } from '../tensor/index.js';
import type { SamplingOptions } from '../model/sampling.js';
import { TextStream, type Decode } from './text_stream.js';

export type FinishReason = 'stop' | 'length' | 'abort' | 'error';

export interface RequestParams extends SamplingOptions {
  /** New tokens at most (default 16); also capped by the model's maxSeqLen. */
  maxTokens?: number;
  /** Generation ends after any of these token ids (not included in the output). */
  stopTokens?: number[];
  /** Generation ends when the text contains one of these; the text is cut before it. */
  stop?: string[];
  seed?: number;
  /** Log-probabilities of each generated token, plus this many top alternatives (0..20). */
  logprobs?: number;
  /** Log-probabilities of every prompt token after the first (for echo), plus top alternatives. */
  promptLogprobs?: number;
  /** Added to the logits of these token ids before sampling (OpenAI's logit_bias; -100 bans, 100 forces). */
  logitBias?: Record<number, number>;
  /** Masks the tokens that may not come next (JSON schema / tool-call grammars); per request, stateful. */
  constraint?: TokenConstraint;
}

export interface TokenConstraint {
  /** Sets the logits of the tokens that may not come next to -Infinity. */
  mask(logits: Float32Array): void;
  /** Advances past a sampled (non-stop) token. */
  accept(token: number): void;
}

export interface TokenLogprob {
  token: number;
  logprob: number;
  /** The most likely tokens at this position, best first. */
  top?: { token: number; logprob: number }[];
}

export interface StreamDelta {
  /** Text that became final at this step. */
  text: string;
  /** Tokens generated at this step (with logprobs when asked). */
  tokens: TokenLogprob[];
  /** Set when tokens[0] is the stop token that ends the request (it adds no text). */
  stopToken?: number;
  /** On a request's first delta, when prompt logprobs were asked for. */
  promptLogprobs?: (TokenLogprob | null)[];
  finishReason?: FinishReason;
}

export interface RequestOutput {
  id: number;
  promptTokens: number[];
  outputTokens: number[];
  /** Decoded output (cut at a stop string), when the engine has a decoder. */
  text: string;
  finishReason: FinishReason;
  /** The stop token that ended generation (generated, but not in outputTokens or the text). */
  stopToken?: number;
  /** Per generated token, when logprobs were asked for; the stop token's entry comes last. */
  logprobs?: TokenLogprob[];
  /** Per prompt token (null for the first), when promptLogprobs was asked for. */
  promptLogprobs?: (TokenLogprob | null)[];
  /** Prompt tokens whose keys and values came from the prefix cache. */
  cachedTokens: number;
  preemptions: number;
  /** Milliseconds since the engine's clock start (performance.now()). */
  arrivalMs: number;
  firstTokenMs?: number;
  finishMs?: number;
  error?: string;
}

export type SeqStatus = 'waiting' | 'running' | 'finished';

export class Sequence {
  readonly tokens: number[];
  readonly output: number[] = [];
  numComputed = 0;
  readonly blockTable: number[] = [];
  /** Chain hashes of the full blocks in blockTable (prefix caching). */
  readonly blockHashes: string[] = [];
  status: SeqStatus = 'waiting';
  finishReason: FinishReason | null = null;
  readonly rng: Rng;
  readonly maxTokens: number;
  readonly stopTokens: Set<number>;
  readonly logitBias: [number, number][] | null;
  readonly text: TextStream | null;
  readonly logprobs: TokenLogprob[] = [];
  readonly promptLogprobs: (TokenLogprob | null)[];
  /** The stop token that ended generation, if one did. */
  stopToken?: number;
  /** Whether a delta was sent yet. */
  emitted = false;
  cachedTokens = 0;
  preemptions = 0;
  firstTokenMs?: number;
  lastTokenMs?: number;
  finishMs?: number;
  error?: string;

  constructor(readonly id: number, readonly prompt: readonly number[], readonly params: RequestParams, maxSeqLen: number,
              decode: Decode | null, readonly arrivalMs: number) {
    this.tokens = prompt.slice();
    this.maxTokens = Math.max(0, Math.min(params.maxTokens ?? 16, maxSeqLen - prompt.length));
    this.stopTokens = new Set(params.stopTokens ?? []);
    const bias = Object.entries(params.logitBias ?? {}).map(([k, v]) => [Number(k), v] as [number, number]);
    this.logitBias = bias.length > 0 ? bias : null;
    this.rng = new Rng(params.seed ?? ((Math.random() * 2 ** 32) >>> 0));
    this.text = decode ? new TextStream(decode, params.stop ?? []) : null;
    this.promptLogprobs = params.promptLogprobs !== undefined ? new Array<TokenLogprob | null>(prompt.length).fill(null) : [];
  }

  get promptLength(): number {
    return this.prompt.length;
  }

  /** Tokens that still need a forward pass before the next one can be sampled. */
  get remaining(): number {
    return this.tokens.length - this.numComputed;
  }

  get wantsPromptLogprobs(): boolean {
    return this.params.promptLogprobs !== undefined;
  }

  /** Blocks needed to hold `n` more computed tokens. */
  blocksFor(n: number, blockSize: number): number {
    return Math.max(0, Math.ceil((this.numComputed + n) / blockSize) - this.blockTable.length);
  }

  result(): RequestOutput {
    return {
      id: this.id, promptTokens: this.prompt.slice(), outputTokens: this.output.slice(), text: this.text?.finalText ?? '',
      finishReason: this.finishReason ?? 'abort', ...(this.stopToken !== undefined ? { stopToken: this.stopToken } : {}),
      ...(this.params.logprobs !== undefined ? { logprobs: this.logprobs.slice() } : {}),
      ...(this.wantsPromptLogprobs ? { promptLogprobs: this.promptLogprobs.slice() } : {}),
      cachedTokens: this.cachedTokens, preemptions: this.preemptions, arrivalMs: this.arrivalMs,
      firstTokenMs: this.firstTokenMs, finishMs: this.finishMs, ...(this.error ? { error: this.error } : {}),
    };
  }
}

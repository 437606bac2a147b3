// The continuous-batching inference engine. Every step: the scheduler picks sequences and token counts,
// one packed forward pass runs them all over the paged KV cache, each sequence that finished its
// prompt samples a token with its own parameters, and finished or cancelled sequences leave, freeing
// their blocks. Requests join and leave between any two steps; the loop yields to the event loop after
// each step so the server keeps accepting and streaming while the model runs.
import type { Transformer } from '../model/transformer.js';
import { native } from '../native/index.js';
import { sampleToken, validateSampling } from '../model/sampling.js';
import { BlockManager } from './block_manager.js';
import { KVPool, planBlocks, type KVDtype } from './kv_pool.js';
import { tokenLogprob } from './logprobs.js';
import { EngineMetrics } from './engine_metrics.js';
import { PagedModel, type StepBatch } from './paged_forward.js';
import { Scheduler, type ScheduledSeq } from './scheduler.js';
import { RequestHandle } from './request_handle.js';
import { Sequence, type FinishReason, type RequestParams, type StreamDelta, type TokenLogprob } from './sequence.js';
import type { Decode } from './text_stream.js';

export interface EngineOptions {
  /** Tokens per KV block (default 16). */
  blockSize?: number;
  /** KV blocks; default from kvMemoryBytes. */
  numBlocks?: number;
  /** Byte budget of the KV cache (default 512 MiB, capped by maxRunning full-length sequences). */
  kvMemoryBytes?: number;
  /** Tokens per step (default 512). */
  maxTokensPerStep?: number;
  /** Running sequences at most (default 256). */
  maxRunning?: number;
  /** Reuse KV blocks of shared prompt prefixes (default true). */
  prefixCaching?: boolean;
  /** Token ids -> text, for stop strings and streamed text. */
  decode?: Decode;
  /** KV cache element type (default: bf16 when the model multiplies in bf16, else f32). */
  kvDtype?: KVDtype;
  /** Run steps on the event loop as soon as there is work (default true); false: the caller calls step(). */
  autoRun?: boolean;
}

export interface StepInfo {
  sequences: number;
  tokens: number;
  prefillTokens: number;
  decodeTokens: number;
  preempted: number;
  ms: number;
}

const now = (): number => performance.now();

export class Engine {
  readonly pool: KVPool;
  readonly blocks: BlockManager;
  readonly scheduler: Scheduler;
  readonly paged: PagedModel;
  readonly metrics: EngineMetrics;
  private readonly live = new Map<number, { seq: Sequence; handle: RequestHandle }>();
  private nextId = 1;
  private loopScheduled = false;
  private inStep = false;
  private closed = false;
  private readonly decode: Decode | null;
  private readonly autoRun: boolean;
  private idleWaiters: (() => void)[] = [];

  constructor(readonly model: Transformer, readonly opts: EngineOptions = {}) {
    const c = model.config;
    const maxRunning = opts.maxRunning ?? 256;
    const kvDtype = opts.kvDtype ?? (model.computeDtype === 'bf16' ? 'bf16' : 'f32');
    const size = planBlocks(c, { blockSize: opts.blockSize, numBlocks: opts.numBlocks, memoryBytes: opts.kvMemoryBytes, maxRunning, dtype: kvDtype });
    this.pool = new KVPool(c, size.numBlocks, size.blockSize, kvDtype);
    this.blocks = new BlockManager(size.numBlocks, size.blockSize, opts.prefixCaching ?? true);
    this.scheduler = new Scheduler(this.blocks, { maxTokensPerStep: opts.maxTokensPerStep ?? 512, maxRunning });
    this.paged = new PagedModel(model, this.pool);
    this.decode = opts.decode ?? null;
    this.autoRun = opts.autoRun ?? true;
    this.metrics = new EngineMetrics(this);
  }

  get config() {
    return this.model.config;
  }

  get numWaiting(): number {
    return this.scheduler.waiting.length;
  }

  get numRunning(): number {
    return this.scheduler.running.length;
  }

  get hasWork(): boolean {
    return this.scheduler.hasWork;
  }

  /** Queues a request; tokens stream to `onDelta` (or the handle's async iterator) as they are produced. */
  submit(prompt: readonly number[], params: RequestParams = {}, onDelta?: (d: StreamDelta) => void): RequestHandle {
    if (this.closed) throw new Error('engine: shutting down, not accepting requests');
    const c = this.config;
    validateSampling(params);
    if (prompt.length === 0) throw new Error('engine: empty prompt');
    if (prompt.length > c.maxSeqLen) throw new Error(`engine: prompt of ${prompt.length} tokens exceeds the context of ${c.maxSeqLen}`);
    for (const id of prompt) if (!(Number.isInteger(id) && id >= 0 && id < c.vocabSize)) throw new Error(`engine: token id ${id} outside the vocabulary (0..${c.vocabSize - 1})`);
    for (const [k, v] of [['logprobs', params.logprobs], ['promptLogprobs', params.promptLogprobs]] as const) {
      if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v <= 20)) throw new Error(`engine: ${k} must be an integer in 0..20, got ${v}`);
    }
    if (params.maxTokens !== undefined && !(Number.isInteger(params.maxTokens) && params.maxTokens >= 0)) throw new Error(`engine: maxTokens must be a non-negative integer, got ${params.maxTokens}`);
    for (const [id, b] of Object.entries(params.logitBias ?? {})) {
      if (!(Number(id) >= 0 && Number(id) < c.vocabSize && Number.isInteger(Number(id)) && Number.isFinite(b))) throw new Error(`engine: logitBias ${id}: ${b} is not a token id with a finite bias`);
    }
    const id = this.nextId++;
    const seq = new Sequence(id, prompt, params, c.maxSeqLen, this.decode, now());
    const handle = new RequestHandle(id, () => this.cancel(id), onDelta);
    this.live.set(id, { seq, handle });
    this.metrics.onArrival(seq);
    if (seq.maxTokens === 0 && !seq.wantsPromptLogprobs) {
      this.finish(seq, 'length');
      return handle;
    }
    this.scheduler.add(seq);
    this.kick();
    return handle;
  }

  /** Stops a request (a client went away): its blocks are freed at once. */
  cancel(id: number): void {
    const e = this.live.get(id);
    if (!e || e.seq.status === 'finished') return;
    this.finish(e.seq, 'abort');
  }

  /** Runs one iteration; returns what it did (sequences 0 when idle). */
  step(): StepInfo {
    const t0 = now();
    // Wake the kernel threads now: they come up while the batch is built instead of stalling the first kernel.
    native.warmPool();
    this.inStep = true;
    let out: ReturnType<Scheduler['schedule']>;
    try {
      out = this.scheduler.schedule();
    } finally {
      this.inStep = false;
    }
    const entries = out.entries;
    const info: StepInfo = { sequences: entries.length, tokens: 0, prefillTokens: 0, decodeTokens: 0, preempted: out.preempted.length, ms: 0 };
    if (entries.length === 0) {
      if (this.scheduler.running.length === 0 && this.scheduler.waiting.length > 0) {
        // Cannot happen with a pool sized for one full sequence; fail loudly rather than spin.
        for (const s of [...this.scheduler.waiting]) this.finish(s, 'error', 'KV cache too small for this request');
      }
      return info;
    }
    const { batch, rowsOf } = this.buildBatch(entries);
    let logits: Float32Array;
    this.inStep = true;
    try {
      logits = this.paged.forward(batch);
    } catch (e) {
      this.inStep = false;
      for (const en of entries) this.finish(en.seq, 'error', (e as Error).message);
      return info;
    }
    const V = this.config.vocabSize;
    // Greedy choice and log-sum-exp of every logit row in one vectorised call.
    const R = logits.length / V;
    if (this.rowBest.length < R) { this.rowBest = new Int32Array(R); this.rowLse = new Float32Array(R); }
    native.rowStats(logits, R, V, this.rowBest, this.rowLse);
    const t1 = now();
    try {
      for (const [i, en] of entries.entries()) {
        const seq = en.seq;
        if (seq.status !== 'running') continue; // cancelled by a callback earlier in this loop
        info.tokens += en.n;
        if (en.n === 1 && en.start === seq.tokens.length - 1 && seq.output.length > 0) info.decodeTokens++;
        else info.prefillTokens += en.n;
        this.scheduler.commit(en);
        const rows = rowsOf[i];
        // Prompt log-probabilities: row r (position p) predicts prompt token p + 1.
        for (const [p, r] of rows.prompt) {
          const row = logits.subarray(r * V, (r + 1) * V);
          seq.promptLogprobs[p + 1] = tokenLogprob(row, seq.tokens[p + 1], seq.params.promptLogprobs ?? 0, this.rowLse[r]);
        }
        if (seq.remaining > 0) continue; // a prefill chunk that did not reach the end
        if (seq.output.length >= seq.maxTokens) { this.finish(seq, 'length'); continue; }
        this.sample(seq, logits.subarray(rows.sample * V, (rows.sample + 1) * V), t1, this.rowBest[rows.sample], this.rowLse[rows.sample]);
      }
    } finally {
      this.inStep = false;
    }
    info.ms = now() - t0;
    this.metrics.onStep(info);
    return info;
  }

  private buildBatch(entries: ScheduledSeq[]): { batch: StepBatch; rowsOf: { prompt: [number, number][]; sample: number }[] } {
    const bs = this.blocks.blockSize;
    const N = entries.reduce((a, e) => a + e.n, 0);
    const tokens = new Int32Array(N), positions = new Int32Array(N), slots = new Int32Array(N);
    const tableStart = new Int32Array(N), ctxLen = new Int32Array(N);
    const tables: number[] = [];
    const logitRows: number[] = [];
    const rowsOf: { prompt: [number, number][]; sample: number }[] = [];
    let t = 0;
    for (const e of entries) {
      const seq = e.seq, start = tables.length;
      tables.push(...seq.blockTable);
      const rows: { prompt: [number, number][]; sample: number } = { prompt: [], sample: -1 };
      for (let p = e.start; p < e.start + e.n; p++, t++) {
        tokens[t] = seq.tokens[p];
        positions[t] = p;
        slots[t] = seq.blockTable[Math.floor(p / bs)] * bs + (p % bs);
        tableStart[t] = start;
        ctxLen[t] = p + 1;
        if (seq.wantsPromptLogprobs && p + 1 < seq.promptLength) { rows.prompt.push([p, logitRows.length]); logitRows.push(t); }
      }
      if (e.start + e.n === seq.tokens.length) { rows.sample = logitRows.length; logitRows.push(t - 1); }
      rowsOf.push(rows);
    }
    return { batch: { tokens, positions, slots, blockTables: Int32Array.from(tables), tableStart, ctxLen, logitRows: Int32Array.from(logitRows) }, rowsOf };
  }

  private rowBest = new Int32Array(0);
  private rowLse = new Float32Array(0);

  /** `best` and `lse`: the row's first maximum and log-sum-exp (before penalties). */
  private sample(seq: Sequence, row: Float32Array, t: number, best: number, lse: number): void {
    const p = seq.params;
    // Logit bias and a grammar constraint change the row before sampling; penalties are applied by
    // sampleToken in place. Only then does the row need a copy (logprobs are the model's, unmodified).
    const penalised = (p.repetitionPenalty ?? 1) !== 1 || (p.presencePenalty ?? 0) !== 0 || (p.frequencyPenalty ?? 0) !== 0;
    const shaped = seq.logitBias !== null || p.constraint !== undefined;
    let tok = best;
    if (penalised || shaped || (p.temperature ?? 0) !== 0) {
      const r = penalised || shaped ? row.slice() : row;
      if (seq.logitBias) for (const [id, b] of seq.logitBias) r[id] += b;
      if (p.constraint) {
        p.constraint.mask(r);
        if (!r.some((x) => x > -Infinity)) { this.finish(seq, 'error', 'the output constraint allows no token here'); return; }
      }
      tok = sampleToken(r, seq.tokens, p, seq.rng);
      // Penalties can push an allowed token below a masked one's -Infinity only if it was -Infinity too.
      if (p.constraint && r[tok] === -Infinity) { this.finish(seq, 'error', 'the output constraint allows no token here'); return; }
    }
    const lp: TokenLogprob = p.logprobs !== undefined ? tokenLogprob(row, tok, p.logprobs, lse) : { token: tok, logprob: NaN };
    this.metrics.onToken(seq, t);
    if (seq.firstTokenMs === undefined) seq.firstTokenMs = t;
    seq.lastTokenMs = t;
    if (seq.stopTokens.has(tok)) {
      // The stop token is not output text, but it was generated: it gets a logprob entry and counts in
      // usage (as OpenAI's and vLLM's servers report it; lm-eval drops the last entry of an echo).
      seq.stopToken = tok;
      if (p.logprobs !== undefined) seq.logprobs.push(lp);
      this.emit(seq, { text: '', tokens: [lp], stopToken: tok });
      this.finish(seq, 'stop');
      return;
    }
    try {
      p.constraint?.accept(tok);
    } catch (e) {
      this.finish(seq, 'error', (e as Error).message);
      return;
    }
    seq.output.push(tok);
    seq.tokens.push(tok);
    if (p.logprobs !== undefined) seq.logprobs.push(lp);
    const text = seq.text ? seq.text.update(seq.output) : '';
    const delta: StreamDelta = { text, tokens: [lp] };
    let reason: FinishReason | null = null;
    if (seq.text?.stoppedText !== null && seq.text?.stoppedText !== undefined) reason = 'stop';
    else if (seq.output.length >= seq.maxTokens || seq.tokens.length >= this.config.maxSeqLen) reason = 'length';
    this.emit(seq, delta);
    if (reason) this.finish(seq, reason);
  }

  /** Sends a delta to the request's handle; the first one carries the prompt's logprobs (for streamed echo). */
  private emit(seq: Sequence, d: StreamDelta): void {
    if (!seq.emitted) {
      seq.emitted = true;
      if (seq.wantsPromptLogprobs) d.promptLogprobs = seq.promptLogprobs.slice();
    }
    this.live.get(seq.id)?.handle.push(d);
  }

  private finish(seq: Sequence, reason: FinishReason, error?: string): void {
    if (seq.status === 'finished') return;
    this.scheduler.remove(seq);
    seq.status = 'finished';
    seq.finishReason = reason;
    seq.finishMs = now();
    if (error) seq.error = error;
    const rest = reason !== 'abort' && reason !== 'error' && seq.text ? seq.text.finish() : '';
    const e = this.live.get(seq.id);
    this.emit(seq, { text: rest, tokens: [], finishReason: reason });
    this.live.delete(seq.id);
    this.metrics.onFinish(seq);
    e?.handle.resolve(seq.result());
    if (!this.scheduler.hasWork) this.notifyIdle();
  }

  private kick(): void {
    if (!this.autoRun || this.loopScheduled) return;
    this.loopScheduled = true;
    // setImmediate: the poll phase first handles whatever I/O is ready (streamed tokens out, requests in)
    // without waiting; a timer here would idle at least a millisecond after every step. Requests that
    // arrive in a burst are gathered by the hold in loop() (noteArrival), not by sleeping.
    setImmediate(() => this.loop());
  }

  private lastStepMs = 0;
  private arrivals = 0;
  private holdSince = 0;

  /**
   * The server calls this when a connection or request comes in. Node accepts about one connection per
   * turn of the event loop, so a burst of clients would join one per step; while arrivals keep coming,
   * the next step waits (at most about one step's duration) so they join together.
   */
  noteArrival(): void {
    this.arrivals++;
  }

  private loop(): void {
    this.loopScheduled = false;
    if (!this.scheduler.hasWork) return;
    if (this.arrivals > 0) {
      const t = now();
      if (this.holdSince === 0) this.holdSince = t;
      if (t - this.holdSince < Math.max(2, Math.min(20, this.lastStepMs))) {
        this.arrivals = 0;
        this.loopScheduled = true;
        setImmediate(() => this.loop());
        return;
      }
    }
    this.arrivals = 0;
    this.holdSince = 0;
    this.lastStepMs = this.step().ms;
    if (this.scheduler.hasWork) this.kick();
  }

  /** Resolves when no request is waiting or running. */
  idle(): Promise<void> {
    if (!this.scheduler.hasWork) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private notifyIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const r of w) r();
  }

  /**
   * Stops accepting requests, lets in-flight ones finish for up to `drainMs` (default 0), then cancels
   * the rest.
   */
  async shutdown(drainMs = 0): Promise<void> {
    this.closed = true;
    if (drainMs > 0 && this.scheduler.hasWork) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.idle(), new Promise<void>((r) => { timer = setTimeout(r, drainMs); })]);
      clearTimeout(timer);
    }
    for (const { seq } of [...this.live.values()]) this.finish(seq, 'abort');
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

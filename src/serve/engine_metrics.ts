// The engine's Prometheus metrics: queue length, running sequences, KV blocks in use, tokens/s, time to
// first token, inter-token latency, preemptions and prefix-cache hits. The server adds its HTTP metrics
// to the same registry.
import { LATENCY_BUCKETS, RateWindow, Registry, type Counter, type Histogram } from './metrics.js';
import type { Sequence } from './sequence.js';

interface EngineView {
  readonly numWaiting: number;
  readonly numRunning: number;
  readonly blocks: { used: number; numBlocks: number; cachedIdle: number; queries: number; hits: number };
  readonly scheduler: { preemptions: number };
}

export interface MetricsSnapshot {
  waiting: number;
  running: number;
  kvBlocksUsed: number;
  kvBlocksTotal: number;
  tokensPerSecond: number;
  requestsFinished: number;
  ttftMsP50: number;
  ttftMsP99: number;
  itlMsP50: number;
  itlMsP99: number;
  prefixCacheHitRate: number;
  preemptions: number;
}

export class EngineMetrics {
  readonly registry = new Registry();
  readonly requests: Counter;
  readonly finished: Counter;
  readonly promptTokens: Counter;
  readonly generatedTokens: Counter;
  readonly steps: Counter;
  readonly ttft: Histogram;
  readonly itl: Histogram;
  readonly e2e: Histogram;
  readonly stepTime: Histogram;
  readonly genRate = new RateWindow(10_000);

  constructor(private readonly e: EngineView) {
    const r = this.registry;
    r.gauge('hcx_queue_length', 'Requests waiting to be scheduled', () => e.numWaiting);
    r.gauge('hcx_running_sequences', 'Sequences holding KV blocks', () => e.numRunning);
    r.gauge('hcx_kv_blocks_used', 'KV cache blocks referenced by sequences', () => e.blocks.used);
    r.gauge('hcx_kv_blocks_total', 'KV cache blocks in the pool', () => e.blocks.numBlocks);
    r.gauge('hcx_kv_blocks_cached_idle', 'KV blocks kept only for the prefix cache', () => e.blocks.cachedIdle);
    r.gauge('hcx_generation_tokens_per_second', 'Generated tokens per second over the last 10 s', () => this.genRate.rate());
    r.gauge('hcx_prefix_cache_hit_rate', 'Prompt blocks found in the prefix cache / blocks looked up', () => (e.blocks.queries ? e.blocks.hits / e.blocks.queries : 0));
    r.gauge('hcx_preemptions', 'Sequences preempted (recomputed later) since start', () => e.scheduler.preemptions);
    this.requests = r.counter('hcx_requests_total', 'Requests submitted to the engine');
    this.finished = r.counter('hcx_requests_finished_total', 'Requests finished, by reason');
    this.promptTokens = r.counter('hcx_prompt_tokens_total', 'Prompt tokens submitted');
    this.generatedTokens = r.counter('hcx_generation_tokens_total', 'Tokens generated');
    this.steps = r.counter('hcx_engine_steps_total', 'Engine iterations run');
    this.ttft = r.histogram('hcx_time_to_first_token_seconds', 'Time from arrival to the first generated token', LATENCY_BUCKETS);
    this.itl = r.histogram('hcx_inter_token_latency_seconds', 'Time between consecutive tokens of a request', LATENCY_BUCKETS);
    this.e2e = r.histogram('hcx_request_latency_seconds', 'Time from arrival to finish', LATENCY_BUCKETS);
    this.stepTime = r.histogram('hcx_step_seconds', 'Duration of one engine iteration', LATENCY_BUCKETS);
  }

  onArrival(seq: Sequence): void {
    this.requests.inc();
    this.promptTokens.inc(seq.promptLength);
  }

  /** Called before the sequence's first/last token times are updated. */
  onToken(seq: Sequence, t: number): void {
    this.generatedTokens.inc();
    this.genRate.add(1);
    if (seq.firstTokenMs === undefined) this.ttft.observe((t - seq.arrivalMs) / 1000);
    else if (seq.lastTokenMs !== undefined) this.itl.observe((t - seq.lastTokenMs) / 1000);
  }

  onFinish(seq: Sequence): void {
    this.finished.inc(1, { reason: seq.finishReason ?? 'abort' });
    if (seq.finishMs !== undefined) this.e2e.observe((seq.finishMs - seq.arrivalMs) / 1000);
  }

  onStep(info: { ms: number }): void {
    this.steps.inc();
    this.stepTime.observe(info.ms / 1000);
  }

  snapshot(): MetricsSnapshot {
    const b = this.e.blocks;
    const fin = ['stop', 'length', 'abort', 'error'].reduce((a, r) => a + this.finished.get({ reason: r }), 0);
    return {
      waiting: this.e.numWaiting, running: this.e.numRunning, kvBlocksUsed: b.used, kvBlocksTotal: b.numBlocks,
      tokensPerSecond: this.genRate.rate(), requestsFinished: fin,
      ttftMsP50: this.ttft.quantile(0.5) * 1000, ttftMsP99: this.ttft.quantile(0.99) * 1000,
      itlMsP50: this.itl.quantile(0.5) * 1000, itlMsP99: this.itl.quantile(0.99) * 1000,
      prefixCacheHitRate: b.queries ? b.hits / b.queries : 0, preemptions: this.e.scheduler.preemptions,
    };
  }
}

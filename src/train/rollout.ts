// Rollouts through the serving engine's continuous batching (src/serve/engine.ts): every sample is a
// request over the paged KV cache; a finished sequence leaves at once and the next waiting one takes its
// place in the following step. The n samples of a prompt share its prefill: the first sample goes in
// alone, and its siblings are submitted once it has produced its first token, when the prompt's full
// KV blocks are in the prefix cache (only the prompt's last, partial block is computed again). The
// engine runs the policy's own weights; after each update the prefix cache is reset (resetPrefixCache).
import { Engine, type EngineOptions } from '../serve/engine.js';
import type { RequestOutput } from '../serve/sequence.js';
import type { Transformer } from '../model/transformer.js';

export interface RolloutSample {
  /** Index of its prompt in the list given to rollout(). */
  prompt: number;
  promptIds: Int32Array;
  /** The generated tokens, the turn-end token included when generation stopped on it. */
  response: Int32Array;
  /** Whether the response ends with a stop token (the turn end) rather than running out of length. */
  ended: boolean;
  /** The engine's log-probability of each response token at temperature 1 (the serving path's own numbers). */
  engineLogprobs: Float32Array;
}

export interface RolloutOptions {
  /** Samples per prompt. */
  n: number;
  /** One temperature for rollout and training (0: greedy); no top-k / top-p. */
  temperature: number;
  maxTokens: number;
  stopTokens: number[];
  /** Per-run seed; each sample's own seed derives from it, the prompt and the sample number. */
  seed: number;
}

export interface RolloutStats { seconds: number; tokens: number; steps: number; prefixHits: number; prefixQueries: number }

/** An engine driven step by step by the trainer (no event-loop scheduling), over the policy's weights. */
export function rolloutEngine(policy: Transformer, o: Pick<EngineOptions, 'maxRunning' | 'maxTokensPerStep' | 'kvMemoryBytes' | 'blockSize'> = {}): Engine {
  return new Engine(policy, { ...o, autoRun: false, prefixCaching: true, kvDtype: 'f32' });
}

const mix = (a: number, b: number): number => {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ b;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
};

/**
 * Samples `n` responses to every prompt; returns them grouped by prompt (prompt-major, sample order),
 * whatever order they finished in.
 */
export async function rollout(engine: Engine, prompts: readonly (readonly number[])[], o: RolloutOptions): Promise<{ samples: RolloutSample[]; stats: RolloutStats }> {
  const t0 = performance.now();
  const q0 = engine.blocks.queries, h0 = engine.blocks.hits;
  const done: Promise<RequestOutput>[] = new Array(prompts.length * o.n);
  const params = (p: number, k: number) => ({
    temperature: o.temperature, maxTokens: o.maxTokens, stopTokens: o.stopTokens, logprobs: 0, seed: mix(mix(o.seed, p), k),
  });
  const submit = (p: number, k: number, onFirst?: () => void) => {
    let first = true;
    const h = engine.submit(prompts[p], params(p, k), (d) => {
      if (first && (d.tokens.length > 0 || d.finishReason)) { first = false; onFirst?.(); }
    });
    done[p * o.n + k] = h.done;
  };
  for (let p = 0; p < prompts.length; p++) submit(p, 0, () => { for (let k = 1; k < o.n; k++) submit(p, k); });
  let steps = 0;
  while (engine.hasWork) {
    engine.step();
    steps++;
  }
  const outs = await Promise.all(done);
  let tokens = 0;
  const samples = outs.map((r, i): RolloutSample => {
    if (r.finishReason === 'error' || r.finishReason === 'abort') throw new Error(`rollout: prompt ${Math.floor(i / o.n)} sample ${i % o.n} failed: ${r.error ?? r.finishReason}`);
    const ended = r.finishReason === 'stop' && r.stopToken !== undefined;
    const response = Int32Array.from(ended ? [...r.outputTokens, r.stopToken!] : r.outputTokens);
    tokens += response.length;
    return {
      prompt: Math.floor(i / o.n), promptIds: Int32Array.from(r.promptTokens), response, ended,
      engineLogprobs: Float32Array.from((r.logprobs ?? []).map((l) => l.logprob)),
    };
  });
  return { samples, stats: { seconds: (performance.now() - t0) / 1000, tokens, steps, prefixHits: engine.blocks.hits - h0, prefixQueries: engine.blocks.queries - q0 } };
}

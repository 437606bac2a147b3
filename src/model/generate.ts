// Autoregressive generation with a KV cache: prefill the prompt once, then one token per step.
import { Rng, tidy } from '../tensor/index.js';
import { KVCache } from './kv_cache.js';
import { type SamplingOptions, argmax, sampleToken, validateSampling } from './sampling.js';
import type { Transformer } from './transformer.js';

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens?: number;
  /** Generation stops after any of these token ids (e.g. end-of-text, <|endofturn|>); it is not returned. */
  stopTokens?: number[];
  /** Generation stops when the decoded text contains one of these; the text is cut before it. */
  stopStrings?: string[];
  /** Needed for stop strings. */
  decode?: (ids: number[]) => string;
  seed?: number;
  /** Called with each new token id as it is produced (streaming). Return false to stop. */
  onToken?: (id: number) => boolean | void;
}

export interface Generation {
  ids: number[];
  /** Decoded text, when a decoder was given (cut at a stop string). */
  text?: string;
  finishReason: 'stop' | 'length';
  /** The stop token that ended it, when one did. */
  stopToken?: number;
}

/** Generates a continuation of each prompt (prompts of one batch must have equal length). */
export function generate(model: Transformer, prompt: number[], opts: GenerateOptions = {}): Generation {
  return generateBatch(model, [prompt], opts)[0];
}

export function generateBatch(model: Transformer, prompts: number[][], opts: GenerateOptions = {}): Generation[] {
  validateSampling(opts);
  const B = prompts.length;
  const T = prompts[0]?.length ?? 0;
  if (T === 0) throw new Error('generate: empty prompt');
  if (prompts.some((p) => p.length !== T)) throw new Error('generate: prompts in one batch must have the same length');
  const V = model.config.vocabSize;
  for (const p of prompts) for (const id of p) if (!(Number.isInteger(id) && id >= 0 && id < V)) throw new Error(`generate: token id ${id} outside the vocabulary (0..${V - 1})`);
  const maxNew = Math.max(0, Math.min(opts.maxNewTokens ?? 64, model.config.maxSeqLen - T));
  const cache = new KVCache(model.config, B, T + maxNew);
  const rng = new Rng(opts.seed ?? 0);
  const stop = new Set(opts.stopTokens ?? []);
  const out: number[][] = prompts.map(() => []);
  const done: (Generation['finishReason'] | null)[] = prompts.map(() => null);
  const texts: (string | undefined)[] = prompts.map(() => undefined);
  const stoppedBy: (number | undefined)[] = prompts.map(() => undefined);
  const plainGreedy = !(opts.temperature! > 0) && (opts.repetitionPenalty ?? 1) === 1 && !opts.presencePenalty && !opts.frequencyPenalty;
  let input = Int32Array.from(prompts.flat());
  let steps = T;
  for (let n = 0; n < maxNew && done.some((d) => d === null); n++) {
    const next = tidy(() => {
      const logits = model.infer(input, B, steps, { cache, lastOnly: true });
      return prompts.map((p, b) => {
        if (done[b] !== null) return 0;
        const row = logits.data.subarray(b * V, (b + 1) * V);
        // Greedy without penalties needs neither a copy of the row nor the token history.
        if (plainGreedy) return argmax(row);
        return sampleToken(row.slice(), [...p, ...out[b]], opts, rng);
      });
    });
    for (let b = 0; b < B; b++) {
      if (done[b] !== null) continue;
      const id = next[b];
      if (stop.has(id)) { done[b] = 'stop'; stoppedBy[b] = id; continue; }
      out[b].push(id);
      if (opts.onToken && opts.onToken(id) === false) done[b] = 'stop';
      if (opts.stopStrings?.length && opts.decode) {
        const text = opts.decode(out[b]);
        const at = Math.min(...opts.stopStrings.map((s) => { const i = text.indexOf(s); return i < 0 ? Infinity : i; }));
        if (at !== Infinity) { texts[b] = text.slice(0, at); done[b] = 'stop'; }
      }
    }
    input = Int32Array.from(next);
    steps = 1;
  }
  return out.map((ids, b) => ({
    ids,
    text: texts[b] ?? (opts.decode ? opts.decode(ids) : undefined),
    finishReason: done[b] ?? 'length',
    ...(stoppedBy[b] !== undefined ? { stopToken: stoppedBy[b] } : {}),
  }));
}

export interface InfillTokens { fimPrefix: number; fimSuffix: number; fimMiddle: number }

/** Fill-in-the-middle in PSM order: <prefix>P<suffix>S<middle> -> the middle. */
export function infill(model: Transformer, prefix: number[], suffix: number[], t: InfillTokens, opts: GenerateOptions = {}): Generation {
  return generate(model, [t.fimPrefix, ...prefix, t.fimSuffix, ...suffix, t.fimMiddle], opts);
}

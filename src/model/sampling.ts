// Turning one row of logits into a token: penalties, temperature, top-k, top-p, then a draw.
import type { Rng } from '../tensor/index.js';

export interface SamplingOptions {
  /** 0 = greedy (the default). */
  temperature?: number;
  /** Keep the k most likely tokens (0 = all). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 = all). */
  topP?: number;
  /** CTRL-style: logits of tokens already generated or in the prompt are divided (if > 0) or multiplied by this. */
  repetitionPenalty?: number;
  /** OpenAI-style: subtracted once from tokens that appeared. */
  presencePenalty?: number;
  /** OpenAI-style: subtracted per occurrence. */
  frequencyPenalty?: number;
}

export function validateSampling(o: SamplingOptions): void {
  const bad = (f: string, v: unknown, why: string) => { throw new Error(`sampling: ${f} ${why}, got ${v}`); };
  if (o.temperature !== undefined && !(o.temperature >= 0)) bad('temperature', o.temperature, 'must be >= 0');
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 0)) bad('topK', o.topK, 'must be a non-negative integer');
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) bad('topP', o.topP, 'must be in (0, 1]');
  if (o.repetitionPenalty !== undefined && !(o.repetitionPenalty > 0)) bad('repetitionPenalty', o.repetitionPenalty, 'must be > 0');
}

/** Applies repetition/presence/frequency penalties in place. */
export function applyPenalties(logits: Float32Array, history: ArrayLike<number>, o: SamplingOptions): void {
  const rp = o.repetitionPenalty ?? 1, pp = o.presencePenalty ?? 0, fp = o.frequencyPenalty ?? 0;
  if (rp === 1 && pp === 0 && fp === 0) return;
  const counts = new Map<number, number>();
  for (let i = 0; i < history.length; i++) counts.set(history[i], (counts.get(history[i]) ?? 0) + 1);
  for (const [tok, n] of counts) {
    if (tok < 0 || tok >= logits.length) continue;
    let l = logits[tok];
    if (rp !== 1) l = l > 0 ? l / rp : l * rp;
    logits[tok] = l - pp - fp * n;
  }
}

export function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** Picks the next token from logits (modified in place). */
export function sampleToken(logits: Float32Array, history: ArrayLike<number>, o: SamplingOptions, rng: Rng): number {
  applyPenalties(logits, history, o);
  const temp = o.temperature ?? 0;
  if (temp === 0) return argmax(logits);
  const V = logits.length;
  const k = o.topK ?? 0;
  if (!(k > 0 && k < V) && (o.topP ?? 1) >= 1) return drawAll(logits, temp, rng);
  let idx = Array.from({ length: V }, (_, i) => i);
  if ((k > 0 && k < V) || (o.topP ?? 1) < 1) {
    idx.sort((a, b) => logits[b] - logits[a]);
    if (k > 0 && k < V) idx = idx.slice(0, k);
  }
  let mx = -Infinity;
  for (const i of idx) mx = Math.max(mx, logits[i]);
  const probs = idx.map((i) => Math.exp((logits[i] - mx) / temp));
  let total = probs.reduce((a, b) => a + b, 0);
  const topP = o.topP ?? 1;
  if (topP < 1) {
    let cum = 0, cut = probs.length;
    for (let j = 0; j < probs.length; j++) {
      cum += probs[j] / total;
      if (cum >= topP) { cut = j + 1; break; }
    }
    idx = idx.slice(0, cut);
    probs.length = cut;
    total = probs.reduce((a, b) => a + b, 0);
  }
  let r = rng.next() * total;
  for (let j = 0; j < probs.length; j++) {
    r -= probs[j];
    if (r <= 0) return idx[j];
  }
  return idx[idx.length - 1];
}

let scratch = new Float64Array(0);

/**
 * The draw over the whole vocabulary (no top-k/top-p: every rollout PPO and GRPO make) without index or
 * probability arrays per token: the same float64 operations in the same order as the general path, so the
 * same draw gives the same token.
 */
function drawAll(logits: Float32Array, temp: number, rng: Rng): number {
  const V = logits.length;
  if (scratch.length < V) scratch = new Float64Array(V);
  let mx = -Infinity;
  for (let i = 0; i < V; i++) mx = Math.max(mx, logits[i]);
  let total = 0;
  for (let i = 0; i < V; i++) { const p = Math.exp((logits[i] - mx) / temp); scratch[i] = p; total += p; }
  let r = rng.next() * total;
  for (let i = 0; i < V; i++) {
    r -= scratch[i];
    if (r <= 0) return i;
  }
  return V - 1;
}

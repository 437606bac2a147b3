// One optimizer step, as every stage takes it: gradients already accumulated over the micro-batches,
// then the global-norm clip, a finite check (a NaN or infinite gradient stops the run with an error
// naming the step instead of poisoning the weights), the update at the scheduled learning rate, and
// the gradients cleared.
import { type Optimizer, clipGradNorm, cosineLr } from '../tensor/index.js';
import type { TrainSettings } from './config.js';

export class DivergedError extends Error {}

/** Throws DivergedError when value is NaN or infinite. */
export function assertFinite(what: string, value: number, step: number, lastGood: string): void {
  if (Number.isFinite(value)) return;
  throw new DivergedError(`step ${step}: ${what} is ${value}: training diverged, stopping. ` +
    (lastGood ? `The last good checkpoint is ${lastGood}.` : 'No checkpoint was saved yet.'));
}

/** Learning rate of 0-based step `step` of `total` under warmup + cosine. */
export function scheduledLr(s: Pick<TrainSettings, 'lr' | 'minLr' | 'warmupSteps'>, step: number, total: number): number {
  return cosineLr({ maxLr: s.lr, minLr: s.minLr, warmupSteps: s.warmupSteps, totalSteps: total }, step);
}

/**
 * Clips (clip > 0), checks and applies the accumulated gradients; returns the gradient norm before
 * clipping. `step` is the 1-based number of the step being taken (for the error message).
 */
export function optimizerStep(opt: Optimizer, o: { clip: number; lr: number; step: number; lastGood: string }): number {
  const norm = clipGradNorm(opt.params, o.clip > 0 ? o.clip : Infinity);
  assertFinite('the gradient norm', norm, o.step, o.lastGood);
  opt.update(o.lr);
  opt.zeroGrad();
  return norm;
}

// Losses the training stages share, as pure functions of logits and targets.
import { F, type Tensor } from '../tensor/index.js';

export const IGNORE = -100;

/** Targets that count: not IGNORE. */
export function countSupervised(targets: Int32Array): number {
  let n = 0;
  for (let i = 0; i < targets.length; i++) n += +(targets[i] !== IGNORE);
  return n;
}

/**
 * Next-token cross-entropy summed over the supervised targets, divided by `normalizer`: with the
 * number of supervised tokens of the whole optimizer step (all micro-batches) as normalizer, the
 * micro-batch losses add up to the step's mean over its supervised tokens, whatever their split.
 * No supervised target gives exactly 0 (never 0/0).
 */
export function maskedTokenLoss(logits: Tensor, targets: Int32Array, normalizer: number): Tensor {
  const sum = F.crossEntropy(logits, targets, { ignoreIndex: IGNORE, reduction: 'sum' });
  return normalizer > 0 ? F.scale(sum, 1 / normalizer) : F.scale(sum, 0);
}

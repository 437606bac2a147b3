// Fused cross-entropy over the last axis of logits, with an ignore index and per-token weights.
// Never materialises probabilities: keeps log-sum-exp per row; the backward writes
// (softmax - onehot) * coefficient straight into the logits' gradient.
import { record } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { allocF32, release } from '../pool.js';
import { K, shapeStr } from './util.js';

export interface CrossEntropyOptions {
  /** Targets equal to this contribute nothing (default -100, as in PyTorch). */
  ignoreIndex?: number;
  /** One weight per target (e.g. the SFT mask or PPO advantages); default 1. */
  weights?: Float32Array;
  /**
   * 'mean' (default): sum(w * loss) / sum(w) over non-ignored targets; 'sum': sum(w * loss);
   * 'none': the per-target losses times their weights, shape of targets (ignored positions give 0).
   */
  reduction?: 'mean' | 'sum' | 'none';
}

export function crossEntropy(logits: Tensor, targets: Int32Array, opts: CrossEntropyOptions = {}): Tensor {
  const ignore = opts.ignoreIndex ?? -100;
  const reduction = opts.reduction ?? 'mean';
  const V = logits.shape[logits.ndim - 1];
  const rows = logits.size / V;
  if (targets.length !== rows) throw new Error(`crossEntropy: ${targets.length} targets for logits ${shapeStr(logits.shape)} (${rows} rows)`);
  if (opts.weights && opts.weights.length !== rows) throw new Error(`crossEntropy: ${opts.weights.length} weights for ${rows} targets`);
  const loss = allocF32(rows, false);
  const lse = Tensor.empty([rows]).data; // saved for backward; pooled with the step's tensors
  K.crossEntropy(logits.data, targets, loss, lse, rows, V, ignore);
  const w = opts.weights;
  let denom = 0;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    if (targets[r] === ignore) continue;
    const wr = w ? w[r] : 1;
    denom += wr;
    total += wr * loss[r];
  }
  let out: Tensor;
  if (reduction === 'none') {
    out = Tensor.empty(logits.shape.slice(0, -1));
    for (let r = 0; r < rows; r++) out.data[r] = targets[r] === ignore ? 0 : (w ? w[r] : 1) * loss[r];
  } else {
    out = Tensor.empty([]);
    out.data[0] = reduction === 'mean' ? (denom > 0 ? total / denom : 0) : total;
  }
  release(loss);
  return record(out, 'crossEntropy', [logits], (g, ctx) => {
    const gx = ctx.gradFor(0);
    if (!gx) return;
    const coef = allocF32(rows, false);
    for (let r = 0; r < rows; r++) {
      const wr = w ? w[r] : 1;
      if (reduction === 'none') coef[r] = g[r] * wr;
      else if (reduction === 'sum') coef[r] = g[0] * wr;
      else coef[r] = denom > 0 ? (g[0] * wr) / denom : 0;
    }
    K.crossEntropyBackward(logits.data, targets, lse, coef, gx[0], rows, V, ignore, +gx[1]);
    release(coef);
  });
}

// Clipping by global gradient norm, as torch.nn.utils.clip_grad_norm_.
import { K } from '../ops/util.js';
import type { Tensor } from '../tensor.js';

/** Scales every gradient so their joint L2 norm is at most maxNorm; returns the norm before clipping. */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  let sq = 0;
  for (const p of params) if (p.grad) sq += K.sumSquares(p.grad.data);
  const norm = Math.sqrt(sq);
  if (!Number.isFinite(norm)) return norm;
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) for (const p of params) if (p.grad) K.affine(p.grad.data, p.grad.data, coef, 0);
  return norm;
}

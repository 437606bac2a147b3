// Losses of the preference stages as pure functions of tensors, on batches whose rows come in pairs:
// row 2i is pair i's chosen side, row 2i + 1 its rejected side (src/data/prefs/dataset.ts pairBatch).
//   - Bradley-Terry (reward model): -log sigmoid(r_c - r_r - margin), as TRL's RewardTrainer;
//   - DPO, sigmoid loss (Rafailov et al. 2023, TRL's loss_type "sigmoid"):
//       -log sigmoid(beta * ((log pi_c - log ref_c) - (log pi_r - log ref_r))),
//     with log pi the completion's summed token log-probs.
// Each sums over its pairs and divides by `normalizer` (the pairs of the whole optimizer step), so
// micro-batch losses add up to the step's mean whatever the split.
import { F, tensor, type Tensor } from '../tensor/index.js';
import { IGNORE } from './losses.js';

/** [2N] interleaved -> chosen [N] and rejected [N]. */
export function splitPairs(x: Tensor): { chosen: Tensor; rejected: Tensor } {
  const n = x.size / 2;
  if (x.ndim !== 1 || !Number.isInteger(n)) throw new Error(`preference loss: expected [2N] values, got [${x.shape}]`);
  const m = F.reshape(x, [n, 2]);
  return { chosen: F.reshape(F.slice(m, 1, 0, 1), [n]), rejected: F.reshape(F.slice(m, 1, 1, 2), [n]) };
}

function scaled(sum: Tensor, normalizer: number): Tensor {
  return F.scale(sum, normalizer > 0 ? 1 / normalizer : 0);
}

export interface BtLoss {
  loss: Tensor;
  /** r_c - r_r per pair (without the margin). */
  margins: Float32Array;
}

/** Bradley-Terry loss of interleaved scores [2N]; `margin` per pair (or none). */
export function bradleyTerryLoss(scores: Tensor, margin: Float32Array | null, normalizer: number): BtLoss {
  const { chosen, rejected } = splitPairs(scores);
  const diff = F.sub(chosen, rejected);
  const z = margin ? F.sub(diff, tensor(margin, [margin.length])) : diff;
  return { loss: scaled(F.sum(F.neg(F.logSigmoid(z))), normalizer), margins: diff.data.slice() };
}

/**
 * Summed log-probs of each segment's supervised targets in one packed row: logits [1, T, V], targets [T]
 * (IGNORE elsewhere), segmentIds [T] in 0..n-1 -> [n]. The per-segment sums are one product with the
 * segments' 0/1 membership matrix, so the gradient flows like the padded version's row sums.
 */
export function packedSequenceLogProbs(logits: Tensor, targets: Int32Array, segmentIds: Int32Array, n: number): Tensor {
  const T = targets.length;
  const nll = F.crossEntropy(logits, targets, { ignoreIndex: IGNORE, reduction: 'none' });
  const member = new Float32Array(T * n);
  for (let t = 0; t < T; t++) if (segmentIds[t] < n) member[t * n + segmentIds[t]] = 1;
  return F.neg(F.reshape(F.matmul(F.reshape(nll, [1, T]), tensor(member, [T, n])), [n]));
}

/** Summed log-probs of each row's supervised targets: logits [B, T, V], targets [B*T] (IGNORE elsewhere) -> [B]. */
export function sequenceLogProbs(logits: Tensor, targets: Int32Array, B: number, T: number): Tensor {
  const nll = F.crossEntropy(logits, targets, { ignoreIndex: IGNORE, reduction: 'none' });
  return F.neg(F.sum(F.reshape(nll, [B, T]), 1));
}

export interface DpoLoss {
  loss: Tensor;
  /** beta (log pi - log ref) of each pair's chosen and rejected completion (TRL's rewards/chosen, rewards/rejected). */
  chosenRewards: Float32Array;
  rejectedRewards: Float32Array;
}

/** Sigmoid DPO loss from the policy's summed log-probs [2N] and the reference's [2N] (constants). */
export function dpoSigmoidLoss(logp: Tensor, refLogp: Float32Array, beta: number, normalizer: number): DpoLoss {
  if (refLogp.length !== logp.size) throw new Error(`dpo: ${refLogp.length} reference log-probs for ${logp.size} rows`);
  const ratio = F.sub(logp, tensor(refLogp, [refLogp.length]));
  const { chosen, rejected } = splitPairs(ratio);
  const z = F.scale(F.sub(chosen, rejected), beta);
  const loss = scaled(F.sum(F.neg(F.logSigmoid(z))), normalizer);
  return { loss, chosenRewards: chosen.data.map((v) => beta * v), rejectedRewards: rejected.data.map((v) => beta * v) };
}

// The arithmetic of PPO and GRPO as pure functions: per-token KL estimates and rewards, GAE, whitening,
// the clipped policy and value losses, sequence-level unlikelihood, repeated 4-grams and GRPO's group
// advantages. Per-sequence quantities are arrays over a response's tokens (prompt and padding never enter
// them, so positions past the end contribute exactly nothing); the losses take the flat rows of a packed
// batch with a 0/1 mask of the rows that predict a response token. TRL's formulas, checked against its
// code in test/train/ppo_trl.test.ts.
import { F, fromData, type Tensor } from '../tensor/index.js';

export type KlEstimator = 'k1' | 'k3';

/** Per-token KL(pi || pi_ref) estimates from the sampled tokens' log-probabilities (Schulman's k1 or k3). */
export function tokenKl(logp: Float32Array, refLogp: Float32Array, estimator: KlEstimator): Float32Array {
  const out = new Float32Array(logp.length);
  for (let t = 0; t < logp.length; t++) {
    const logr = refLogp[t] - logp[t];
    out[t] = estimator === 'k1' ? -logr : Math.expm1(logr) - logr;
  }
  return out;
}

/** r_t = -coef * kl_t on every response token, plus the sequence's score on its last token. */
export function tokenRewards(kl: Float32Array, score: number, coef: number): Float32Array {
  const r = new Float32Array(kl.length);
  for (let t = 0; t < kl.length; t++) r[t] = -coef * kl[t];
  if (r.length) r[r.length - 1] += score;
  return r;
}

/**
 * Generalised advantage estimation over one response: delta_t = r_t + gamma V_{t+1} - V_t with V after
 * the last token 0; A_t = delta_t + gamma lambda A_{t+1}. Returns advantages and returns (A + V).
 */
export function gae(rewards: Float32Array, values: Float32Array, gamma: number, lambda: number): { advantages: Float32Array; returns: Float32Array } {
  const n = rewards.length, adv = new Float32Array(n), ret = new Float32Array(n);
  let last = 0;
  for (let t = n - 1; t >= 0; t--) {
    const next = t + 1 < n ? values[t + 1] : 0;
    const delta = rewards[t] + gamma * next - values[t];
    last = delta + gamma * lambda * last;
    adv[t] = last;
    ret[t] = last + values[t];
  }
  return { advantages: adv, returns: ret };
}

/** Mean and unbiased variance over every token of every sequence. */
export function pooledMoments(xs: readonly Float32Array[]): { mean: number; variance: number; count: number } {
  let n = 0, s = 0;
  for (const x of xs) for (let i = 0; i < x.length; i++) { s += x[i]; n++; }
  if (n < 2) throw new Error(`whitening needs at least 2 tokens, got ${n} (use more prompts or samples per update)`);
  const mean = s / n;
  let v = 0;
  for (const x of xs) for (let i = 0; i < x.length; i++) v += (x[i] - mean) ** 2;
  return { mean, variance: (v / n) * (n / (n - 1)), count: n };
}

/** (x - mean) / sqrt(var + 1e-8) over all valid tokens (TRL's masked_whiten); shiftMean false adds the mean back. */
export function whiten(xs: readonly Float32Array[], shiftMean = true): Float32Array[] {
  const { mean, variance } = pooledMoments(xs);
  const inv = 1 / Math.sqrt(variance + 1e-8);
  return xs.map((x) => x.map((v) => (v - mean) * inv + (shiftMean ? 0 : mean)));
}

const constant = (d: Float32Array): Tensor => fromData(d, [d.length]);

function maskedMean(x: Tensor, mask: Tensor, count: number): Tensor {
  return F.scale(F.sum(F.mul(x, mask)), count > 0 ? 1 / count : 0);
}

function countOf(mask: Float32Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  return n;
}

export interface PolicyLossResult {
  loss: Tensor;
  /** Share of valid tokens where the clipped term was the larger (the gradient is cut). */
  clipfrac: number;
  /** 0.5 * mean((log pi - log pi_old)^2) over valid tokens. */
  approxKl: number;
  /** Mean ratio over valid tokens. */
  meanRatio: number;
}

/**
 * The clipped surrogate: mean over valid rows of max(-A r, -A clip(r, 1 - eps, 1 + eps)), r = exp(log pi -
 * log pi_old) with the log-ratio clamped to +-logRatioClamp first (a stale token cannot overflow exp).
 * Rows with mask 0 contribute nothing, their values whatever they are.
 */
export function policyLoss(newLogp: Tensor, oldLogp: Float32Array, advantages: Float32Array, mask: Float32Array,
  o: { clip: number; logRatioClamp: number }): PolicyLossResult {
  const n = countOf(mask);
  const diff = F.clamp(F.sub(newLogp, constant(oldLogp)), -o.logRatioClamp, o.logRatioClamp);
  const ratio = F.exp(diff);
  const negA = constant(advantages.map((a) => -a));
  const l1 = F.mul(ratio, negA), l2 = F.mul(F.clamp(ratio, 1 - o.clip, 1 + o.clip), negA);
  const loss = maskedMean(F.maximum(l1, l2), constant(mask), n);
  let clipped = 0, kl = 0, r = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    clipped += +(l2.data[i] > l1.data[i]);
    kl += 0.5 * diff.data[i] * diff.data[i];
    r += ratio.data[i];
  }
  return { loss, clipfrac: n ? clipped / n : 0, approxKl: n ? kl / n : 0, meanRatio: n ? r / n : 1 };
}

/** 0.5 * mean over valid rows of max((v - R)^2, (v_old + clip(v - v_old, +-c) - R)^2), and the share clipped. */
export function valueLoss(values: Tensor, oldValues: Float32Array, returns: Float32Array, mask: Float32Array, clip: number): { loss: Tensor; clipfrac: number } {
  const n = countOf(mask);
  const ret = constant(returns);
  // Elementwise bounds, as torch.clamp(v, v_old - c, v_old + c): inside them the clipped value is v itself.
  const clipped = F.minimum(F.maximum(values, constant(oldValues.map((v) => v - clip))), constant(oldValues.map((v) => v + clip)));
  const l1 = F.square(F.sub(values, ret)), l2 = F.square(F.sub(clipped, ret));
  const loss = F.scale(maskedMean(F.maximum(l1, l2), constant(mask), n), 0.5);
  let c = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) c += +(l2.data[i] > l1.data[i]);
  return { loss, clipfrac: n ? c / n : 0 };
}

/**
 * Sequence-level unlikelihood (Welleck et al. 2019): mean over valid rows of mask * -log(1 - p), p the
 * probability of the sampled token (exp of the log-probabilities the PPO forward already computed).
 * `ulMask` is 1 on tokens of repeated n-grams; 1 - p is floored at 1e-6.
 */
export function unlikelihoodLoss(logp: Tensor, ulMask: Float32Array, validCount: number): Tensor {
  const oneMinusP = F.clamp(F.addScalar(F.neg(F.exp(logp)), 1), 1e-6, 1);
  return F.scale(F.sum(F.mul(F.neg(F.log(oneMinusP)), constant(ulMask))), validCount > 0 ? 1 / validCount : 0);
}

/**
 * 1 on every token of an n-gram that already occurred earlier in the same response (the candidates of
 * sequence-level unlikelihood), else 0. The first occurrence is not penalised.
 */
export function repeatedNgramMask(tokens: ArrayLike<number>, n = 4): Uint8Array {
  const mask = new Uint8Array(tokens.length), seen = new Set<string>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = Array.prototype.slice.call(tokens, i, i + n).join(',');
    if (seen.has(key)) for (let j = i; j < i + n; j++) mask[j] = 1;
    else seen.add(key);
  }
  return mask;
}

/** Share of a response's n-grams that repeat an earlier one (0 for responses shorter than n + 1). */
export function repeatedNgramShare(tokens: ArrayLike<number>, n = 4): number {
  const total = tokens.length - n + 1;
  if (total <= 0) return 0;
  const seen = new Set<string>();
  let rep = 0;
  for (let i = 0; i < total; i++) {
    const key = Array.prototype.slice.call(tokens, i, i + n).join(',');
    if (seen.has(key)) rep++;
    else seen.add(key);
  }
  return rep / total;
}

/** GRPO: rewards in consecutive groups of G; A = (r - group mean) / (group std (unbiased) + eps). */
export function groupAdvantages(rewards: ArrayLike<number>, G: number, eps = 1e-4): Float32Array {
  if (G < 2) throw new Error(`GRPO needs groups of at least 2 samples, got ${G}`);
  if (rewards.length % G) throw new Error(`GRPO: ${rewards.length} rewards do not split into groups of ${G}`);
  const a = new Float32Array(rewards.length);
  for (let g = 0; g < rewards.length; g += G) {
    let m = 0;
    for (let i = g; i < g + G; i++) m += rewards[i];
    m /= G;
    let v = 0;
    for (let i = g; i < g + G; i++) v += (rewards[i] - m) ** 2;
    const std = Math.sqrt(v / (G - 1));
    for (let i = g; i < g + G; i++) a[i] = (rewards[i] - m) / (std + eps);
  }
  return a;
}

/**
 * GRPO's per-token loss with token-level normalisation (sum over every valid token of the batch / their
 * count): max(-A r, -A clip(r)) + beta * k3(pi_ref || pi), ratio and clipping as in policyLoss.
 */
export function grpoLoss(newLogp: Tensor, oldLogp: Float32Array, refLogp: Float32Array | null, advantages: Float32Array, mask: Float32Array,
  o: { clip: number; logRatioClamp: number; beta: number }): PolicyLossResult & { kl: number } {
  const p = policyLoss(newLogp, oldLogp, advantages, mask, o);
  if (!(o.beta > 0) || !refLogp) return { ...p, kl: 0 };
  const n = countOf(mask);
  // k3 = exp(ref - logp) - (ref - logp) - 1, differentiated through logp.
  const d = F.sub(constant(refLogp), newLogp);
  const k3 = F.addScalar(F.sub(F.exp(d), d), -1);
  let kl = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) kl += k3.data[i];
  return { ...p, loss: F.add(p.loss, F.scale(maskedMean(k3, constant(mask), n), o.beta)), kl: n ? kl / n : 0 };
}

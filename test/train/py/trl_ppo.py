# TRL's PPO and GRPO arithmetic on fixed tensors, for test/train/ppo_trl.test.ts.
# TRL 1.13 (the wheel in the machine's wheelhouse) no longer ships PPOTrainer, so the PPO pieces below are
# copied verbatim from TRL's trl/experimental/ppo/ppo_trainer.py (huggingface/trl commit fd09025, Apache-2.0):
# masked_mean, masked_var, masked_whiten, the k1/k3 non-score reward, the GAE loop, and the policy and
# value losses of the PPO epoch loop. GRPO's group advantages and its token-level ("dapo"/"bnpo") loss run
# on trl 1.13's own nanstd, with the lines of GRPOTrainer that use it.
# Usage: python trl_ppo.py IN.json OUT.json
import json
import sys

import torch
from trl.trainer.utils import nanstd


# --- verbatim from trl/experimental/ppo/ppo_trainer.py ---
def masked_mean(values: torch.Tensor, mask: torch.Tensor, axis: bool | None = None) -> torch.Tensor:
    """Compute mean of tensor with a masked values."""
    if axis is not None:
        return (values * mask).sum(axis=axis) / mask.sum(axis=axis)
    else:
        return (values * mask).sum() / mask.sum()


def masked_var(values: torch.Tensor, mask: torch.Tensor, unbiased: bool = True) -> torch.Tensor:
    """Compute variance of tensor with masked values."""
    mean = masked_mean(values, mask)
    centered_values = values - mean
    variance = masked_mean(centered_values**2, mask)
    if unbiased:
        mask_sum = mask.sum()
        if mask_sum == 0:
            raise ValueError("The sum of the mask is zero")
        bessel_correction = mask_sum / (mask_sum - 1)
        variance = variance * bessel_correction
    return variance


def masked_whiten(values: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True) -> torch.Tensor:
    """Whiten values with masked values."""
    mean, var = masked_mean(values, mask), masked_var(values, mask)
    whitened = (values - mean) * torch.rsqrt(var + 1e-8)
    if not shift_mean:
        whitened += mean
    return whitened
# --- end verbatim ---


def main():
    d = json.load(open(sys.argv[1]))
    t = lambda k: torch.tensor(d[k], dtype=torch.float32)
    lengths = torch.tensor(d["lengths"])
    B, T = len(d["lengths"]), len(d["logprobs"][0])
    response_idxs = torch.arange(T).repeat(B, 1)
    sequence_lengths = lengths - 1  # TRL: index of the last response token
    padding_mask = response_idxs > sequence_lengths.unsqueeze(1)
    out = {}

    logprobs, ref_logprobs = t("logprobs"), t("ref_logprobs")
    for est in ("k1", "k3"):
        # verbatim: step 4, the non-score reward
        logr = ref_logprobs - logprobs
        kl = -logr if est == "k1" else (logr.exp() - 1) - logr  # Else statement is k3
        non_score_reward = -d["kl_coef"] * kl
        out["non_score_reward_" + est] = torch.masked_fill(non_score_reward, padding_mask, 0).tolist()

    # GAE on the rewards and values hcx gives (zero past each response's end), verbatim loop.
    rewards, values = t("rewards"), t("values")
    gamma, lam = d["gamma"], d["lam"]
    lastgaelam = 0
    advantages_reversed = []
    gen_length = T
    for tt in reversed(range(gen_length)):
        nextvalues = values[:, tt + 1] if tt < gen_length - 1 else 0.0
        delta = rewards[:, tt] + gamma * nextvalues - values[:, tt]
        lastgaelam = delta + gamma * lam * lastgaelam
        advantages_reversed.append(lastgaelam)
    advantages = torch.stack(advantages_reversed[::-1], axis=1)
    returns = advantages + values
    out["raw_advantages"] = torch.masked_fill(advantages, padding_mask, 0).tolist()
    out["returns"] = torch.masked_fill(returns, padding_mask, 0).tolist()
    advantages = masked_whiten(advantages, ~padding_mask)
    advantages = torch.masked_fill(advantages, padding_mask, 0)
    out["advantages"] = advantages.tolist()

    # The losses of one micro-batch (verbatim from the epoch loop), on given new log-probs and values.
    mb_advantage, mb_logprobs, mb_return, mb_values = t("mb_advantage"), t("mb_logprobs"), t("mb_return"), t("mb_values")
    new_logprobs = t("new_logprobs").requires_grad_(True)
    vpred = t("vpred").requires_grad_(True)
    cliprange, cliprange_value = d["cliprange"], d["cliprange_value"]
    vpredclipped = torch.clamp(vpred, mb_values - cliprange_value, mb_values + cliprange_value)
    vf_losses1 = torch.square(vpred - mb_return)
    vf_losses2 = torch.square(vpredclipped - mb_return)
    vf_loss_max = torch.max(vf_losses1, vf_losses2)
    vf_loss = 0.5 * masked_mean(vf_loss_max, ~padding_mask)
    vf_clipfrac = masked_mean((vf_losses2 > vf_losses1).float(), ~padding_mask)
    logprobs_diff = new_logprobs - mb_logprobs
    ratio = torch.exp(logprobs_diff)
    pg_losses = -mb_advantage * ratio
    pg_losses2 = -mb_advantage * torch.clamp(ratio, 1.0 - cliprange, 1.0 + cliprange)
    pg_loss_max = torch.max(pg_losses, pg_losses2)
    pg_loss = masked_mean(pg_loss_max, ~padding_mask)
    pg_clipfrac = masked_mean((pg_losses2 > pg_losses).float(), ~padding_mask)
    (pg_loss + vf_loss).backward()
    out.update(pg_loss=pg_loss.item(), vf_loss=vf_loss.item(), pg_clipfrac=pg_clipfrac.item(), vf_clipfrac=vf_clipfrac.item(),
               pg_grad=new_logprobs.grad.tolist(), vf_grad=vpred.grad.tolist())

    # GRPO (trl 1.13 GRPOTrainer, scale_rewards="group"): group advantages ...
    g_rewards = t("grpo_rewards")
    num_generations = d["grpo_G"]
    mean_grouped_rewards = torch.nanmean(g_rewards.view(-1, num_generations), dim=1)
    mean_grouped_rewards = mean_grouped_rewards.repeat_interleave(num_generations, dim=0)
    std_rewards = nanstd(g_rewards.view(-1, num_generations), dim=1)
    std_rewards = std_rewards.repeat_interleave(num_generations, dim=0)
    g_adv = g_rewards - mean_grouped_rewards
    g_adv = g_adv / (std_rewards + 1e-4)
    out["grpo_advantages"] = g_adv.tolist()
    # ... and its per-token loss with the KL term, normalised over all tokens of the batch (loss_type "dapo").
    mask = (~padding_mask).float()
    per_token_logps = t("new_logprobs").requires_grad_(True)
    old_per_token_logps, ref_per_token_logps = t("mb_logprobs"), t("ref_logprobs")
    beta, eps = d["grpo_beta"], cliprange
    per_token_kl = torch.exp(ref_per_token_logps - per_token_logps) - (ref_per_token_logps - per_token_logps) - 1
    coef_1 = torch.exp(per_token_logps - old_per_token_logps)
    coef_2 = torch.clamp(coef_1, 1 - eps, 1 + eps)
    advantages_g = g_adv.unsqueeze(1)
    per_token_loss1 = coef_1 * advantages_g
    per_token_loss2 = coef_2 * advantages_g
    per_token_loss = -torch.min(per_token_loss1, per_token_loss2)
    per_token_loss = per_token_loss + beta * per_token_kl
    loss = (per_token_loss * mask).sum() / mask.sum().clamp(min=1.0)
    loss.backward()
    out.update(grpo_loss=loss.item(), grpo_grad=per_token_logps.grad.tolist())
    json.dump(out, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()

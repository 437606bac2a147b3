# The TRL peer of `hcx bench rlhf` (src/bench/rlhf_runs.ts), run in the /tmp/hcx-py venv.
# TRL 1.13 (the machine's wheelhouse) no longer ships PPOTrainer, so this is one PPOTrainer iteration put
# together from its pieces: the helpers below (first_true_indices, truncate_response, forward, get_reward,
# generate, masked_mean / masked_var / masked_whiten) and the rollout, scoring, reward, GAE and PPO-epoch
# code are written after TRL's trl/experimental/ppo/ppo_trainer.py and its utils (huggingface/trl commit
# fd09025, Apache-2.0), keeping their structure and tensor operations but not copied from a checkout (the
# loss lines equal test/train/py/trl_ppo.py's verbatim copy); no accelerate, logging or checkpointing;
# selective_log_softmax is trl 1.13's own. One minibatch and micro-batch of the whole batch per epoch.
# Policy and reference: the hcx export
# (AutoModelForCausalLM); reward and value models: the same export's backbone + hcx's score head (TRL's
# AutoModelForSequenceClassification shape: backbone + `score` linear). Prompts are hcx's token ids, left-padded
# per batch, as TRL's data collator does.
# argv: settings JSON. Prints one JSON line: per iteration, rollout / score / train seconds and response length.
import json, sys, time
import torch
import transformers
import trl
from torch import nn
from transformers import AutoModel, AutoModelForCausalLM, GenerationConfig
from trl.trainer.utils import selective_log_softmax

s = json.load(open(sys.argv[1]))
torch.set_num_threads(s['threads'])
torch.manual_seed(0)
PAD, STOP, INVALID_LOGPROB = s['pad'], s['stop'], 1.0


def first_true_indices(bools, dtype=torch.long):
    row_len = bools.size(-1)
    zero_or_index = row_len * (~bools).type(dtype) + torch.arange(row_len, device=bools.device).type(dtype)
    return torch.min(zero_or_index, dim=-1).values


def truncate_response(stop_token_id, pad_token_id, responses):
    trunc_idxs = first_true_indices(responses == stop_token_id).unsqueeze(-1)
    new_size = [1] * (len(responses.size()) - 1) + [responses.shape[1]]
    idxs = torch.arange(responses.shape[1], device=responses.device).view(*new_size)
    return torch.masked_fill(responses, idxs > trunc_idxs, pad_token_id)


def forward(model, query_responses, pad_token_id):
    attention_mask = query_responses != pad_token_id
    position_ids = attention_mask.cumsum(1) - attention_mask.long()
    input_ids = torch.masked_fill(query_responses, ~attention_mask, 0)
    return model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, return_dict=True, output_hidden_states=True)


class ScoreModel(nn.Module):
    """AutoModelForSequenceClassification's shape: `model` (the backbone, base_model_prefix) + `score`."""
    base_model_prefix = 'model'

    def __init__(self, hf, head):
        super().__init__()
        self.model = AutoModel.from_pretrained(hf, dtype=torch.float32, attn_implementation='sdpa')
        self.score = nn.Linear(len(head['weight']), 1)
        with torch.no_grad():
            self.score.weight.copy_(torch.tensor(head['weight']).view(1, -1))
            self.score.bias.copy_(torch.tensor(head['bias']))


def get_reward(model, query_responses, pad_token_id, context_length):
    attention_mask = query_responses != pad_token_id
    position_ids = attention_mask.cumsum(1) - attention_mask.long()
    lm_backbone = getattr(model, model.base_model_prefix)
    input_ids = torch.masked_fill(query_responses, ~attention_mask, 0)
    output = lm_backbone(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, return_dict=True,
                         output_hidden_states=True, use_cache=False)
    reward_logits = model.score(output.hidden_states[-1])
    sequence_lengths = first_true_indices(query_responses[:, context_length:] == pad_token_id) - 1 + context_length
    return reward_logits, reward_logits[torch.arange(reward_logits.size(0)), sequence_lengths].squeeze(-1), sequence_lengths


def generate(lm_backbone, queries, pad_token_id, generation_config):
    context_length = queries.shape[1]
    attention_mask = queries != pad_token_id
    input_ids = torch.masked_fill(queries, ~attention_mask, 0)
    output = lm_backbone.generate(input_ids=input_ids, attention_mask=attention_mask, generation_config=generation_config,
                                  return_dict_in_generate=True, output_scores=True)
    logits = torch.stack(output.scores, 1)
    return torch.cat((queries, output.sequences[:, context_length:]), dim=1), logits


def masked_mean(values, mask, axis=None):
    return (values * mask).sum(axis=axis) / mask.sum(axis=axis) if axis is not None else (values * mask).sum() / mask.sum()


def masked_var(values, mask, unbiased=True):
    mean = masked_mean(values, mask)
    variance = masked_mean((values - mean) ** 2, mask)
    if unbiased:
        mask_sum = mask.sum()
        variance = variance * (mask_sum / (mask_sum - 1))
    return variance


def masked_whiten(values, mask, shift_mean=True):
    mean, var = masked_mean(values, mask), masked_var(values, mask)
    whitened = (values - mean) * torch.rsqrt(var + 1e-8)
    if not shift_mean:
        whitened += mean
    return whitened


class PolicyAndValueWrapper(nn.Module):
    def __init__(self, policy, value_model):
        super().__init__()
        self.policy, self.value_model = policy, value_model
        self.critic_backbone = getattr(value_model, value_model.base_model_prefix)

    def forward(self, **kwargs):
        output = self.critic_backbone(**kwargs)
        logits = self.value_model.score(output.hidden_states[-1])
        return self.policy(**kwargs), logits


head = json.load(open(s['rm_head']))
policy = AutoModelForCausalLM.from_pretrained(s['hf'], dtype=torch.float32, attn_implementation='sdpa')
ref_policy = AutoModelForCausalLM.from_pretrained(s['hf'], dtype=torch.float32, attn_implementation='sdpa').eval()
reward_model, value_model = ScoreModel(s['hf'], head).eval(), ScoreModel(s['hf'], head)
model = PolicyAndValueWrapper(policy, value_model)
optimizer = torch.optim.AdamW(model.parameters(), lr=s['lr'], betas=(0.9, 0.95), weight_decay=0.0)
generation_config = GenerationConfig(max_new_tokens=s['max_new'], temperature=(s['temperature'] + 1e-7), top_k=0, top_p=1.0, do_sample=True,
                                     eos_token_id=STOP, pad_token_id=PAD)
temperature, B = s['temperature'], s['batch']
out = []
for it in range(s['iterations']):
    batch = s['prompts'][it * B:(it + 1) * B]
    L = max(len(p) for p in batch)
    queries = torch.tensor([[PAD] * (L - len(p)) + p for p in batch])
    context_length = queries.shape[1]
    t0 = time.perf_counter()
    model.eval()
    with torch.no_grad():
        query_responses, logitss = generate(policy, queries, PAD, generation_config)  # batch_generation, one chunk
        t1 = time.perf_counter()
        responses = query_responses[:, context_length:]
        logits = logitss / (temperature + 1e-7)
        logprobs = selective_log_softmax(logits, responses)
        ref_output = forward(ref_policy, query_responses, PAD)
        ref_logits = ref_output.logits[:, context_length - 1: -1] / (temperature + 1e-7)
        ref_logprobs = selective_log_softmax(ref_logits, responses)
        postprocessed_responses = truncate_response(STOP, PAD, responses)
        postprocessed_query_responses = torch.cat((queries, postprocessed_responses), 1)
        sequence_lengths = first_true_indices(postprocessed_responses == PAD) - 1
        full_value, _, _ = get_reward(value_model, query_responses, PAD, context_length)
        values = full_value[:, context_length - 1: -1].squeeze(-1)
        _, scores, _ = get_reward(reward_model, postprocessed_query_responses, PAD, context_length)
        # rewards, GAE and whitening, as PPOTrainer.train()
        response_idxs = torch.arange(responses.shape[1]).repeat(responses.shape[0], 1)
        padding_mask = response_idxs > sequence_lengths.unsqueeze(1)
        logprobs = torch.masked_fill(logprobs, padding_mask, INVALID_LOGPROB)
        ref_logprobs = torch.masked_fill(ref_logprobs, padding_mask, INVALID_LOGPROB)
        sequence_lengths_p1 = sequence_lengths + 1
        padding_mask_p1 = response_idxs > (sequence_lengths_p1.unsqueeze(1))
        values = torch.masked_fill(values, padding_mask_p1, 0)
        logr = ref_logprobs - logprobs
        kl = -logr
        non_score_reward = -s['kl_coef'] * kl
        rewards = non_score_reward.clone()
        actual_start = torch.arange(rewards.size(0))
        actual_end = torch.where(sequence_lengths_p1 < rewards.size(1), sequence_lengths_p1, sequence_lengths)
        rewards[[actual_start, actual_end]] += scores
        lastgaelam, advantages_reversed, gen_length = 0, [], responses.shape[1]
        for t in reversed(range(gen_length)):
            nextvalues = values[:, t + 1] if t < gen_length - 1 else 0.0
            delta = rewards[:, t] + s['gamma'] * nextvalues - values[:, t]
            lastgaelam = delta + s['gamma'] * s['lam'] * lastgaelam
            advantages_reversed.append(lastgaelam)
        advantages = torch.stack(advantages_reversed[::-1], axis=1)
        returns = advantages + values
        advantages = torch.masked_fill(masked_whiten(advantages, ~padding_mask), padding_mask, 0)
    t2 = time.perf_counter()
    model.train()
    cliprange, cliprange_value = s['cliprange'], s['cliprange_value']
    for ppo_epoch_idx in range(s['epochs']):
        # One minibatch and one micro-batch of all B sequences per epoch (hcx's miniBatchSize = batchSize = B).
        mb_inds = torch.randperm(B)
        mb_advantage, mb_responses = advantages[mb_inds], responses[mb_inds]
        mb_query_responses, mb_logprobs = query_responses[mb_inds], logprobs[mb_inds]
        mb_return, mb_values = returns[mb_inds], values[mb_inds]
        output, vpred_temp = forward(model, mb_query_responses, PAD)
        logits = output.logits[:, context_length - 1: -1] / (temperature + 1e-7)
        new_logprobs = selective_log_softmax(logits, mb_responses)
        new_logprobs = torch.masked_fill(new_logprobs, padding_mask[mb_inds], INVALID_LOGPROB)
        vpred = vpred_temp[:, context_length - 1: -1].squeeze(-1)
        vpred = torch.masked_fill(vpred, padding_mask_p1[mb_inds], 0)
        vpredclipped = torch.clamp(vpred, mb_values - cliprange_value, mb_values + cliprange_value)
        vf_losses1 = torch.square(vpred - mb_return)
        vf_losses2 = torch.square(vpredclipped - mb_return)
        vf_loss = 0.5 * masked_mean(torch.max(vf_losses1, vf_losses2), ~padding_mask_p1[mb_inds])
        ratio = torch.exp(new_logprobs - mb_logprobs)
        pg_losses = -mb_advantage * ratio
        pg_losses2 = -mb_advantage * torch.clamp(ratio, 1.0 - cliprange, 1.0 + cliprange)
        pg_loss = masked_mean(torch.max(pg_losses, pg_losses2), ~padding_mask[mb_inds])
        loss = pg_loss + s['vf_coef'] * vf_loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()
    t3 = time.perf_counter()
    out.append({'rollout_s': t1 - t0, 'score_s': t2 - t1, 'train_s': t3 - t2, 'response_len': float(sequence_lengths_p1.float().mean())})
print(json.dumps({'iterations': out, 'torch': torch.__version__, 'trl': trl.__version__, 'transformers': transformers.__version__}))

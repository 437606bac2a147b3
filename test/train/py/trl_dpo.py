# TRL's DPOTrainer loss computation (trl 1.13: DPOTrainer._compute_loss, its concatenated [chosen; rejected]
# forward with a completion mask, loss_type "sigmoid") on the exact token rows of an hcx DPO batch, for
# test/train/dpo.test.ts. argv: HF policy dir, HF reference dir, input JSON, output JSON.
# Input: {"beta", "chosen": [[ids]], "rejected": [[ids]], "chosen_start": [..], "rejected_start": [..], "pad"}.
import json, sys
import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import DPOConfig, DPOTrainer

policy_dir, ref_dir, in_file, out_file = sys.argv[1:5]
d = json.load(open(in_file))
torch.manual_seed(0)
torch.set_num_threads(1)
tok = AutoTokenizer.from_pretrained(policy_dir)
load = lambda p: AutoModelForCausalLM.from_pretrained(p, torch_dtype=torch.float32, attn_implementation='eager')
policy, ref = load(policy_dir), load(ref_dir)
ds = Dataset.from_list([{'prompt': 'a', 'chosen': 'b', 'rejected': 'c'}])
args = DPOConfig(output_dir=d['out_dir'], beta=d['beta'], loss_type=['sigmoid'], use_cpu=True, bf16=False, fp16=False,
                 report_to=[], precompute_ref_log_probs=False)
trainer = DPOTrainer(model=policy, ref_model=ref, args=args, train_dataset=ds, processing_class=tok)

rows = d['chosen'] + d['rejected']
starts = d['chosen_start'] + d['rejected_start']
T = max(len(r) for r in rows)
input_ids = torch.full((len(rows), T), d['pad'], dtype=torch.long)
attention_mask = torch.zeros((len(rows), T), dtype=torch.long)
completion_mask = torch.zeros((len(rows), T), dtype=torch.long)
for i, (r, s) in enumerate(zip(rows, starts)):
    input_ids[i, :len(r)] = torch.tensor(r)
    attention_mask[i, :len(r)] = 1
    completion_mask[i, s:len(r)] = 1
inputs = {'input_ids': input_ids, 'attention_mask': attention_mask, 'completion_mask': completion_mask}
trainer.model.train()
loss = trainer._compute_loss(trainer.model, inputs, return_outputs=False)
m = {k: v[-1] for k, v in trainer._metrics['train'].items() if v and isinstance(v[-1], float)}
json.dump({'loss': float(loss.detach()), 'metrics': m}, open(out_file, 'w'))

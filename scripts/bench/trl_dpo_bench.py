# TRL's DPOTrainer throughput, the peer of hcx dpo (src/bench/dpo_peer.ts), run in the /tmp/hcx-py venv.
# argv: HF model dir, pairs JSONL of hcx's token ids ({"prompt_ids", "chosen_ids", "rejected_ids"}, in hcx's
# step order), settings JSON. TRL's own tokenisation is skipped (the rows are hcx's, so both systems compute
# the same tokens); sigmoid loss, reference log-probs precomputed before training as hcx does; fp32.
# Prints one JSON line: non-padding tokens per second over the steps after warm-up, seconds per step, and
# the seconds the reference precompute took.
import json, statistics, sys, time
import torch
from datasets import Dataset
from torch.utils.data import SequentialSampler
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
from trl import DPOConfig, DPOTrainer

model_dir, data_file, settings_file = sys.argv[1:4]
s = json.load(open(settings_file))
torch.set_num_threads(s['threads'])
torch.manual_seed(0)
tok = AutoTokenizer.from_pretrained(model_dir)
model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation='sdpa')
ds = Dataset.from_list([json.loads(l) for l in open(data_file) if l.strip()])

tokens, times = [], []
ref_s = [0.0]
class Timed(TrainerCallback):
    def on_step_begin(self, args, state, control, **kw):
        self.t0 = time.perf_counter()
    def on_step_end(self, args, state, control, **kw):
        times.append(time.perf_counter() - self.t0)

class Counting(DPOTrainer):
    def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
        return dataset  # already hcx's token ids
    def _get_train_sampler(self, *args, **kwargs):
        return SequentialSampler(self.train_dataset)
    def _precompute_ref_logps(self, *a, **kw):
        t0 = time.perf_counter()
        out = super()._precompute_ref_logps(*a, **kw)
        ref_s[0] += time.perf_counter() - t0
        return out
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if model.training:
            tokens.append(int(inputs['attention_mask'].sum()))
        return super().compute_loss(model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch)

args = DPOConfig(
    output_dir=s['out_dir'], per_device_train_batch_size=s['batch_size'], gradient_accumulation_steps=1,
    max_steps=s['steps'], learning_rate=s['lr'], lr_scheduler_type='constant', warmup_steps=0, weight_decay=0.0,
    adam_beta2=0.95, max_grad_norm=1.0, beta=s['beta'], loss_type=['sigmoid'], max_length=None,
    precompute_ref_log_probs=True, precompute_ref_batch_size=s['batch_size'],
    bf16=False, fp16=False, use_cpu=True, logging_steps=10_000, save_strategy='no', report_to=[], seed=0, data_seed=0,
    dataloader_num_workers=0, gradient_checkpointing=False,
)
trainer = Counting(model=model, args=args, train_dataset=ds, processing_class=tok, callbacks=[Timed()])
trainer.train()
w = s['warmup']
n, t = sum(tokens[w:]), sum(times[w:])
print(json.dumps({'tokens_per_s': n / t, 'step_s': statistics.median(times[w:]), 'steps': len(times) - w, 'seconds': t,
                  'tokens_per_step': n / (len(times) - w), 'reference_s': ref_s[0], 'torch': torch.__version__}))

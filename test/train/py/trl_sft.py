# TRL's SFTTrainer on the same model, data and order as an hcx SFT run, for test/train/sft_trl.test.ts.
# argv: HF model dir, conversations JSONL (already in hcx's batch order), settings JSON, output JSON.
# Assistant-only loss through the exported chat template, whose {% generation %} markers hold each assistant turn's
# content and its <|endofturn|> (hcx's mask); no shuffling; fp32; constant learning rate; no dropout.
import json, sys
import torch
from datasets import Dataset
from torch.utils.data import SequentialSampler
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTConfig, SFTTrainer

model_dir, data_file, settings_file, out_file = sys.argv[1:5]
s = json.load(open(settings_file))
torch.manual_seed(0)
torch.set_num_threads(1)
tok = AutoTokenizer.from_pretrained(model_dir)
# The export's own chat template: it must carry the {% generation %} markers assistant_only_loss needs.
assert 'generation' in tok.chat_template, 'the exported chat template has no {% generation %} markers'
model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32, attn_implementation='eager')
rows = [json.loads(l) for l in open(data_file) if l.strip()]
ds = Dataset.from_list([{'messages': r['messages']} for r in rows])

losses = []  # (global step, micro-batch loss)
class Recorded(SFTTrainer):
    def _get_train_sampler(self, *args, **kwargs):
        return SequentialSampler(self.train_dataset)
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        out = super().compute_loss(model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch)
        loss = out[0] if return_outputs else out
        if model.training:
            losses.append((self.state.global_step, float(loss.detach())))
        return out

args = SFTConfig(
    output_dir=s['out_dir'], per_device_train_batch_size=s['batch_size'], gradient_accumulation_steps=s['grad_accum'],
    max_steps=s['steps'], learning_rate=s['lr'], lr_scheduler_type='constant', warmup_steps=0, weight_decay=0.0,
    adam_beta1=s['beta1'], adam_beta2=s['beta2'], adam_epsilon=1e-8, max_grad_norm=s['clip'], optim='adamw_torch',
    assistant_only_loss=True, packing=False, max_length=None, bf16=False, fp16=False, use_cpu=True,
    dataloader_drop_last=False, logging_steps=1, save_strategy='no', report_to=[], seed=0, data_seed=0,
    dataset_num_proc=None, remove_unused_columns=True, shuffle_dataset=False,
)
trainer = Recorded(model=model, args=args, train_dataset=ds, processing_class=tok)
tokenized = [{'input_ids': r['input_ids'], 'labels': r['labels']} for r in trainer.train_dataset]
trainer.train()
per_step = {}
for step, l in losses:
    per_step[step] = per_step.get(step, 0.0) + l
json.dump({'losses': [per_step[k] for k in sorted(per_step)], 'tokenized': tokenized}, open(out_file, 'w'))

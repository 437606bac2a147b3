# TRL's SFTTrainer throughput, the peer of `hcx bench sft` (src/bench/sft.ts), run in the /tmp/hcx-py venv.
# argv: HF model dir, conversations JSONL (in the order hcx's padded run takes them), settings JSON.
# Assistant-only loss through a chat template with {% generation %} around each assistant turn (hcx's template).
# Modes: 'padded' (pad to the longest of each batch, sequential order: the same batches as hcx padded) and
# 'packed' (TRL's best-fit-decreasing packing into max_length rows, padding-free; transformers 5 turns the
# restarting position_ids into a block-diagonal SDPA mask, so packed conversations stay apart on CPU too).
# Prints one JSON line: non-padding tokens per second over the steps after warm-up, seconds per step.
import json, statistics, sys, time
import torch
from datasets import Dataset
from torch.utils.data import SequentialSampler
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
from trl import SFTConfig, SFTTrainer

model_dir, data_file, settings_file = sys.argv[1:4]
s = json.load(open(settings_file))
packed = s['mode'] == 'packed'
torch.set_num_threads(s['threads'])
torch.manual_seed(0)
TEMPLATE = ("{% for message in messages %}{{ '<|' + message['role'] + '|>' }}"
            "{% if message['role'] == 'assistant' %}{% generation %}{{ message['content'] + '<|endofturn|>' }}{% endgeneration %}"
            "{% else %}{{ message['content'] + '<|endofturn|>' }}{% endif %}{% endfor %}")
tok = AutoTokenizer.from_pretrained(model_dir)
tok.chat_template = TEMPLATE
model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation='sdpa')
ds = Dataset.from_list([{'messages': json.loads(l)['messages']} for l in open(data_file) if l.strip()])

tokens, positions, times = [], [], []
class Timed(TrainerCallback):
    def on_step_begin(self, args, state, control, **kw):
        self.t0 = time.perf_counter()
    def on_step_end(self, args, state, control, **kw):
        times.append(time.perf_counter() - self.t0)

class Counting(SFTTrainer):
    def _get_train_sampler(self, *args, **kwargs):
        return SequentialSampler(self.train_dataset)
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if model.training:
            ids = inputs['input_ids']
            mask = inputs.get('attention_mask')
            tokens.append(int(mask.sum()) if mask is not None else ids.numel())
            positions.append(ids.numel())
        return super().compute_loss(model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch)

args = SFTConfig(
    output_dir=s['out_dir'], per_device_train_batch_size=s['batch_size'], gradient_accumulation_steps=1,
    max_steps=s['steps'], learning_rate=1e-4, lr_scheduler_type='constant', warmup_steps=0, weight_decay=0.0,
    adam_beta2=0.95, max_grad_norm=1.0, assistant_only_loss=True, max_length=s['max_length'],
    packing=packed, packing_strategy='bfd', padding_free=packed, shuffle_dataset=False,
    bf16=s['bf16'], use_cpu=True, logging_steps=10_000, save_strategy='no', report_to=[], seed=0, data_seed=0,
    dataloader_num_workers=0, gradient_checkpointing=False,
)
trainer = Counting(model=model, args=args, train_dataset=ds, processing_class=tok, callbacks=[Timed()])
trainer.train()
w = s['warmup']
n, p, t = sum(tokens[w:]), sum(positions[w:]), sum(times[w:])
print(json.dumps({'tokens_per_s': n / t, 'step_s': statistics.median(times[w:]), 'steps': len(times) - w,
                  'tokens_per_step': n / (len(times) - w), 'padding_share': 1 - n / p, 'torch': torch.__version__}))

# TRL's SFTTrainer throughput, the peer of `hcx bench sft` (src/bench/sft.ts), run in the /tmp/hcx-py venv.
# argv: HF model dir, conversations JSONL, settings JSON. Trains with assistant-only loss on padded batches
# (TRL's packing on CPU has no attention that keeps packed sequences apart) and prints one JSON line:
# the median over steps after warm-up of non-padding tokens per second and seconds per step.
import json, statistics, sys, time
import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
from trl import SFTConfig, SFTTrainer

model_dir, data_file, settings_file = sys.argv[1:4]
s = json.load(open(settings_file))
torch.set_num_threads(s['threads'])
torch.manual_seed(0)
TEMPLATE = ("{% for message in messages %}{{ '<|' + message['role'] + '|>' }}"
            "{% if message['role'] == 'assistant' %}{% generation %}{{ message['content'] + '<|endofturn|>' }}{% endgeneration %}"
            "{% else %}{{ message['content'] + '<|endofturn|>' }}{% endif %}{% endfor %}")
tok = AutoTokenizer.from_pretrained(model_dir)
tok.chat_template = TEMPLATE
model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32, attn_implementation=s.get('attn', 'sdpa'))
ds = Dataset.from_list([json.loads(l) for l in open(data_file) if l.strip()])

tokens, times = [], []
class Timed(TrainerCallback):
    def on_step_begin(self, args, state, control, **kw):
        self.t0 = time.perf_counter()
    def on_step_end(self, args, state, control, **kw):
        times.append(time.perf_counter() - self.t0)

class Counting(SFTTrainer):
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if model.training:
            tokens.append(int(inputs['attention_mask'].sum()))
        return super().compute_loss(model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch)

args = SFTConfig(
    output_dir=s['out_dir'], per_device_train_batch_size=s['batch_size'], gradient_accumulation_steps=1,
    max_steps=s['steps'], learning_rate=1e-4, lr_scheduler_type='constant', warmup_steps=0, weight_decay=0.0,
    adam_beta2=0.95, max_grad_norm=1.0, assistant_only_loss=True, packing=False, max_length=s['max_length'],
    bf16=s['bf16'], use_cpu=True, torch_compile=s.get('compile', False), logging_steps=10_000, save_strategy='no',
    report_to=[], seed=0, dataloader_num_workers=0, group_by_length=False, gradient_checkpointing=False,
)
trainer = Counting(model=model, args=args, train_dataset=ds, processing_class=tok, callbacks=[Timed()])
trainer.train()
w = s['warmup']
tps = [n / t for n, t in zip(tokens[w:], times[w:])]
print(json.dumps({'tokens_per_s': statistics.median(tps), 'step_s': statistics.median(times[w:]), 'steps': len(times) - w,
                  'tokens_per_step': statistics.mean(tokens[w:]), 'torch': torch.__version__}))

# peft's side of test/model/lora.test.ts. argv: HF base model dir, hcx-saved adapter dir, token ids JSON,
# output JSON, a folder for an adapter peft itself makes. Prints nothing; writes the logits of
# (1) the base model with hcx's adapter opened by peft, (2) the same after merge_and_unload,
# (3) the base with peft's own random adapter (saved for hcx to load).
import json, sys
import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM

base_dir, adapter_dir, ids_file, out_file, own_dir = sys.argv[1:6]
torch.manual_seed(0)
ids = torch.tensor(json.load(open(ids_file)))
load = lambda: AutoModelForCausalLM.from_pretrained(base_dir, torch_dtype=torch.float32, attn_implementation='eager').eval()
with torch.no_grad():
    m = PeftModel.from_pretrained(load(), adapter_dir).eval()
    hcx_adapter = m(ids).logits
    merged = m.merge_and_unload()(ids).logits
    cfg = LoraConfig(r=3, lora_alpha=6, target_modules=['k_proj', 'gate_proj', 'down_proj'], lora_dropout=0.0, init_lora_weights=False, task_type='CAUSAL_LM')
    own = get_peft_model(load(), cfg).eval()
    own_logits = own(ids).logits
    own.save_pretrained(own_dir, safe_serialization=True)
json.dump({'hcx_adapter': hcx_adapter.flatten().tolist(), 'merged': merged.flatten().tolist(), 'own': own_logits.flatten().tolist()}, open(out_file, 'w'))

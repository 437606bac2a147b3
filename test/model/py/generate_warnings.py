"""transformers' generate on an hcx export, as a user calls it (no generation arguments beyond max_new_tokens),
capturing every warning it emits (Python warnings and transformers' logger). argv: HF DIR. stdout: JSON
{"warnings": [...], "ids": [...], "config": generation_config as loaded}.
"""
import json
import logging
import sys
import warnings

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.utils import logging as hf_logging

records = []
class Capture(logging.Handler):
    def emit(self, record):
        if record.levelno >= logging.WARNING:
            records.append(record.getMessage())
hf_logging.get_logger().addHandler(Capture())
hf_logging.set_verbosity_warning()
torch.manual_seed(0)
d = sys.argv[1]
tok = AutoTokenizer.from_pretrained(d)
model = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32)
ids = tok.apply_chat_template([{"role": "user", "content": "Hello there"}], add_generation_prompt=True, return_tensors="pt", return_dict=True)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    records.clear()
    out = model.generate(**ids, max_new_tokens=4)
    out2 = model.generate(ids["input_ids"], max_new_tokens=4)
json.dump({"warnings": records + [str(w.message) for w in caught], "ids": out[0].tolist(), "config": model.generation_config.to_dict()}, sys.stdout)

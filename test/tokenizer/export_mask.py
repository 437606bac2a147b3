"""An hcx export through transformers: apply_chat_template's text, ids and assistant-token mask (what TRL's
assistant_only_loss trains on) for each case, read from the export's own chat template.

argv: HF DIR.  stdin: [{"messages", "tools"}].  stdout: [{"text", "ids", "mask"} or {"error"}]
"""
import json
import sys

from transformers import AutoTokenizer

tok = AutoTokenizer.from_pretrained(sys.argv[1])
out = []
for c in json.load(sys.stdin):
    try:
        text = tok.apply_chat_template(c["messages"], tools=c.get("tools"), tokenize=False)
        enc = tok.apply_chat_template(c["messages"], tools=c.get("tools"), tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
        out.append({"text": text, "ids": list(enc["input_ids"]), "mask": list(enc["assistant_masks"])})
    except Exception as e:
        out.append({"error": str(e)})
json.dump(out, sys.stdout)

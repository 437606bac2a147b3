"""Reference for test/train/imported_trl.test.ts: transformers' own chat tokenization and loss on an imported model.

argv: request.json out.json. The request holds the model directory, the conversations, an optional chat
template with {% generation %} markers (for transformers' return_assistant_tokens_mask) and, per
conversation, hcx's ids and training mask. Writes, per conversation, apply_chat_template's ids (the model's
own template), the assistant mask of the marked template, and the model's mean cross-entropy over hcx's
trained tokens (float32, labels -100 elsewhere; transformers shifts them itself).
"""
import json
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

req = json.load(open(sys.argv[1]))
tok = AutoTokenizer.from_pretrained(req["dir"])
model = AutoModelForCausalLM.from_pretrained(req["dir"], dtype=torch.float32)
model.eval()
out = []
for conv, hcx in zip(req["conversations"], req["hcx"]):
    ids = tok.apply_chat_template(conv, tokenize=True, return_dict=True)["input_ids"]
    row = {"ids": list(ids)}
    if req.get("marked_template"):
        enc = tok.apply_chat_template(conv, tokenize=True, return_dict=True, return_assistant_tokens_mask=True, chat_template=req["marked_template"])
        row["marked_ids"] = list(enc["input_ids"])
        row["assistant_mask"] = list(enc["assistant_masks"])
    x = torch.tensor([hcx["ids"]])
    labels = torch.tensor([[t if m else -100 for t, m in zip(hcx["ids"], hcx["mask"])]])
    with torch.no_grad():
        row["loss"] = model(input_ids=x, labels=labels).loss.item()
    out.append(row)
json.dump(out, open(sys.argv[2], "w"))

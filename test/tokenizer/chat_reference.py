"""Chat template renderings from transformers (its Jinja environment: trim/lstrip blocks, tojson, raise_exception,
strftime_now), the reference for hcx's renderer.

stdin: {"dir": DIR or null, "template": SOURCE or null, "vars": {...}, "cases": [{"messages", "tools", "add_generation_prompt"}]}
stdout: [{"text": str, "ids": [int] or null} or {"error": str}]  (ids: the tokenizer of DIR on the text, no special tokens added)
"""
import json
import sys

from transformers import AutoTokenizer
from transformers.utils.chat_template_utils import render_jinja_template

req = json.load(sys.stdin)
tok = AutoTokenizer.from_pretrained(req["dir"]) if req.get("dir") else None
out = []
for c in req["cases"]:
    try:
        if req.get("template"):
            texts, _ = render_jinja_template(conversations=[c["messages"]], tools=c.get("tools"), chat_template=req["template"],
                                             add_generation_prompt=c.get("add_generation_prompt", False), **req.get("vars", {}))
            text = texts[0]
        else:
            text = tok.apply_chat_template(c["messages"], tools=c.get("tools"), tokenize=False, add_generation_prompt=c.get("add_generation_prompt", False))
        ids = tok(text, add_special_tokens=False)["input_ids"] if tok else None
        out.append({"text": text, "ids": ids})
    except Exception as e:  # a template's raise_exception
        out.append({"error": str(e)})
json.dump(out, sys.stdout)

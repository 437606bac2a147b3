"""Reference ids for the import parity tests, from Hugging Face's Rust tokenizers (the `tokenizers` package) and
transformers' AutoTokenizer on the same files.

stdin: {"dir": DIR, "texts": [...]}
stdout: {"plain": [[ids]...], "special": [[ids]...], "transformers": [[ids]...], "decoded": ["..."]}
  plain:        tokenizers, special-token strings read as text (encode_special_tokens = True)
  special:      tokenizers, special-token strings read as special tokens (the default)
  transformers: AutoTokenizer(texts, add_special_tokens=False)
  decoded:      tokenizers' decode of the special ids (skip_special_tokens=False)
"""
import json
import sys

from tokenizers import Tokenizer
from transformers import AutoTokenizer

req = json.load(sys.stdin)
texts = req["texts"]
tok = Tokenizer.from_file(f"{req['dir']}/tokenizer.json")
special = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
tok.encode_special_tokens = True
plain = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
decoded = tok.decode_batch(special, skip_special_tokens=False)
auto = AutoTokenizer.from_pretrained(req["dir"])
hf = auto(texts, add_special_tokens=False)["input_ids"]
json.dump({"plain": plain, "special": special, "transformers": hf, "decoded": decoded}, sys.stdout)

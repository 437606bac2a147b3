"""Peer timing for `hcx bench tokenizer-import`: Hugging Face's Rust tokenizers (the `tokenizers` package) encoding
the same texts one by one on one thread, the way hcx and tokenizers.js are timed.

stdin: {"dir": DIR, "texts": [...], "repeat": N}
stdout: {"load_s": float, "first_s": float, "seconds": [float...], "tokens": int}
"""
import json
import os
import sys
import time

os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["RAYON_NUM_THREADS"] = "1"
from tokenizers import Tokenizer  # noqa: E402

req = json.load(sys.stdin)
t0 = time.perf_counter()
tok = Tokenizer.from_file(os.path.join(req["dir"], "tokenizer.json"))
load = time.perf_counter() - t0


def one_pass():
    n = 0
    t = time.perf_counter()
    for s in req["texts"]:
        n += len(tok.encode(s, add_special_tokens=False).ids)
    return time.perf_counter() - t, n


first, tokens = one_pass()
seconds = [one_pass()[0] for _ in range(req["repeat"])]
json.dump({"load_s": load, "first_s": first, "seconds": seconds, "tokens": tokens}, sys.stdout)

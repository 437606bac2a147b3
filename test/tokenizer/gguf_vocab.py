"""Writes a vocabulary-only llama GGUF from a Hugging Face tokenizer directory, the way llama.cpp's
convert_hf_to_gguf.py does for gpt2-type (byte-level BPE) vocabularies (get_vocab_base + _set_vocab_gpt2):
token strings from transformers' AutoTokenizer, added tokens as CONTROL (special, or looking special) or
USER_DEFINED, merges and special ids / add_bos / chat template through gguf.SpecialVocab. With --spm the same
vocabulary is written as a "llama" (SentencePiece-style) vocabulary instead, scored so that a token made by an
earlier merge scores higher (a SentencePiece BPE model's scores order its merges the same way); that is meant for
SentencePiece-style vocabularies (Gemma's), and exercises llama.cpp's SPM path.

usage: gguf_vocab.py TOKENIZER_DIR OUT.gguf PRE [--spm]
"""
import re
import sys

import gguf
from transformers import AutoTokenizer


def looks_special(t: str) -> bool:
    return t in ("<pad>", "<mask>", "<2mass>", "[@BOS@]") or (t.startswith("<|") and t.endswith("|>")) \
        or (t.startswith("<unused") and t.endswith(">"))


def main() -> None:
    src, out, pre = sys.argv[1], sys.argv[2], sys.argv[3]
    spm = "--spm" in sys.argv[4:]
    tok = AutoTokenizer.from_pretrained(src)
    vocab = tok.get_vocab()
    n = max(vocab.values()) + 1
    rev = {i: t for t, i in vocab.items()}
    added = tok.get_added_vocab()
    dec = tok.added_tokens_decoder
    tokens, types = [], []
    for i in range(n):
        if i not in rev:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
            continue
        t = rev[i]
        if t in added:
            if not dec[i].normalized:
                t = tok.decode(tok.encode(t, add_special_tokens=False))
            if dec[i].special or looks_special(t):
                types.append(gguf.TokenType.CONTROL)
            else:
                t = t.replace("\u2581", " ")
                types.append(gguf.TokenType.USER_DEFINED)
        elif spm and re.fullmatch(r"<0x[0-9A-F]{2}>", t):
            types.append(gguf.TokenType.BYTE)
        else:
            types.append(gguf.TokenType.NORMAL)
        tokens.append(t)

    w = gguf.GGUFWriter(out, "llama")
    w.add_context_length(4096)
    w.add_embedding_length(64)
    w.add_block_count(1)
    w.add_feed_forward_length(128)
    w.add_head_count(1)
    w.add_head_count_kv(1)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(64)
    w.add_vocab_size(n)
    if spm:
        import json
        with open(f"{src}/tokenizer.json", encoding="utf-8") as f:
            model = json.load(f)["model"]
        rank = {}
        for r, m in enumerate(model["merges"]):
            a, b = m.split(" ", 1) if isinstance(m, str) else m
            rank.setdefault(a + b, r)
        scores = [-float(rank.get(rev.get(i, ""), len(rank) + i)) for i in range(n)]
        w.add_tokenizer_model("llama")
        w.add_token_list(tokens)
        w.add_token_scores(scores)
        w.add_token_types(types)
    else:
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre(pre)
        w.add_token_list(tokens)
        w.add_token_types(types)
    special = gguf.SpecialVocab(src, load_merges=not spm, n_vocab=n)
    special.add_to_gguf(w)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()

"""Small BPE tokenizers trained with Hugging Face tokenizers, one per combination of pipeline components, for the
component parity test: each is saved as tokenizer.json and encodes/decodes the given texts.

stdin: {"texts": [...], "train": [...]}
stdout: [{"name", "json", "special": [[ids]], "plain": [[ids]], "decoded": [str]}...]
"""
import json
import sys

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

req = json.load(sys.stdin)
texts, train = req["texts"], req["train"]
SPECIAL = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]


def byte_level():
    t = Tokenizer(models.BPE(unk_token=None))
    t.normalizer = normalizers.NFC()
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    t.decoder = decoders.ByteLevel()
    t.post_processor = processors.ByteLevel(trim_offsets=True)
    return t, trainers.BpeTrainer(vocab_size=600, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())


def sentencepiece_like():
    t = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    t.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    t.pre_tokenizer = None
    t.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    t.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 1), ("</s>", 2)])
    bytes_ = [f"<0x{b:02X}>" for b in range(256)]
    return t, trainers.BpeTrainer(vocab_size=700, special_tokens=SPECIAL + bytes_)


def metaspace():
    t = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=False))
    t.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase(), normalizers.Strip()])
    t.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=True), pre_tokenizers.Digits(individual_digits=True)])
    t.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="first")
    return t, trainers.BpeTrainer(vocab_size=500, special_tokens=SPECIAL)


def bert_like():
    t = Tokenizer(models.BPE(unk_token="<unk>", continuing_subword_prefix="##"))
    t.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True)
    t.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    t.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    t.post_processor = processors.BertProcessing(("</s>", 2), ("<s>", 1))
    return t, trainers.BpeTrainer(vocab_size=500, special_tokens=SPECIAL, continuing_subword_prefix="##")


def splits():
    t = Tokenizer(models.BPE(unk_token="<unk>", end_of_word_suffix="</w>"))
    t.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.StripAccents(), normalizers.Replace(Regex(r"\s+"), " ")])
    t.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(behavior="merged_with_previous"),
        pre_tokenizers.Split(Regex(r"\p{N}+"), behavior="merged_with_next"), pre_tokenizers.Digits(individual_digits=False)])
    t.decoder = decoders.BPEDecoder(suffix="</w>")
    t.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 1))
    return t, trainers.BpeTrainer(vocab_size=500, special_tokens=SPECIAL, end_of_word_suffix="</w>")


def whitespace_contiguous():
    t = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True))
    t.normalizer = normalizers.Sequence([normalizers.NFKD(), normalizers.Lowercase()])
    t.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Whitespace(), pre_tokenizers.Split(Regex(r"[aeiou]"), behavior="contiguous", invert=True),
        pre_tokenizers.Split("x", behavior="removed"), pre_tokenizers.CharDelimiterSplit("q")])
    t.decoder = None
    return t, trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIAL)


out = []
for name, make in [("byte_level", byte_level), ("sentencepiece_like", sentencepiece_like), ("metaspace", metaspace),
                   ("bert_like", bert_like), ("splits", splits), ("whitespace_contiguous", whitespace_contiguous)]:
    tok, trainer = make()
    tok.train_from_iterator(train, trainer)
    # Added tokens with every flag combination.
    tok.add_tokens([AddedToken("hello", single_word=True), AddedToken("wor", lstrip=True, rstrip=True, normalized=True),
                    AddedToken("[NEW]", normalized=False), AddedToken("Zz", normalized=True)])
    tok.add_special_tokens([AddedToken("<sep>", lstrip=True, rstrip=False)])
    special = [e.ids for e in tok.encode_batch(texts, add_special_tokens=True)]
    tok.encode_special_tokens = True
    plain = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
    tok.encode_special_tokens = False
    decoded = tok.decode_batch([e.ids for e in tok.encode_batch(texts, add_special_tokens=False)], skip_special_tokens=False)
    skipped = tok.decode_batch(special, skip_special_tokens=True)
    out.append({"name": name, "json": tok.to_str(), "special": special, "plain": plain, "decoded": decoded, "skipped": skipped})
json.dump(out, sys.stdout)

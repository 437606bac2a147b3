# Token ids of texts by transformers' tokenizer for an exported directory (tokenizer.json + tokenizer_config.json).
# stdin: JSON list of strings; stdout: JSON list of id lists. No BOS/EOS added, as hcx's encode adds none.
import json
import sys

from transformers import AutoTokenizer, PreTrainedTokenizerFast

tok = AutoTokenizer.from_pretrained(sys.argv[1])
if not isinstance(tok, PreTrainedTokenizerFast):
    sys.exit(f"expected a fast (tokenizer.json) tokenizer, got {type(tok).__name__}")
texts = json.load(sys.stdin)
json.dump(tok(texts, add_special_tokens=False)["input_ids"], sys.stdout)

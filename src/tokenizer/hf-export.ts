// Export to Hugging Face tokenizer.json (+ tokenizer_config.json with the chat template).
// What carries over exactly: the byte-level BPE (vocabulary spelt with GPT-2's byte map, merges in rank
// order), the special tokens, and the pre-tokenizer regex of split modes 'guided' (Llama 3's regex, with
// ignore_merges true as hcx and llama.cpp do for it), 'rules' and 'none' (ignore_merges false) — for those,
// tokenizers.js and transformers give the same ids as hcx on any valid text.
// What cannot: the statistical segmenter of split mode 'model' is not a regex, so the export writes the
// rule splitter's regex in its place; ids then differ on Korean words where the model and the rule disagree
// (fidelity.ts; exportHf warns). Lone surrogates also differ: HF encodes text with TextEncoder, which
// replaces them by U+FFFD, while hcx keeps them (WTF-8).
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { exportWarning } from './fidelity.js';
import { patternSource } from './pretokenize.js';
import { CHAT_TEMPLATE_JINJA } from './special.js';
import { bytesToByteLevel } from './utf8.js';
import type { Tokenizer } from './tokenizer.js';

export function toHfTokenizerJson(tok: Tokenizer): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  const tb = tok.bpe.tokenBytes;
  for (let id = 0; id < tb.length; id++) vocab[bytesToByteLevel(tb[id])] = id;
  const m = tok.bpe.merges, merges: string[] = [];
  const seen = new Set<string>();
  for (let r = 0; r < m.length / 3; r++) {
    const s = bytesToByteLevel(tb[m[3 * r]]) + ' ' + bytesToByteLevel(tb[m[3 * r + 1]]);
    if (!seen.has(s)) { seen.add(s); merges.push(s); }
  }
  const added_tokens = [...tok.specialTokens].map(([id, content]) => ({
    id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  }));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens,
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: patternSource(tok.split === 'model' ? 'rules' : tok.split) }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: tok.split === 'guided', vocab, merges,
    },
  };
}

export function toHfTokenizerConfig(tok: Tokenizer): Record<string, unknown> {
  const added: Record<string, unknown> = {};
  for (const [id, content] of tok.specialTokens) added[String(id)] = { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    added_tokens_decoder: added,
    bos_token: null,
    eos_token: '<|endofturn|>',
    pad_token: '<|pad|>',
    unk_token: null,
    clean_up_tokenization_spaces: false,
    model_max_length: 1_000_000_000,
    chat_template: CHAT_TEMPLATE_JINJA,
  };
}

/** Writes tokenizer.json and tokenizer_config.json into dir; `warn` gets the warning of an inexact export. */
export function exportHf(tok: Tokenizer, dir: string, opts: { warn?: (message: string) => void } = {}): void {
  const w = exportWarning(tok.split, 'hf');
  if (w) (opts.warn ?? console.warn)(w);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(toHfTokenizerJson(tok)));
  writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(toHfTokenizerConfig(tok), null, 2));
}

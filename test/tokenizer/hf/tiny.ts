// Small tokenizer.json files for tests that need a Hugging Face tokenizer without downloads (not a test file).
import { BYTE_TO_UNICODE } from '../../../src/tokenizer/utf8.js';

/**
 * A byte-level BPE tokenizer.json: the 256 byte characters, merges of the given pairs (left-to-right characters,
 * in rank order), GPT-2's regex split, and the given special tokens after the vocabulary.
 */
export function byteLevelJson(special: string[], merges: [string, string][] = []): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  BYTE_TO_UNICODE.forEach((c, i) => { vocab[c] = i; });
  for (const [a, b] of merges) if (vocab[a + b] === undefined) vocab[a + b] = Object.keys(vocab).length;
  const n = Object.keys(vocab).length;
  return {
    version: '1.0', truncation: null, padding: null, normalizer: null,
    added_tokens: special.map((content, i) => ({ id: n + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: merges.map(([a, b]) => `${a} ${b}`) },
  };
}

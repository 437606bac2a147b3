// Whether a tokenizer's exports reproduce its ids, per split mode and target, and if not, what differs.
// Measured by test/model/tokenizer_parity.test.ts (guided: 0 mismatches in tokenizers.js, transformers and
// llama.cpp on the whole held-out corpus) and stated here so that exports of the other modes can warn.
import type { SplitMode } from './pretokenize.js';

export type ExportTarget = 'hf' | 'gguf';

const SCRIPT_SPLIT = "hcx splits letters by script (\"GPT를\" -> \"GPT\" + \"를\") and llama.cpp's llama-bpe pre-tokenizer does not";

/**
 * null when the export gives hcx's ids on all valid text (lone surrogates aside: tokenizer.json runtimes and
 * llama.cpp read them as U+FFFD), else a sentence saying what differs.
 */
export function exportDifference(split: SplitMode, target: ExportTarget): string | null {
  switch (split) {
    case 'guided': return null;
    case 'model':
      return target === 'hf'
        ? "split 'model' cuts Hangul words with the statistical segmenter, which tokenizer.json cannot express; the export " +
          'carries the rule splitter\'s regex instead, so Korean words where the two disagree get other ids (English and code are exact)'
        : "split 'model' cuts Hangul words with the statistical segmenter, which llama.cpp cannot run; llama.cpp encodes whole " +
          `Hangul words instead, so most Korean text gets other ids, and ${SCRIPT_SPLIT}`;
    case 'rules':
      return target === 'hf' ? null
        : `split 'rules' cuts particles and endings off Hangul words by a regex that llama.cpp does not know, so Korean gets other ids there, and ${SCRIPT_SPLIT}`;
    case 'none':
      return target === 'hf' ? null : `split 'none': ${SCRIPT_SPLIT}, so such words get other ids there`;
  }
}

/** The warning an export of this tokenizer prints, or null when the export is exact. */
export function exportWarning(split: SplitMode, target: ExportTarget): string | null {
  const d = exportDifference(split, target);
  return d && `warning: the ${target === 'hf' ? 'tokenizer.json' : 'GGUF'} export is not exact: ${d}. ` +
    "Train with --split guided (the default) for a tokenizer whose exports give hcx's ids.";
}

// trainTokenizer: count pre-tokens over a text stream, then learn BPE merges over the unique pre-tokens.
import { learnMerges } from './bpe-train.js';
import { wtf8Encode } from './utf8.js';
import { compilePattern, splitChunk, type SplitMode } from './pretokenize.js';
import { defaultSegmenter } from './default-segmenter.js';
import { Segmenter } from './segmenter.js';
import { SPECIAL_NAMES } from './special.js';
import { Tokenizer } from './tokenizer.js';

export interface TrainProgress { phase: 'count' | 'merge'; bytes?: number; chunks?: number; merges?: number; target?: number }

export interface TrainTokenizerOptions {
  texts: Iterable<string> | AsyncIterable<string>;
  /** Total vocabulary: 256 bytes + learned tokens + the special tokens. */
  vocabSize: number;
  /**
   * How Hangul runs are split before BPE: 'model' (statistical segmenter: `segmenter`, else the shipped model),
   * 'rules' (the particle/ending rule, exactly expressible in tokenizer.json), 'none'. Default: 'model' when a
   * model is available, else 'rules'.
   */
  split?: SplitMode;
  segmenter?: Segmenter;
  /** Stop when the best pair occurs fewer times than this (default 2). */
  minFrequency?: number;
  /** Memory bound on distinct pre-tokens kept while counting; when reached, those seen once are dropped (default 4M). */
  maxUniqueChunks?: number;
  onProgress?: (p: TrainProgress) => void;
}

export async function trainTokenizer(opts: TrainTokenizerOptions): Promise<Tokenizer> {
  const segmenter = opts.segmenter ?? (opts.split === undefined || opts.split === 'model' ? defaultSegmenter() : null);
  const split: SplitMode = opts.split ?? (segmenter ? 'model' : 'rules');
  if (split === 'model' && !segmenter) throw new Error("trainTokenizer: split 'model' needs a segmenter and the shipped one is missing");
  const numSpecial = SPECIAL_NAMES.length;
  if (opts.vocabSize < 256 + numSpecial) throw new Error(`trainTokenizer: vocabSize must be at least ${256 + numSpecial}`);
  const limit = opts.maxUniqueChunks ?? 4_000_000;

  // 1. Chunk counts (regex matches; Hangul runs are segmented later, once per distinct chunk).
  const re = compilePattern(split);
  let chunks = new Map<string, number>();
  let bytes = 0, n = 0, nextReport = 1 << 24;
  for await (const text of opts.texts as AsyncIterable<string>) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const c = m[0];
      chunks.set(c, (chunks.get(c) ?? 0) + 1);
    }
    bytes += text.length;
    if (chunks.size > limit) {
      const kept = new Map<string, number>();
      for (const [k, v] of chunks) if (v > 1) kept.set(k, v);
      chunks = kept;
    }
    // Every 1024 texts or 16M characters (inputs read from files come as ~1 MB pieces).
    if (opts.onProgress && ((++n & 1023) === 0 || bytes >= nextReport)) { opts.onProgress({ phase: 'count', bytes, chunks: chunks.size }); nextReport = bytes + (1 << 24); }
  }

  // 2. Pieces (morpheme-split chunks) as byte strings, one char per byte, with counts.
  const pieces = new Map<string, number>();
  const parts: string[] = [], b: number[] = [];
  for (const [c, v] of chunks) {
    parts.length = 0;
    splitChunk(c, split === 'model' ? segmenter : null, parts);
    for (const p of parts) {
      b.length = 0;
      wtf8Encode(p, b);
      let key = '';
      for (let i = 0; i < b.length; i += 4096) key += String.fromCharCode.apply(null, b.slice(i, i + 4096));
      pieces.set(key, (pieces.get(key) ?? 0) + v);
    }
  }
  chunks.clear();

  // 3. Merges.
  const { merges } = learnMerges(pieces, opts.vocabSize - numSpecial, opts.minFrequency ?? 2,
    opts.onProgress && ((p) => opts.onProgress!({ phase: 'merge', merges: p.merges, target: p.target })));
  return new Tokenizer({ merges, split, segmenter: split === 'model' ? segmenter : null });
}

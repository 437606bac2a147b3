// trainTokenizer: count pre-tokens over a text stream, then learn BPE merges over the unique pre-tokens.
import { learnMerges } from './bpe-train.js';
import { latin1 } from './bpe.js';
import { wtf8Encode } from './utf8.js';
import { compilePattern, RuleSplitter, splitChunk, splitGuided, SPLIT_MODES, type MorphemeSplitter, type SplitMode } from './pretokenize.js';
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
   * The split mode (pretokenize.ts). Default 'guided': Llama 3's pre-tokenizer when encoding, so tokenizer.json
   * and GGUF exports give the same ids; merges learned within morphemes, cut by `segmenter`, else the shipped
   * model, else (no model file) the rule splitter. 'model': the segmenter also cuts words when encoding (fewer
   * Korean tokens, but exports differ on some Korean words); 'rules'; 'none'.
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
  const split: SplitMode = opts.split ?? 'guided';
  if (!SPLIT_MODES.includes(split)) throw new Error(`trainTokenizer: unknown split mode "${split}" (${SPLIT_MODES.join(', ')})`);
  const segmenter = opts.segmenter ?? (split === 'guided' || split === 'model' ? defaultSegmenter() : null);
  if (split === 'model' && !segmenter) throw new Error("trainTokenizer: split 'model' needs a segmenter and the shipped one is missing");
  // What cuts a Hangul run into training pieces; for 'guided' it shapes the merges only, never the encoding.
  const guide: MorphemeSplitter | null = split === 'model' ? segmenter : split === 'guided' ? segmenter ?? new RuleSplitter() : null;
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
    if (split === 'guided') splitGuided(c, guide, parts); else splitChunk(c, guide, parts);
    for (const p of parts) {
      b.length = 0;
      wtf8Encode(p, b);
      const key = latin1(b);
      pieces.set(key, (pieces.get(key) ?? 0) + v);
    }
  }
  chunks.clear();

  // 3. Merges.
  const { merges } = learnMerges(pieces, opts.vocabSize - numSpecial, opts.minFrequency ?? 2,
    opts.onProgress && ((p) => opts.onProgress!({ phase: 'merge', merges: p.merges, target: p.target })));
  return new Tokenizer({
    merges, split, segmenter: split === 'model' ? segmenter : null,
    guide: split !== 'guided' ? undefined : guide === segmenter ? 'segmenter' : 'rules',
  });
}

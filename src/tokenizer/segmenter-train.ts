// Training the segmenter: averaged perceptron over the gaps of gold Hangul runs (see morph-data.ts for the
// boundary convention), then pruning of weak features so that the model stays small. The backward direction is
// the same training on the reversed words.
import { isSyllable } from './hangul.js';
import { affixHashes, CUR_SEED, mix as mixCur, gapFeatures, lexHash, type GapContext } from './segmenter-features.js';
import { Segmenter, type SegmenterWeights } from './segmenter.js';
import { scoreBoundaries, type BoundaryScore, type GoldWord } from './morph-data.js';

export interface SegmenterTrainOptions {
  epochs?: number; // passes over the data (default 8)
  /** Drop features whose averaged |weight| is below this fraction of the largest (default 0.02). */
  prune?: number;
  seed?: number;
  /** Use lexicon features (known morphemes of the training data, jackknifed over `folds` folds; default true). */
  lexicon?: boolean;
  folds?: number;
  /** 2 (default): forward and backward models, scores summed; 1: forward only (half the size and time). */
  directions?: 1 | 2;
}

/** Hashes of the morphemes (pieces between gold boundaries, up to 4 characters) of some words. */
function lexiconOf(words: readonly GoldWord[], from = 0, step = 1): Set<number> {
  const out = new Set<number>();
  for (let k = from; k < words.length; k += step) {
    const w = words[k], codes = Int32Array.from(w.text, (ch) => ch.charCodeAt(0));
    const cuts = [0, ...w.bounds, w.text.length];
    for (let j = 1; j < cuts.length; j++) if (cuts[j] - cuts[j - 1] <= 4) out.add(lexHash(codes, cuts[j - 1], cuts[j]));
  }
  return out;
}

/** The word read right to left, with its boundaries counted from the new start. */
export function reverseWord(w: GoldWord): GoldWord {
  let text = '';
  for (let i = w.text.length - 1; i >= 0; i--) text += w.text[i];
  return { text, bounds: w.bounds.map((b) => w.text.length - b).reverse() };
}

export function trainSegmenter(words: readonly GoldWord[], opts: SegmenterTrainOptions = {}): Segmenter {
  const forward = trainDirection(words, opts);
  return new Segmenter(forward, (opts.directions ?? 2) === 2 ? trainDirection(words.map(reverseWord), opts) : null);
}

function trainDirection(words: readonly GoldWord[], opts: SegmenterTrainOptions): SegmenterWeights {
  const epochs = opts.epochs ?? 8, prune = opts.prune ?? 0.02;
  // Feature hash -> index into weight arrays.
  const index = new Map<number, number>();
  let w = new Float64Array(1 << 16), u = new Float64Array(1 << 16); // weights and (time-weighted) update sums
  const idOf = (h: number): number => {
    let id = index.get(h);
    if (id === undefined) {
      id = index.size; index.set(h, id);
      if (id >= w.length) { const w2 = new Float64Array(w.length * 2), u2 = new Float64Array(w.length * 2); w2.set(w); u2.set(u); w = w2; u = u2; }
    }
    return id;
  };
  // Precompute every gap's feature ids once (the data is small; this makes the epochs cheap).
  const feats: Int32Array[] = [], labels: number[] = [];
  const buf: number[] = [];
  const emit = (h: number) => { buf.push(idOf(h)); };
  // Jackknife: a word's lexicon features come from a lexicon built without its fold, as at test time.
  const useLex = opts.lexicon ?? true, folds = opts.folds ?? 5;
  const foldLex: Set<number>[] = [];
  if (useLex) {
    for (let f = 0; f < folds; f++) {
      const s = new Set<number>();
      for (let g = 0; g < folds; g++) if (g !== f) for (const h of lexiconOf(words, g, folds)) s.add(h);
      foldLex.push(s);
    }
  }
  words.forEach((gw, wi) => {
    const n = gw.text.length;
    if (n < 2) return;
    const codes = new Int32Array(n), suf = new Int32Array(n + 1), pre = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) codes[i] = gw.text.charCodeAt(i);
    affixHashes(codes, n, suf, pre);
    const gold = new Set(gw.bounds);
    // Teacher forcing: the "morpheme so far" features see the gold boundaries.
    const ctx: GapContext = { last: 0, cur: CUR_SEED, lexicon: useLex ? foldLex[wi % folds] : null };
    for (let i = 1; i < n; i++) {
      ctx.cur = mixCur(ctx.cur, codes[i - 1]);
      if (!isSyllable(codes[i - 1]) || !isSyllable(codes[i])) continue;
      buf.length = 0;
      gapFeatures(codes, n, i, suf, pre, ctx, emit);
      feats.push(Int32Array.from(buf)); labels.push(gold.has(i) ? 1 : -1);
      if (gold.has(i)) { ctx.last = i; ctx.cur = CUR_SEED; }
    }
  });
  // Deterministic shuffle (xorshift) per epoch.
  let s = (opts.seed ?? 1) >>> 0 || 1;
  const rand = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
  const order = Array.from(feats.keys());
  let t = 1;
  for (let e = 0; e < epochs; e++) {
    for (let i = order.length - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [order[i], order[j]] = [order[j], order[i]]; }
    for (const k of order) {
      const f = feats[k], y = labels[k];
      let score = 0;
      for (let j = 0; j < f.length; j++) score += w[f[j]];
      if (score * y <= 0) for (let j = 0; j < f.length; j++) { w[f[j]] += y; u[f[j]] += y * t; }
      t++;
    }
  }
  const hashes: number[] = [], weights: number[] = [];
  let max = 0;
  const avg = new Float64Array(index.size);
  for (let id = 0; id < index.size; id++) { avg[id] = w[id] - u[id] / t; max = Math.max(max, Math.abs(avg[id])); }
  for (const [h, id] of index) if (Math.abs(avg[id]) >= prune * max && avg[id] !== 0) { hashes.push(h); weights.push(avg[id]); }
  return { features: Int32Array.from(hashes), weights: Float32Array.from(weights), lexicon: Int32Array.from(useLex ? lexiconOf(words) : []) };
}

/** The K contiguous folds of `target` (documents stay together): each held out, the rest plus `extra` to train on. */
export function* cvFolds<T>(target: readonly T[], extra: readonly T[], folds: number): Generator<{ train: T[]; held: T[] }> {
  for (let f = 0; f < folds; f++) {
    const a = Math.floor((target.length * f) / folds), b = Math.floor((target.length * (f + 1)) / folds);
    yield { train: [...target.slice(0, a), ...target.slice(b), ...extra], held: target.slice(a, b) };
  }
}

/**
 * K-fold cross-validation for model selection without the scoring sets: `target` is cut into contiguous folds
 * (documents stay together); each fold is scored by a model trained on the other folds plus all of `extra`.
 * Precision, recall and F1 are pooled over the folds.
 */
export function crossValidateSegmenter(target: readonly GoldWord[], extra: readonly GoldWord[], folds: number, opts: SegmenterTrainOptions = {}): BoundaryScore {
  let g = 0, p = 0, c = 0;
  for (const { train, held } of cvFolds(target, extra, folds)) {
    const seg = trainSegmenter(train, opts);
    const s = scoreBoundaries(held, (w) => seg.boundaries(w));
    g += s.gold; p += s.predicted; c += s.correct;
  }
  const precision = p ? c / p : 1, recall = g ? c / g : 1;
  return { words: target.length, gold: g, predicted: p, correct: c, precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0 };
}

// Where the segmenter's errors come from, measured by cross-validation on a training treebank only (the scoring
// sets are never read). Three questions: how the score splits between words the training folds contain and
// words they do not; how well simply repeating a seen word's most frequent training segmentation does (an
// estimate of how consistently the treebank annotates the same word: no model of the characters can beat it on
// those words by much); and which kinds of morpheme boundary (by the treebank's XPOS tags) are missed or invented.
import { readFileSync } from 'node:fs';
import { isHangul } from './hangul.js';
import { projectBoundariesIndexed, scoreBoundaries, type BoundaryScore, type GoldWord } from './morph-data.js';
import { cvFolds, trainSegmenter, type SegmenterTrainOptions } from './segmenter-train.js';

/** A fully-Hangul word with its morpheme tags; `starts[j]` is the index of the morpheme beginning at bounds[j]. */
export interface TaggedWord extends GoldWord { tags: string[]; starts: number[] }

/** Fully-Hangul words of a CoNLL-U file whose LEMMA (or OrigLemma) and XPOS have the same number of parts. */
export function readConlluTagged(path: string): TaggedWord[] {
  const out: TaggedWord[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const cols = line.split('\t');
    if (cols.length < 10 || !/^\d+$/.test(cols[0])) continue;
    const form = cols[1];
    if (form.length === 0 || ![...form].every((ch) => isHangul(ch.charCodeAt(0)))) continue;
    const orig = /(?:^|\|)OrigLemma=([^|]*)/.exec(cols[9]);
    const morphs = (orig ? orig[1] : cols[2]).split('+').filter((x) => x !== '');
    const tags = cols[4].split('+');
    if (morphs.length !== tags.length) continue;
    const idx = morphs.length > 1 ? projectBoundariesIndexed(form, morphs) : [];
    out.push({ text: form, bounds: idx.map(([b]) => b), starts: idx.map(([, k]) => k), tags });
  }
  return out;
}

export interface ErrorClass { kind: string; errors: number; total: number }
export interface SegmenterAnalysis {
  folds: number;
  all: BoundaryScore; seen: BoundaryScore; unseen: BoundaryScore;
  /** Seen words answered with their most frequent training segmentation. */
  seenMajority: BoundaryScore;
  /** Gold boundaries missed, by the tag classes on either side ("nc|nc": between two common nouns). */
  missed: ErrorClass[];
  /** Boundaries predicted inside one gold morpheme, by that morpheme's tag class; `total`: its gold count. */
  spurious: ErrorClass[];
}

const tagClass = (t: string | undefined): string => (t ?? '?').slice(0, 2);

/** K contiguous folds of `target`, each scored by a model trained on the other folds plus `extra`. */
export function analyzeSegmenter(target: readonly TaggedWord[], extra: readonly GoldWord[], folds: number, opts: SegmenterTrainOptions = {}): SegmenterAnalysis {
  const seenW: GoldWord[] = [], unseenW: GoldWord[] = [], predicted = new Map<GoldWord, number[]>(), majority = new Map<GoldWord, number[]>();
  const missed = new Map<string, [number, number]>(), spurious = new Map<string, [number, number]>();
  const bump = (m: Map<string, [number, number]>, k: string, err: number, tot: number) => {
    const v = m.get(k) ?? [0, 0]; v[0] += err; v[1] += tot; m.set(k, v);
  };
  for (const { train, held } of cvFolds<GoldWord>(target, extra, folds)) {
    const seg = trainSegmenter(train, opts);
    // Most frequent segmentation of every training word.
    const counts = new Map<string, Map<string, number>>();
    for (const w of train) {
      const c = counts.get(w.text) ?? new Map<string, number>();
      const key = w.bounds.join(',');
      c.set(key, (c.get(key) ?? 0) + 1); counts.set(w.text, c);
    }
    for (const w of held as TaggedWord[]) {
      const pred = seg.boundaries(w.text);
      predicted.set(w, pred);
      const c = counts.get(w.text);
      if (c) {
        seenW.push(w);
        const best = [...c].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))[0][0];
        majority.set(w, best === '' ? [] : best.split(',').map(Number));
      } else unseenW.push(w);
      const p = new Set(pred);
      w.bounds.forEach((bd, j) => bump(missed, `${tagClass(w.tags[w.starts[j] - 1])}|${tagClass(w.tags[w.starts[j]])}`, p.has(bd) ? 0 : 1, 1));
      const g = new Set(w.bounds);
      for (const x of pred) {
        if (g.has(x)) continue;
        let k = 0;
        w.bounds.forEach((bd, j) => { if (bd < x) k = w.starts[j]; });
        bump(spurious, tagClass(w.tags[k]), 1, 0);
      }
    }
  }
  // Gold morpheme counts per tag class, for the spurious rows' denominators.
  for (const w of target) for (const t of w.tags) { const v = spurious.get(tagClass(t)); if (v) v[1]++; }
  const byPred = (ws: readonly GoldWord[]) => scoreOf(ws, predicted);
  const rows = (m: Map<string, [number, number]>) => [...m].map(([kind, [errors, total]]) => ({ kind, errors, total })).filter((r) => r.errors > 0).sort((x, y) => y.errors - x.errors);
  return {
    folds, all: byPred(target), seen: byPred(seenW), unseen: byPred(unseenW), seenMajority: scoreOf(seenW, majority),
    missed: rows(missed), spurious: rows(spurious),
  };
}

const scoreOf = (words: readonly GoldWord[], pred: Map<GoldWord, number[]>): BoundaryScore =>
  scoreBoundaries(words, (_text, i) => pred.get(words[i]) ?? []);

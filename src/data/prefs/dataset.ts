// A preference dataset as tokens: each pair's prompt + chosen and prompt + rejected rendered by the chat
// template, with the position where the completion starts (DPO sums log-probs from there; the reward
// model scores the last token, the completion's turn end). Pairs longer than seqLen are dropped (cutting
// would lose the turn end the score is read at), split seeded into train and held out, and batched as
// right-padded rows, chosen and rejected rows of a pair side by side.
import { subSeed } from '../hashing.js';
import { shuffled } from '../chat/dataset.js';
import type { ChatTemplate } from '../chat/template.js';
import { FatalInputError, type BadInput } from '../types.js';
import { IGNORE } from '../../train/losses.js';
import { readPreferencePairs, type PrefFormat } from './readers.js';

export interface TokenizedSide {
  ids: Int32Array;
  /** Index of the completion's first token (everything before it is the prompt). */
  start: number;
}

export interface TokenizedPair {
  chosen: TokenizedSide; rejected: TokenizedSide; margin?: number; file: string; line: number;
  /** The prompt with the template's generation header: what a policy answers (the RM's reward statistics). */
  prompt: Int32Array;
}

export interface PrefDataStats { pairs: number; badRecords: number; droppedLong: number; identical: number; tokens: number }
export interface PrefData { train: TokenizedPair[]; heldout: TokenizedPair[]; stats: PrefDataStats; bad: BadInput[] }

export interface PrefDataOptions {
  files: string[];
  format: PrefFormat;
  template: ChatTemplate;
  seqLen: number;
  /** Held-out pairs: a share when < 1, else a count. */
  heldout: number;
  seed: number;
  onBadLine: 'skip' | 'fatal';
  /** At most this many pairs (the first ones read), 0: all. */
  limit?: number;
  log?: (s: string) => void;
}

/** prompt + reply rendered by the template, with the reply's first index. */
export function renderSide(template: ChatTemplate, prompt: Parameters<ChatTemplate['render']>[0], reply: Parameters<ChatTemplate['render']>[0]): TokenizedSide {
  const start = template.render(prompt).ids.length;
  const full = template.render([...prompt, ...reply]).ids;
  return { ids: Int32Array.from(full), start };
}

export async function loadPreferenceData(o: PrefDataOptions): Promise<PrefData> {
  const bad: BadInput[] = [];
  const onBad = (b: BadInput) => {
    if (o.onBadLine === 'fatal') throw new FatalInputError(b);
    bad.push(b);
    if (bad.length <= 20) o.log?.(`skipping ${b.file}:${b.line}: ${b.reason}`);
  };
  const stats: PrefDataStats = { pairs: 0, badRecords: 0, droppedLong: 0, identical: 0, tokens: 0 };
  const all: TokenizedPair[] = [];
  outer: for (const file of o.files) {
    for await (const p of readPreferencePairs(file, o.format, onBad)) {
      if (o.limit && stats.pairs >= o.limit) break outer;
      stats.pairs++;
      const chosen = renderSide(o.template, p.prompt, p.chosen), rejected = renderSide(o.template, p.prompt, p.rejected);
      if (chosen.ids.length > o.seqLen || rejected.ids.length > o.seqLen) { stats.droppedLong++; continue; }
      if (chosen.ids.length === rejected.ids.length && chosen.ids.every((t, i) => t === rejected.ids[i])) { stats.identical++; onBad({ file, line: p.line, reason: 'chosen and rejected render to the same tokens' }); continue; }
      stats.tokens += chosen.ids.length + rejected.ids.length;
      all.push({ chosen, rejected, ...(p.margin !== undefined ? { margin: p.margin } : {}), file, line: p.line, prompt: Int32Array.from(o.template.prompt(p.prompt)) });
    }
  }
  stats.badRecords = bad.length;
  if (bad.length > 20) o.log?.(`... ${bad.length - 20} more bad records skipped`);
  if (!all.length) throw new Error(`no usable preference pairs in ${o.files.join(', ')}${stats.droppedLong ? ` (${stats.droppedLong} longer than seqLen ${o.seqLen})` : ''}`);
  const nHeld = o.heldout < 1 ? Math.round(o.heldout * all.length) : Math.min(o.heldout, all.length - 1);
  if (nHeld >= all.length) throw new Error(`heldout ${o.heldout} leaves no pair to train on (${all.length} in all)`);
  const perm = shuffled(all.length, subSeed(o.seed, 'prefs-heldout'));
  const isHeld = new Uint8Array(all.length);
  for (let i = 0; i < nHeld; i++) isHeld[perm[i]] = 1;
  return { train: all.filter((_, i) => !isHeld[i]), heldout: all.filter((_, i) => isHeld[i]), stats, bad };
}

export interface PairBatch {
  /** 2N right-padded rows: row 2i is pair i's chosen side, row 2i + 1 its rejected side. */
  ids: Int32Array;
  /** Next-token targets on completion tokens (IGNORE elsewhere): DPO's summed log-probs. */
  targets: Int32Array;
  /** Last token of every row (flat index): where the reward model reads its score. */
  ends: Int32Array;
  B: number;
  T: number;
  /** Non-padding tokens. */
  tokens: number;
}

/** Pairs as one padded batch of 2N rows, chosen then rejected for each pair. */
export function pairBatch(pairs: readonly TokenizedPair[], padId: number): PairBatch {
  const sides = pairs.flatMap((p) => [p.chosen, p.rejected]);
  const B = sides.length, T = Math.max(2, ...sides.map((s) => s.ids.length));
  const ids = new Int32Array(B * T).fill(padId), targets = new Int32Array(B * T).fill(IGNORE), ends = new Int32Array(B);
  let tokens = 0;
  sides.forEach((s, r) => {
    const o = r * T, n = s.ids.length;
    ids.set(s.ids, o);
    // Position j predicts token j + 1: completion tokens are those at index >= start.
    for (let j = Math.max(0, s.start - 1); j + 1 < n; j++) targets[o + j] = s.ids[j + 1];
    ends[r] = o + n - 1;
    tokens += n;
  });
  return { ids, targets, ends, B, T, tokens };
}

/**
 * The same sides packed end to end into one row, padding-free: positions restart at every side and each
 * side is its own segment (the attention kernel skips key tiles of other segments), so the model computes
 * what it would on the padded rows without the padding. DPO's forwards use it (TRL 1.13 has padding_free
 * switched off, so its DPOTrainer pads every batch to its longest side).
 */
export interface PackedPairBatch { ids: Int32Array; positions: Int32Array; segmentIds: Int32Array; targets: Int32Array; sides: number; T: number; tokens: number }

export function packedPairBatch(pairs: readonly TokenizedPair[]): PackedPairBatch {
  const sides = pairs.flatMap((p) => [p.chosen, p.rejected]);
  const T = Math.max(2, sides.reduce((a, s) => a + s.ids.length, 0));
  const ids = new Int32Array(T), positions = new Int32Array(T), segmentIds = new Int32Array(T), targets = new Int32Array(T).fill(IGNORE);
  let o = 0;
  sides.forEach((s, r) => {
    const n = s.ids.length;
    ids.set(s.ids, o);
    for (let j = 0; j < n; j++) { positions[o + j] = j; segmentIds[o + j] = r; }
    for (let j = Math.max(0, s.start - 1); j + 1 < n; j++) targets[o + j] = s.ids[j + 1];
    o += n;
  });
  for (let t = o; t < T; t++) segmentIds[t] = sides.length; // only when every side is a single token
  return { ids, positions, segmentIds, targets, sides: sides.length, T, tokens: o };
}

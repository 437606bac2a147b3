// An SFT dataset: conversations read from files, rendered by a chat template into ids and loss masks,
// cut to the row length, split into train and held-out, then laid out as rows (packed by best-fit
// decreasing, or one conversation per row) and streamed epoch after epoch in a seeded order.
import { fmix32, Rng, subSeed } from '../hashing.js';
import { FatalInputError, type BadInput } from '../types.js';
import { bestFitDecreasing, packedBatch, paddedBatch, type Example, type TrainBatch } from './packing.js';
import { readConversations, type ChatFormat, type Conversation } from './readers.js';
import type { ChatTemplate } from './template.js';

export interface ChatSource { path: string; format?: ChatFormat; columns?: [string | number, string | number]; system?: string }

export interface ChatDataOptions {
  sources: ChatSource[];
  template: ChatTemplate;
  /** Tokens per row; longer conversations are cut (truncation "cut") or dropped ("drop"). */
  seqLen: number;
  truncation: 'cut' | 'drop';
  /** Held-out conversations: a share when < 1, else a count. */
  heldout: number;
  seed: number;
  onBadLine: 'skip' | 'fatal';
  log?: (s: string) => void;
}

export interface ChatDataStats {
  conversations: number;
  /** Records reported bad and skipped. */
  badRecords: number;
  /** Tokens before cutting, and cut off (or dropped with their conversation). */
  tokens: number;
  truncatedTokens: number;
  truncatedConversations: number;
  droppedConversations: number;
  /** Conversations with no trained token (no assistant turn, or cut before it). */
  unsupervised: number;
}

export interface ChatData { train: Example[]; heldout: Example[]; stats: ChatDataStats; bad: BadInput[] }

/** Reads every source, renders and cuts each conversation, and splits off the held-out share. */
export async function loadChatData(o: ChatDataOptions): Promise<ChatData> {
  const bad: BadInput[] = [];
  const onBad = (b: BadInput) => {
    if (o.onBadLine === 'fatal') throw new FatalInputError(b);
    bad.push(b);
    if (bad.length <= 20) o.log?.(`skipping ${b.file}:${b.line}: ${b.reason}`);
  };
  const stats: ChatDataStats = { conversations: 0, badRecords: 0, tokens: 0, truncatedTokens: 0, truncatedConversations: 0, droppedConversations: 0, unsupervised: 0 };
  const examples: Example[] = [];
  for (const src of o.sources) {
    for await (const conv of readConversations(src.path, src, onBad)) {
      stats.conversations++;
      const e = renderExample(conv, o.template, onBad);
      if (!e) continue;
      stats.tokens += e.ids.length;
      let ex: Example = e;
      if (e.ids.length > o.seqLen) {
        stats.truncatedTokens += e.ids.length - o.seqLen;
        if (o.truncation === 'drop') { stats.droppedConversations++; continue; }
        stats.truncatedConversations++;
        ex = { ids: e.ids.slice(0, o.seqLen), mask: e.mask.slice(0, o.seqLen) };
      }
      if (!ex.mask.some((m, i) => m === 1 && i > 0)) stats.unsupervised++;
      examples.push(ex);
    }
  }
  stats.badRecords = bad.length;
  if (bad.length > 20) o.log?.(`... ${bad.length - 20} more bad records skipped`);
  if (!examples.length) throw new Error(`no conversations in ${o.sources.map((s) => s.path).join(', ')}`);
  const nHeld = o.heldout < 1 ? Math.round(o.heldout * examples.length) : Math.min(o.heldout, examples.length - 1);
  if (nHeld >= examples.length) throw new Error(`heldout ${o.heldout} leaves no conversation to train on (${examples.length} in all)`);
  // A seeded choice of held-out conversations, kept in file order on both sides.
  const perm = shuffled(examples.length, subSeed(o.seed, 'sft-heldout'));
  const isHeld = new Uint8Array(examples.length);
  for (let i = 0; i < nHeld; i++) isHeld[perm[i]] = 1;
  return { train: examples.filter((_, i) => !isHeld[i]), heldout: examples.filter((_, i) => isHeld[i]), stats, bad };
}

function renderExample(conv: Conversation, template: ChatTemplate, onBad: (b: BadInput) => void): Example | null {
  try {
    const r = template.render(conv.messages);
    return { ids: Int32Array.from(r.ids), mask: Uint8Array.from(r.mask) };
  } catch (e) {
    if (e instanceof FatalInputError) throw e;
    onBad({ file: conv.file, line: conv.line, reason: (e as Error).message });
    return null;
  }
}

export function shuffled(n: number, seed: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const rng = new Rng(seed);
  for (let i = n - 1; i > 0; i--) { const j = rng.int(i + 1); const t = p[i]; p[i] = p[j]; p[j] = t; }
  return p;
}

export type Packing = 'bfd' | 'none';

/**
 * The rows of a dataset ('bfd': packed lists of examples filling seqLen; 'none': one example each) and
 * an endless stream of them, epoch after epoch, each epoch in its own seeded order (shuffle false keeps
 * the rows' order, as evaluation does). Rows [k, k + n) of the stream form one micro-batch.
 */
export class RowStream {
  readonly rows: number[][];
  private perm: Uint32Array | null = null;
  private permEpoch = -1;
  constructor(readonly examples: readonly Example[], readonly packing: Packing, readonly seqLen: number, private readonly seed: number, private readonly shuffle = true) {
    this.rows = packing === 'bfd' ? bestFitDecreasing(examples.map((e) => e.ids.length), seqLen) : examples.map((_, i) => [i]);
  }

  get rowsPerEpoch(): number { return this.rows.length; }

  /** Row number k of the stream and the epoch (0-based) it belongs to. */
  rowAt(k: number): { epoch: number; row: number[] } {
    const n = this.rows.length, epoch = Math.floor(k / n);
    if (!this.shuffle) return { epoch, row: this.rows[k % n] };
    if (epoch !== this.permEpoch) {
      this.perm = shuffled(n, fmix32((this.seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0));
      this.permEpoch = epoch;
    }
    return { epoch, row: this.rows[this.perm![k % n]] };
  }

  /** The micro-batch of rows [k, k + B) of the stream. */
  batch(k: number, B: number, padId: number): TrainBatch & { epoch: number } {
    const rows = Array.from({ length: B }, (_, i) => this.rowAt(k + i));
    const b = this.packing === 'bfd'
      ? packedBatch(this.examples, rows.map((r) => r.row), this.seqLen, padId)
      : paddedBatch(this.examples, rows.map((r) => r.row[0]), padId);
    return { ...b, epoch: rows[0].epoch };
  }
}

export interface EpochLayout { epoch: number; rows: number; positions: number; padding: number; padding_share: number }

/**
 * Padding per epoch of micro-batches of B rows (a micro-batch counts in the epoch of its first row):
 * the positions a step computes that hold no token.
 */
export function epochLayouts(s: RowStream, B: number, microBatches: number): EpochLayout[] {
  const out = new Map<number, EpochLayout>();
  for (let m = 0; m < microBatches; m++) {
    const rows = Array.from({ length: B }, (_, i) => s.rowAt(m * B + i));
    const lens = rows.map((r) => r.row.reduce((a, i) => a + s.examples[i].ids.length, 0));
    const T = s.packing === 'bfd' ? s.seqLen : Math.max(...lens);
    const e = out.get(rows[0].epoch) ?? { epoch: rows[0].epoch, rows: 0, positions: 0, padding: 0, padding_share: 0 };
    e.rows += B;
    e.positions += B * T;
    e.padding += B * T - lens.reduce((a, b) => a + b, 0);
    out.set(e.epoch, e);
  }
  for (const e of out.values()) e.padding_share = e.positions ? e.padding / e.positions : 0;
  return [...out.values()];
}

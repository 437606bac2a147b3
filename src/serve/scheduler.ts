// Iteration-level scheduling (Orca, vLLM): before every step the scheduler picks which sequences run and
// how many of their tokens, under a per-step token budget and a cap on running sequences.
// - Running sequences go first, decoding ones (one token each) before those still prefilling, so a long
//   prompt never stalls decoding: it is cut into chunks of whatever budget is left (chunked prefill).
// - When the KV cache runs out of blocks, the most recently arrived running sequence is preempted: its
//   blocks are freed and it returns to the queue to be recomputed later (prompt plus output so far).
// - Waiting sequences are admitted first come, first served, reusing cached prefix blocks.
import { BlockManager, blockHash } from './block_manager.js';
import type { Sequence } from './sequence.js';

export interface SchedulerOptions {
  /** Tokens (prefill and decode together) processed in one step. */
  maxTokensPerStep: number;
  /** Sequences holding KV blocks at once. */
  maxRunning: number;
}

export interface ScheduledSeq {
  seq: Sequence;
  /** First token position processed (seq.numComputed when scheduled). */
  start: number;
  n: number;
}

export interface SchedulerOutput {
  entries: ScheduledSeq[];
  preempted: Sequence[];
}

const byArrival = (a: Sequence, b: Sequence): number => a.id - b.id;

function insertSorted(list: Sequence[], s: Sequence): void {
  let i = list.length;
  while (i > 0 && list[i - 1].id > s.id) i--;
  list.splice(i, 0, s);
}

export class Scheduler {
  readonly waiting: Sequence[] = [];
  readonly running: Sequence[] = [];
  preemptions = 0;

  constructor(readonly blocks: BlockManager, readonly opts: SchedulerOptions) {
    if (!(opts.maxTokensPerStep >= 1)) throw new Error(`scheduler: maxTokensPerStep must be >= 1, got ${opts.maxTokensPerStep}`);
    if (!(opts.maxRunning >= 1)) throw new Error(`scheduler: maxRunning must be >= 1, got ${opts.maxRunning}`);
  }

  get hasWork(): boolean {
    return this.waiting.length > 0 || this.running.length > 0;
  }

  add(seq: Sequence): void {
    seq.status = 'waiting';
    insertSorted(this.waiting, seq);
  }

  /** Takes a sequence out (finished or cancelled) and frees its blocks. */
  remove(seq: Sequence): void {
    for (const list of [this.waiting, this.running]) {
      const i = list.indexOf(seq);
      if (i >= 0) list.splice(i, 1);
    }
    this.freeBlocks(seq);
  }

  private freeBlocks(seq: Sequence): void {
    this.blocks.releaseAll(seq.blockTable);
    seq.blockTable.length = 0;
    seq.blockHashes.length = 0;
  }

  private preempt(seq: Sequence): void {
    const i = this.running.indexOf(seq);
    if (i >= 0) this.running.splice(i, 1);
    this.freeBlocks(seq);
    seq.numComputed = 0;
    seq.preemptions++;
    this.preemptions++;
    this.add(seq);
  }

  schedule(): SchedulerOutput {
    const bs = this.blocks.blockSize;
    let budget = this.opts.maxTokensPerStep;
    const entries = new Map<Sequence, ScheduledSeq>();
    const preempted: Sequence[] = [];
    const order = [...this.running.filter((s) => s.remaining <= 1), ...this.running.filter((s) => s.remaining > 1)];
    for (const seq of order) {
      if (budget === 0) break;
      if (seq.status !== 'running') continue;
      const n = Math.min(seq.remaining, budget);
      const need = seq.blocksFor(n, bs);
      while (need > this.blocks.available) {
        const victim = this.running[this.running.length - 1];
        const e = entries.get(victim);
        if (e) { budget += e.n; entries.delete(victim); }
        this.preempt(victim);
        preempted.push(victim);
        if (victim === seq) break;
      }
      if (seq.status !== 'running') continue;
      for (let i = 0; i < need; i++) seq.blockTable.push(this.blocks.allocate());
      entries.set(seq, { seq, start: seq.numComputed, n });
      budget -= n;
    }
    if (preempted.length === 0) this.admit(entries, budget);
    return { entries: [...entries.values()].sort((a, b) => byArrival(a.seq, b.seq)), preempted };
  }

  private admit(entries: Map<Sequence, ScheduledSeq>, budget: number): void {
    const bs = this.blocks.blockSize;
    while (this.waiting.length > 0 && budget > 0 && this.running.length < this.opts.maxRunning) {
      const seq = this.waiting[0];
      // Prefix cache: whole blocks of the tokens, leaving at least one token to compute for the logits.
      const hits: { block: number; hash: string }[] = [];
      if (!seq.wantsPromptLogprobs && this.blocks.prefixCaching) {
        const full = Math.floor((seq.tokens.length - 1) / bs);
        let parent = '';
        for (let i = 0; i < full; i++) {
          const h = blockHash(parent, seq.tokens, i * bs, (i + 1) * bs);
          const b = this.blocks.peek(h, seq.tokens, i * bs);
          if (b === undefined) break;
          hits.push({ block: b, hash: h });
          parent = h;
        }
        this.blocks.countLookup(full, hits.length);
      }
      const cached = hits.length * bs;
      const n = Math.min(seq.tokens.length - cached, budget);
      const fresh = Math.ceil((cached + n) / bs) - hits.length;
      const idleHits = hits.filter((h) => this.blocks.isIdle(h.block)).length;
      if (fresh + idleHits > this.blocks.available) break;
      for (const h of hits) {
        this.blocks.take(h.block);
        seq.blockTable.push(h.block);
        seq.blockHashes.push(h.hash);
      }
      for (let i = 0; i < fresh; i++) seq.blockTable.push(this.blocks.allocate());
      seq.numComputed = cached;
      if (seq.preemptions === 0) seq.cachedTokens = Math.min(cached, seq.promptLength);
      this.waiting.shift();
      seq.status = 'running';
      insertSorted(this.running, seq);
      entries.set(seq, { seq, start: cached, n });
      budget -= n;
    }
  }

  /** After the step's forward: marks the tokens computed and publishes blocks that became full. */
  commit(e: ScheduledSeq): void {
    const seq = e.seq, bs = this.blocks.blockSize;
    seq.numComputed = e.start + e.n;
    for (let j = seq.blockHashes.length; (j + 1) * bs <= seq.numComputed; j++) {
      const h = blockHash(j > 0 ? seq.blockHashes[j - 1] : '', seq.tokens, j * bs, (j + 1) * bs);
      this.blocks.register(seq.blockTable[j], h, seq.tokens, j * bs);
      seq.blockHashes.push(h);
    }
  }
}

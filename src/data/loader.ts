// The training data loader over a built dataset: batches of whole records from one phase, in a
// per-epoch shuffled order derived from (seed, epoch). Its position is a small JSON object that a
// checkpoint stores; a loader created from it yields exactly the batches the saved one would have.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { fmix32, Rng } from './hashing.js';
import { bytesPer, readIndex, verifyShards, type DatasetIndex, type PhaseIndex } from './shards.js';

export interface LoaderState {
  phase: string;
  batchSize: number;
  seed: number;
  shuffle: boolean;
  epoch: number;
  /** records of this epoch already handed out */
  cursor: number;
  /** only records [start, end) of the phase (storage order); default all (a held-out tail stays unseen) */
  range?: [number, number];
}

export interface Batch {
  /** batchSize x recordLen token ids, row-major */
  tokens: Int32Array;
  batchSize: number;
  recordLen: number;
  epoch: number;
}

export interface LoaderOptions {
  phase?: string;
  batchSize?: number;
  seed?: number;
  shuffle?: boolean;
  /** resume from a saved state (phase, batch size and seed come from it) */
  state?: LoaderState;
  /** check every shard's checksum on open */
  verify?: boolean;
  /** use only records [start, end) of the phase, e.g. all but a held-out tail */
  range?: [number, number];
}

export class DataLoader {
  readonly index: DatasetIndex;
  readonly phase: PhaseIndex;
  private st: LoaderState;
  private perm: Uint32Array | undefined;
  private permEpoch = -1;
  private readonly starts: number[] = [];
  private readonly fds: number[] = [];
  private readonly bpt: number;
  private readonly rowBytes: Buffer;
  private readonly lo: number;
  private readonly n: number;

  constructor(readonly dir: string, opts: LoaderOptions = {}) {
    this.index = readIndex(dir);
    if (opts.verify) {
      const problems = verifyShards(dir, this.index);
      if (problems.length) throw new Error(`dataset ${dir} failed verification:\n  ${problems.join('\n  ')}`);
    }
    const s = opts.state;
    const phaseName = s?.phase ?? opts.phase ?? this.index.phases[0]?.name;
    const phase = this.index.phases.find((p) => p.name === phaseName);
    if (!phase) throw new Error(`dataset ${dir} has no phase "${phaseName}" (has: ${this.index.phases.map((p) => p.name).join(', ')})`);
    this.phase = phase;
    if (phase.records === 0) throw new Error(`phase "${phase.name}" of ${dir} has no records`);
    this.st = s ? { ...s } : { phase: phase.name, batchSize: opts.batchSize ?? 8, seed: opts.seed ?? 0, shuffle: opts.shuffle ?? true, epoch: 0, cursor: 0, range: opts.range };
    const [lo, hi] = this.st.range ?? [0, phase.records];
    if (!(Number.isInteger(lo) && Number.isInteger(hi) && 0 <= lo && lo < hi && hi <= phase.records)) {
      throw new Error(`record range [${lo}, ${hi}) is outside phase "${phase.name}" (${phase.records} records)`);
    }
    this.lo = lo;
    this.n = hi - lo;
    if (!Number.isInteger(this.st.batchSize) || this.st.batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${this.st.batchSize}`);
    this.bpt = bytesPer(this.index.dtype);
    let acc = 0;
    for (const sh of phase.shards) {
      const p = path.join(dir, sh.file);
      if (statSync(p).size !== sh.bytes) throw new Error(`${p}: size differs from the index; rebuild or verify the dataset`);
      this.starts.push(acc);
      this.fds.push(openSync(p, 'r'));
      acc += sh.records;
    }
    this.rowBytes = Buffer.alloc(phase.recordLen * this.bpt);
  }

  get recordsPerEpoch(): number { return this.n; }
  get recordLen(): number { return this.phase.recordLen; }
  /** batches in one epoch (the last one wraps into the next epoch) */
  get batchesPerEpoch(): number { return Math.ceil(this.n / this.st.batchSize); }

  /** A JSON-serialisable copy of the position, to store in a checkpoint. */
  state(): LoaderState { return { ...this.st }; }

  private order(epoch: number): Uint32Array | undefined {
    if (!this.st.shuffle) return undefined;
    if (this.permEpoch !== epoch) {
      const n = this.n;
      const p = new Uint32Array(n);
      for (let i = 0; i < n; i++) p[i] = i;
      const rng = new Rng(fmix32((this.st.seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0));
      for (let i = n - 1; i > 0; i--) { const j = rng.int(i + 1); const t = p[i]; p[i] = p[j]; p[j] = t; }
      this.perm = p; this.permEpoch = epoch;
    }
    return this.perm;
  }

  /** Reads record r (in storage order) into out at row offset. */
  private readRecord(r: number, out: Int32Array, row: number): void {
    let lo = 0, hi = this.starts.length - 1;
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (this.starts[mid] <= r) lo = mid; else hi = mid - 1; }
    const L = this.phase.recordLen;
    const buf = this.rowBytes;
    readSync(this.fds[lo], buf, 0, buf.length, (r - this.starts[lo]) * L * this.bpt);
    for (let i = 0; i < L; i++) out[row * L + i] = this.bpt === 2 ? buf.readUInt16LE(2 * i) : buf.readUInt32LE(4 * i);
  }

  /** The next batch; epochs roll over seamlessly (a batch may span two epochs). */
  next(): Batch {
    const { batchSize } = this.st;
    const L = this.phase.recordLen;
    const tokens = new Int32Array(batchSize * L);
    const epoch = this.st.epoch;
    for (let b = 0; b < batchSize; b++) {
      if (this.st.cursor >= this.n) { this.st.epoch++; this.st.cursor = 0; }
      const perm = this.order(this.st.epoch);
      const r = this.lo + (perm ? perm[this.st.cursor] : this.st.cursor);
      this.readRecord(r, tokens, b);
      this.st.cursor++;
    }
    return { tokens, batchSize, recordLen: L, epoch };
  }

  close(): void { for (const fd of this.fds) closeSync(fd); this.fds.length = 0; }
}

// Binary shards and their JSON index. A shard is a flat array of fixed-length records (uint16 when
// the vocabulary fits, else uint32, little-endian). Every file is written under a temporary name and
// renamed into place, and the index is rewritten after each shard, so a killed build leaves only
// whole, checksummed shards behind and can resume after the last one.
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';

export type Dtype = 'uint16' | 'uint32';

/** Where the token stream stands after a record: the next token comes from instance, after consumed tokens of it. */
export interface Cursor { instance: number; consumed: number }

export interface ShardInfo { file: string; records: number; bytes: number; sha256: string; end: Cursor }

export interface PhaseIndex {
  name: string;
  /** model context length; each record holds seqLen + 1 tokens (inputs and shifted targets) */
  seqLen: number;
  recordLen: number;
  firstInstance: number;
  endInstance: number;
  records: number;
  shards: ShardInfo[];
  complete: boolean;
  /** tokens left over at the end of the phase, fewer than one record, dropped */
  droppedTailTokens: number;
}

export interface DatasetIndex {
  format: 'hcx-shards-v1';
  dtype: Dtype;
  vocabSize: number;
  special: Record<string, number>;
  /** hash of config + tokenizer: a resumed build must match it */
  buildHash: string;
  phases: PhaseIndex[];
  complete: boolean;
}

export const bytesPer = (d: Dtype): number => (d === 'uint16' ? 2 : 4);

import { writeFileAtomic } from '../util/atomic.js';
export { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';

export function readIndex(dir: string): DatasetIndex {
  const p = path.join(dir, 'index.json');
  if (!existsSync(p)) throw new Error(`no dataset index at ${p}`);
  const idx = JSON.parse(readFileSync(p, 'utf8')) as DatasetIndex;
  if (idx.format !== 'hcx-shards-v1') throw new Error(`${p}: unknown format ${String(idx.format)}`);
  return idx;
}

/** Checks sizes and checksums of every shard; returns the problems found (empty = good). */
export function verifyShards(dir: string, idx = readIndex(dir)): string[] {
  const problems: string[] = [];
  for (const ph of idx.phases) {
    for (const s of ph.shards) {
      const p = path.join(dir, s.file);
      if (!existsSync(p)) { problems.push(`${s.file}: missing`); continue; }
      if (statSync(p).size !== s.bytes) { problems.push(`${s.file}: ${statSync(p).size} bytes, index says ${s.bytes}`); continue; }
      const sha = createHash('sha256').update(readFileSync(p)).digest('hex');
      if (sha !== s.sha256) problems.push(`${s.file}: checksum mismatch`);
    }
  }
  return problems;
}

/** Collects records into shard-sized buffers and writes each full shard atomically. */
export class ShardWriter {
  private buf: Uint16Array | Uint32Array;
  private n = 0;
  private readonly perShard: number;

  constructor(private readonly dir: string, private readonly phase: PhaseIndex, private readonly dtype: Dtype, shardTokens: number,
    private readonly onShard: (s: ShardInfo) => void) {
    this.perShard = Math.max(1, Math.floor(shardTokens / phase.recordLen));
    const size = this.perShard * phase.recordLen;
    this.buf = dtype === 'uint16' ? new Uint16Array(size) : new Uint32Array(size);
  }

  push(record: ArrayLike<number>, after: Cursor): void {
    this.buf.set(record as ArrayLike<number>, this.n * this.phase.recordLen);
    if (++this.n === this.perShard) this.flush(after);
  }

  /** Writes the partial last shard, if any. */
  flush(after: Cursor): void {
    if (this.n === 0) return;
    const view = this.buf.subarray(0, this.n * this.phase.recordLen);
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    const file = `${this.phase.name}-${String(this.phase.shards.length).padStart(5, '0')}.bin`;
    writeFileAtomic(path.join(this.dir, file), bytes);
    const info: ShardInfo = { file, records: this.n, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), end: { ...after } };
    this.n = 0;
    this.onShard(info);
  }
}

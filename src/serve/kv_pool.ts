// The paged KV cache's memory: per layer one key and one value pool of [numBlocks, kvHeads, blockSize,
// headDim] elements (head-major blocks: the keys one attention task reads are contiguous), float32, or
// bf16 (Uint16Array: half the bytes to read every step, twice the blocks for the same memory) when the
// model multiplies in bf16. Only kvHeads (not query heads) are stored, so grouped-query attention shrinks
// the cache by nHeads / nKvHeads. Sizing turns a byte budget into a block count.
import { type ModelConfig, headDimOf } from '../model/config.js';

export type KVDtype = 'f32' | 'bf16';

export interface KVPoolSize {
  numBlocks: number;
  blockSize: number;
}

/** Bytes of keys and values one token occupies across all layers. */
export function kvBytesPerToken(c: ModelConfig, dtype: KVDtype = 'f32'): number {
  return 2 * c.nLayers * c.nKvHeads * headDimOf(c) * (dtype === 'bf16' ? 2 : 4);
}

/**
 * Blocks for a byte budget, at least enough for one sequence of maxSeqLen (so a lone request can always
 * run to its end) and at most what maxRunning full-length sequences could use.
 */
export function planBlocks(c: ModelConfig, opts: { blockSize?: number; memoryBytes?: number; maxRunning?: number; numBlocks?: number; dtype?: KVDtype } = {}): KVPoolSize {
  const blockSize = opts.blockSize ?? 16;
  if (!(Number.isInteger(blockSize) && blockSize > 0)) throw new Error(`blockSize must be a positive integer, got ${blockSize}`);
  const perSeq = Math.ceil(c.maxSeqLen / blockSize);
  if (opts.numBlocks !== undefined) {
    if (!(Number.isInteger(opts.numBlocks) && opts.numBlocks >= perSeq)) {
      throw new Error(`numBlocks must be an integer >= ${perSeq} (one sequence of maxSeqLen ${c.maxSeqLen} in blocks of ${blockSize}), got ${opts.numBlocks}`);
    }
    return { numBlocks: opts.numBlocks, blockSize };
  }
  const budget = opts.memoryBytes ?? 512 * 2 ** 20;
  const byBudget = Math.floor(budget / (kvBytesPerToken(c, opts.dtype) * blockSize));
  const byRunning = perSeq * (opts.maxRunning ?? 256);
  return { numBlocks: Math.max(perSeq, Math.min(byBudget, byRunning)), blockSize };
}

export class KVPool {
  readonly k: (Float32Array | Uint16Array)[] = [];
  readonly v: (Float32Array | Uint16Array)[] = [];
  /** Floats of one token's keys (or values) in one layer: kvHeads * headDim. */
  readonly row: number;

  constructor(readonly config: ModelConfig, readonly numBlocks: number, readonly blockSize: number, readonly dtype: KVDtype = 'f32') {
    this.row = config.nKvHeads * headDimOf(config);
    const n = numBlocks * blockSize * this.row;
    for (let l = 0; l < config.nLayers; l++) {
      this.k.push(dtype === 'bf16' ? new Uint16Array(n) : new Float32Array(n));
      this.v.push(dtype === 'bf16' ? new Uint16Array(n) : new Float32Array(n));
    }
  }

  get bytes(): number {
    return this.numBlocks * this.blockSize * kvBytesPerToken(this.config, this.dtype);
  }
}

// A contiguous key/value cache for generation: per layer [batch, capacity, kvHeads, headDim] buffers
// that attention reads in place (its kvCapacity argument), grown by each forward step.
import { Tensor } from '../tensor/index.js';
import { type ModelConfig, headDimOf } from './config.js';

export class KVCache {
  readonly k: Tensor[] = [];
  readonly v: Tensor[] = [];
  length = 0;
  private readonly row: number;

  constructor(readonly config: ModelConfig, readonly batch: number, readonly capacity = config.maxSeqLen) {
    const hd = headDimOf(config);
    this.row = config.nKvHeads * hd;
    for (let i = 0; i < config.nLayers; i++) {
      // Untracked: the cache outlives the tidy() scopes of individual decode steps.
      this.k.push(new Tensor([batch, capacity, config.nKvHeads, hd], new Float32Array(batch * capacity * this.row)));
      this.v.push(new Tensor([batch, capacity, config.nKvHeads, hd], new Float32Array(batch * capacity * this.row)));
    }
  }

  /** Writes this step's keys and values ([B, T, Hkv, hd]) after the cached ones; returns the layer's buffers. */
  append(layer: number, k: Tensor, v: Tensor): [Tensor, Tensor] {
    const T = k.shape[1];
    if (this.length + T > this.capacity) throw new Error(`KV cache full: ${this.length} + ${T} > capacity ${this.capacity}`);
    if (k.shape[0] !== this.batch) throw new Error(`KV cache holds batch ${this.batch}, got ${k.shape[0]}`);
    const n = T * this.row;
    for (let b = 0; b < this.batch; b++) {
      const dst = (b * this.capacity + this.length) * this.row;
      this.k[layer].data.set(k.data.subarray(b * n, (b + 1) * n), dst);
      this.v[layer].data.set(v.data.subarray(b * n, (b + 1) * n), dst);
    }
    return [this.k[layer], this.v[layer]];
  }

  /** Called once per forward step, after every layer has appended. */
  advance(T: number): void {
    this.length += T;
  }

  reset(): void {
    this.length = 0;
  }
}

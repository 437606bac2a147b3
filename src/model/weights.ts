// Weights for inference without fp32 masters. A PackedWeight is a matrix held only in bf16, packed once
// into the GEMM microkernel's panel layout (gemmBf16Prepacked), so a model imported in bf16 takes half the
// memory of its fp32 form and no call re-packs it. The token embedding is looked up in the same packed
// copy (tied models keep one copy for the lookup and the output projection). Nothing here records
// gradients: a model built this way serves, evaluates and generates, and refuses to train.
import { Tensor, isGradEnabled } from '../tensor/index.js';
import { native } from '../native/index.js';
import { toFloat32, type StTensor } from './safetensors.js';

interface PackedKernels {
  packedBf16Words(n: number, k: number): number;
  packBf16(w: Float32Array | Uint16Array, n: number, k: number, dst: Uint32Array): void;
  gemmBf16Prepacked(x: Float32Array, wp: Uint32Array, c: Float32Array, m: number, n: number, k: number): void;
  embeddingPackedBf16(wp: Uint32Array, ids: Int32Array, out: Float32Array, n: number, k: number): void;
}
const K = native as unknown as PackedKernels;

export class PackedWeight {
  readonly shape: readonly [number, number];
  readonly words: Uint32Array;

  /** Packs w [rows, cols]: float32 values (rounded to bf16) or bf16 bits. */
  constructor(w: Float32Array | Uint16Array, rows: number, cols: number, readonly name = '') {
    if (w.length !== rows * cols) throw new Error(`${name || 'packed weight'}: ${w.length} values for [${rows}, ${cols}]`);
    this.shape = [rows, cols];
    this.words = new Uint32Array(K.packedBf16Words(rows, cols));
    K.packBf16(w, rows, cols, this.words);
  }

  get bytes(): number {
    return this.words.byteLength;
  }

  /** y = x W^T for x [..., cols]; no gradient flows (inference weights). */
  apply(x: Tensor): Tensor {
    const [N, Kd] = this.shape;
    if (x.shape[x.ndim - 1] !== Kd) throw new Error(`${this.name}: input [${x.shape}] does not end in ${Kd}`);
    if (isGradEnabled() && x.requiresGrad) throw new Error(`${this.name}: bf16-only inference weights cannot be trained (load the model with fp32 weights)`);
    const y = Tensor.empty([...x.shape.slice(0, -1), N]);
    K.gemmBf16Prepacked(x.data, this.words, y.data, x.size / Kd, N, Kd);
    return y;
  }

  /** Rows of the weight for token ids, as float32 [...shape, cols]. */
  rows(ids: Int32Array, shape: readonly number[]): Tensor {
    const [N, Kd] = this.shape;
    const y = Tensor.empty([...shape, Kd]);
    if (y.size !== ids.length * Kd) throw new Error(`${this.name}: ${ids.length} ids do not fill shape [${shape}]`);
    K.embeddingPackedBf16(this.words, ids, y.data, N, Kd);
    return y;
  }
}

/** A projection weight: an fp32 parameter (trainable) or a packed bf16 copy only (inference). */
export type Weight = Tensor | PackedWeight;

/** Tensor data a model is built from: float32 (adopted as is), or a safetensors tensor of any float dtype. */
export type WeightData = Float32Array | StTensor;

export type WeightFormat = 'f32' | 'bf16';

/** float32 values of a weight (widening bf16 and f16; float32 is returned without a copy). */
export function weightFloats(d: WeightData): Float32Array {
  return d instanceof Float32Array ? d : toFloat32(d);
}

/** A packed bf16 weight from any float data: bf16 bits are packed directly, others rounded. */
export function packWeight(d: WeightData, rows: number, cols: number, name: string): PackedWeight {
  const src = d instanceof Float32Array ? d : d.dtype === 'BF16' ? (d.data as Uint16Array) : toFloat32(d);
  return new PackedWeight(src, rows, cols, name);
}

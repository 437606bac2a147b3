// The ggml tensor types a GGUF file can hold (ids from ggml.h), their block layout, and which of them hcx
// reads: the plain F32 / F16 / BF16 and the block-quantised types of common llama.cpp files, dequantised at
// load by the native `dequantize` kernel (src/native/dequant.cc).
import { native } from '../../native/index.js';

/** GGUF metadata value types. */
export const GgufType = {
  UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9, UINT64: 10, INT64: 11, FLOAT64: 12,
} as const;

export type GgufScalarType = Exclude<(typeof GgufType)[keyof typeof GgufType], 9>;

/** A metadata value with its explicit GGUF type (arrays are homogeneous). */
export type GgufValue =
  | { type: GgufScalarType; value: number | bigint | boolean | string }
  | { type: 9; itemType: GgufScalarType; value: (number | bigint | boolean | string)[] };

/** ggml type id -> name (all of ggml's; most are not readable here, but errors can name them). */
export const GGML_TYPE_NAMES: Record<number, string> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 6: 'Q5_0', 7: 'Q5_1', 8: 'Q8_0', 9: 'Q8_1', 10: 'Q2_K', 11: 'Q3_K',
  12: 'Q4_K', 13: 'Q5_K', 14: 'Q6_K', 15: 'Q8_K', 16: 'IQ2_XXS', 17: 'IQ2_XS', 18: 'IQ3_XXS', 19: 'IQ1_S',
  20: 'IQ4_NL', 21: 'IQ3_S', 22: 'IQ2_S', 23: 'IQ4_XS', 24: 'I8', 25: 'I16', 26: 'I32', 27: 'I64', 28: 'F64',
  29: 'IQ1_M', 30: 'BF16', 34: 'TQ1_0', 35: 'TQ2_0', 39: 'MXFP4',
};

/** The types hcx dequantises: values per block and bytes per block. */
export const GGML_READABLE: Record<string, { id: number; block: number; bytes: number }> = {
  F32: { id: 0, block: 1, bytes: 4 },
  F16: { id: 1, block: 1, bytes: 2 },
  BF16: { id: 30, block: 1, bytes: 2 },
  Q4_0: { id: 2, block: 32, bytes: 18 },
  Q4_1: { id: 3, block: 32, bytes: 20 },
  Q5_0: { id: 6, block: 32, bytes: 22 },
  Q5_1: { id: 7, block: 32, bytes: 24 },
  Q8_0: { id: 8, block: 32, bytes: 34 },
  Q2_K: { id: 10, block: 256, bytes: 84 },
  Q3_K: { id: 11, block: 256, bytes: 110 },
  Q4_K: { id: 12, block: 256, bytes: 144 },
  Q5_K: { id: 13, block: 256, bytes: 176 },
  Q6_K: { id: 14, block: 256, bytes: 210 },
};

export const ggmlTypeName = (id: number): string => GGML_TYPE_NAMES[id] ?? `unknown type ${id}`;

export function ggmlLayout(id: number): { name: string; block: number; bytes: number } | null {
  const name = GGML_TYPE_NAMES[id];
  const l = name !== undefined ? GGML_READABLE[name] : undefined;
  return l ? { name, block: l.block, bytes: l.bytes } : null;
}

/** Bytes of `n` values of a readable type (n a multiple of its block size). */
export function ggmlBytes(id: number, n: number): number {
  const l = ggmlLayout(id);
  if (!l) throw new Error(`ggml type ${ggmlTypeName(id)} is not readable`);
  if (n % l.block) throw new Error(`${n} values are not whole ${l.name} blocks of ${l.block}`);
  return (n / l.block) * l.bytes;
}

/**
 * The first `n` values of ggml data into `dst`: float32 (Float32Array) or bf16 bits rounded to nearest even
 * (Uint16Array). Bit-exact with gguf-py's `gguf.quants.dequantize` (checked in test/model/gguf_dequant.test.ts).
 */
export function dequantize(typeId: number, src: Uint8Array, dst: Float32Array | Uint16Array, n: number): void {
  native.dequantize(typeId, src, dst, n);
}

/**
 * `n` values of ggml type `typeId` stored at byte `position` of the open file `fd` into `dst`, read by positioned
 * reads on the thread pool (so the page faults of a fresh `dst` are taken on every core): converted to float32
 * (Float32Array) or bf16 (Uint16Array), or with `raw` copied as stored (dst of the same byte size). A file that
 * ends early is an error naming `file` and `what`.
 */
export function readTensorData(fd: number, position: number, typeId: number, n: number, dst: ArrayBufferView, raw: boolean, file: string, what: string): void {
  const eof = native.readTensor(fd, position, typeId, n, dst, raw ? 1 : 0);
  if (eof >= 0) throw new Error(`${file}: unexpected end of file reading ${what} (at byte ${eof})`);
}

/** A float32 as the shortest decimal that rounds to the same float32 (1e-5, not 9.999999747378752e-6). */
export function shortestF32(x: number): number {
  if (!Number.isFinite(x)) return x;
  for (let p = 1; p <= 9; p++) {
    const c = Number(x.toPrecision(p));
    if (Math.fround(c) === x) return c;
  }
  return x;
}

// Loads the C++ kernel addon built by `npm install` (scripts/build-native.mjs) and types its functions.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

type F32 = Float32Array;
type U16 = Uint16Array;
type I32 = Int32Array;

/** Every function the addon exports. Typed arrays are views; kernels write into buffers allocated in JS. */
export interface NativeKernels {
  setThreads(n: number): void;
  numThreads(): number;
  warmPool(): void;
  /** Per row of a [rows, n] matrix: the first index of the maximum and log(sum(exp(row))). */
  rowStats(z: Float32Array, rows: number, n: number, best: Int32Array, lse: Float32Array): void;
  /** 0 = portable, 1 = AVX2, 2 = AVX-512 (clamped to what the CPU has). */
  setIsa(level: number): void;
  isaName(): string;
  hasBf16Dot(): boolean;
  sgemm(a: F32, b: F32, c: F32, batch: number, m: number, n: number, k: number, transA: number, transB: number,
    alpha: number, beta: number, strideA: number, strideB: number, strideC: number): void;
  /** GFLOPS of register-only FMA chains (fp32 vfmadd231ps, bf16 vdpbf16ps) on `threads` threads for about `ms` ms; 0 if unavailable. */
  peakFlops(dtype: 'f32' | 'bf16', threads: number, ms: number): number;
  /** float32 -> bf16 bits, round to nearest even, NaN stays NaN. */
  f32ToBf16(src: F32, dst: U16): void;
  bf16ToF32(src: U16, dst: F32): void;
  /** The first n values of ggml-typed data (F32, F16, BF16, Q4_0 ... Q6_K; see src/model/gguf/types.ts) as float32 or bf16 (dst a Uint16Array). */
  dequantize(ggmlType: number, src: Uint8Array, dst: F32 | U16, n: number): void;
  /**
   * n values of ggml type stored at `position` of the open file `fd`, read by positioned reads on the thread pool
   * and converted like dequantize (raw = 1: the bytes as stored, dst of the same byte size). Returns -1, or the
   * offset where the file ended; a read error throws.
   */
  readTensor(fd: number, position: number, ggmlType: number, n: number, dst: ArrayBufferView, raw: number): number;
  /** C = alpha op(A) op(W) + beta C with bf16 W (stored [K,N], or [N,K] when transW) and A fp32 (rounded to bf16) or bf16. */
  gemmBf16(a: F32 | U16, w: U16, c: F32, batch: number, m: number, n: number, k: number, transA: number, transW: number,
    alpha: number, beta: number, strideA: number, strideW: number, strideC: number): void;
  /** 0: emulate vdpbf16ps even where the CPU has it (tests, benchmarks); 1: use it when present. */
  setBf16Dot(enabled: number): void;
  [name: string]: unknown;
}

function findAddon(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // dist/src/native -> repo root, or src/native when run from source.
  for (const up of ['../../..', '../..']) {
    const p = path.resolve(here, up, 'build', 'Release', 'hcx_native.node');
    if (existsSync(p)) return p;
  }
  throw new Error('hcx: native addon build/Release/hcx_native.node not found; run `npm install` (it builds with node-gyp)');
}

const require = createRequire(import.meta.url);
export const native = require(findAddon()) as NativeKernels;

const envThreads = Number(process.env.HCX_THREADS ?? '');
native.setThreads(Number.isInteger(envThreads) && envThreads > 0 ? envThreads : os.availableParallelism());

export function setThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`threads must be a positive integer, got ${n}`);
  native.setThreads(n);
}
export const numThreads = (): number => native.numThreads();

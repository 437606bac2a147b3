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
  /** 0 = portable, 1 = AVX2, 2 = AVX-512 (clamped to what the CPU has). */
  setIsa(level: number): void;
  isaName(): string;
  hasBf16Dot(): boolean;
  sgemm(a: F32, b: F32, c: F32, batch: number, m: number, n: number, k: number, transA: number, transB: number,
    alpha: number, beta: number, strideA: number, strideB: number, strideC: number): void;
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

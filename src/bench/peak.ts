// Peak arithmetic throughput measured on the spot: register-only FMA chains in native code
// (fp32: vfmadd231ps on 16 independent zmm accumulators; bf16: vdpbf16ps), summed over threads.
import { native, setThreads } from '../native/index.js';

export type PeakTable = Record<'f32' | 'bf16', Record<string, number>>;

/**
 * GFLOPS per dtype and thread count: the best of `tries` runs of about `ms` ms each (the best, because
 * on a shared machine the slow runs measure the neighbours, not the chip). bf16 is 0 without AVX512_BF16.
 */
export function measurePeak(threads: number[], ms = 150, tries = 3): PeakTable {
  const out: PeakTable = { f32: {}, bf16: {} };
  for (const t of threads) {
    setThreads(t);
    for (const dtype of ['f32', 'bf16'] as const) {
      let best = 0;
      for (let i = 0; i < tries; i++) best = Math.max(best, native.peakFlops(dtype, t, ms));
      out[dtype][String(t)] = best;
    }
  }
  return out;
}

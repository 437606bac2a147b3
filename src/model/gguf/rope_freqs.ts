// Llama 3 RoPE scaling back from a GGUF's rope_freqs tensor. llama.cpp's converter does not store the
// rope_scaling parameters (factor, low/high_freq_factor, original_max_position_embeddings) as metadata: it
// stores the per-frequency divisors they give (convert_hf_to_gguf.py, generate_extra_tensors):
//   r_i = 1 where the wavelength 2π/f_i < old/high, r_i = factor where it is > old/low, and in between
//   1 / ((1 - s)/factor + s) with s = (old/wavelength - low) / (high - low).
// The divisors depend on (low, high, old) only through old/(high - low) and low/(high - low), so low = 1 is
// taken, the standard Llama 3 values are tried first, and otherwise high and old are solved from the medium
// band; the parameters are accepted only if they reproduce every divisor.
import { shortestF32 } from './types.js';

/** Divisors the Llama 3 rule gives (float32 base frequencies, as the converter computes them). */
export function llama3Divisors(theta: number, headDim: number, p: { factor: number; low: number; high: number; old: number }): number[] {
  const out: number[] = [];
  for (let i = 0; i < headDim / 2; i++) {
    const f = Math.fround(1 / Math.fround(theta ** Math.fround((2 * i) / headDim)));
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < p.old / p.high) out.push(1);
    else if (wavelen > p.old / p.low) out.push(p.factor);
    else {
      const s = (p.old / wavelen - p.low) / (p.high - p.low);
      out.push(1 / ((1 - s) / p.factor + s));
    }
  }
  return out;
}

const close = (a: number, b: number): boolean => Math.abs(a - b) <= 2e-6 * Math.max(1, Math.abs(b));

/** The rope_scaling of a config.json that gives these divisors, or null when they are all 1. */
export function llama3FromRopeFreqs(r: Float32Array, theta: number, headDim: number, file: string): Record<string, unknown> | null {
  if (r.length !== headDim / 2) throw new Error(`${file}: tensor "rope_freqs.weight" has ${r.length} values, the head dimension ${headDim} needs ${headDim / 2}`);
  if (r.every((x) => close(x, 1))) return null;
  const factor = shortestF32(Math.max(...r));
  const fits = (p: { factor: number; low: number; high: number; old: number }): boolean => llama3Divisors(theta, headDim, p).every((x, i) => close(r[i], x));
  const candidates = [{ factor, low: 1, high: 4, old: 8192 }];
  // Solve s = a x + b (x = 1 / wavelength) through the first and last medium divisors, with low = 1.
  const medium: [number, number][] = [];
  for (let i = 0; i < r.length; i++) {
    if (r[i] > 1 + 1e-6 && r[i] < factor - 1e-6) {
      const f = Math.fround(1 / Math.fround(theta ** Math.fround((2 * i) / headDim)));
      medium.push([f / (2 * Math.PI), (1 / r[i] - 1 / factor) / (1 - 1 / factor)]);
    }
  }
  if (medium.length >= 2) {
    const [x0, s0] = medium[0], [x1, s1] = medium[medium.length - 1];
    const a = (s1 - s0) / (x1 - x0), b = s0 - a * x0;
    const high = 1 - 1 / b;
    if (Number.isFinite(high) && high > 1) candidates.push({ factor, low: 1, high: Math.round(high * 1e4) / 1e4, old: Math.round(a * (high - 1)) });
  }
  const p = candidates.find(fits);
  if (!p) throw new Error(`${file}: tensor "rope_freqs.weight" is not a Llama 3 RoPE scaling hcx can express (factor ${factor})`);
  return { rope_type: 'llama3', factor: p.factor, low_freq_factor: p.low, high_freq_factor: p.high, original_max_position_embeddings: p.old };
}

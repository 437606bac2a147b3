// Frequency-dependent RoPE scaling, as Hugging Face's modeling_rope_utils computes it: Llama 3's
// wavelength bands and YaRN's ramp between interpolated and extrapolated frequencies (with its attention
// factor, which multiplies cos and sin). Plain linear scaling is ModelConfig.ropeScale. The inverse
// frequencies are computed here once per config and handed to the RoPE kernel.

export type RopeScaling =
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxSeqLen: number }
  | { type: 'yarn'; factor: number; originalMaxSeqLen: number; betaFast: number; betaSlow: number; attentionFactor: number; truncate: boolean };

const FIELDS: Record<RopeScaling['type'], Record<string, 'num' | 'int' | 'bool'>> = {
  llama3: { factor: 'num', lowFreqFactor: 'num', highFreqFactor: 'num', originalMaxSeqLen: 'int' },
  yarn: { factor: 'num', originalMaxSeqLen: 'int', betaFast: 'num', betaSlow: 'num', attentionFactor: 'num', truncate: 'bool' },
};

/** Validates a RoPE scaling object (hcx's own field names); errors name the field. */
export function parseRopeScaling(v: unknown, where: string): RopeScaling {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${where} must be null or an object, got ${JSON.stringify(v)}`);
  const o = v as Record<string, unknown>;
  const type = o.type as RopeScaling['type'];
  const fields = FIELDS[type];
  if (!fields) throw new Error(`${where}: "type" must be llama3 or yarn, got ${JSON.stringify(o.type)}`);
  for (const k of Object.keys(o)) if (k !== 'type' && !(k in fields)) throw new Error(`${where}: unknown field "${k}" for type ${type}`);
  for (const [k, kind] of Object.entries(fields)) {
    const x = o[k];
    const ok = kind === 'bool' ? typeof x === 'boolean' : kind === 'int' ? Number.isInteger(x) && (x as number) > 0 : typeof x === 'number' && Number.isFinite(x) && x > 0;
    if (!ok) throw new Error(`${where}: "${k}" must be ${kind === 'bool' ? 'true or false' : kind === 'int' ? 'a positive integer' : 'a positive number'}, got ${JSON.stringify(x)}`);
  }
  if (type === 'llama3' && !((o.highFreqFactor as number) > (o.lowFreqFactor as number))) {
    throw new Error(`${where}: "highFreqFactor" must exceed "lowFreqFactor"`);
  }
  return { ...o } as RopeScaling;
}

/** The default inverse frequencies base^(-2i/dim), in float32 as transformers computes them. */
function defaultInvFreq(base: number, dim: number): Float64Array {
  const f = new Float64Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) f[i] = Math.fround(1 / Math.fround(base ** Math.fround((2 * i) / dim)));
  return f;
}

/**
 * Inverse frequency of each rotated pair and the factor cos and sin are multiplied by; null when the
 * kernel's default base^(-2i/dim) applies unchanged.
 */
export function ropeFrequencies(s: RopeScaling | null, base: number, dim: number): { invFreq: Float64Array; attentionFactor: number } | null {
  if (!s) return null;
  const inv = defaultInvFreq(base, dim);
  if (s.type === 'llama3') {
    const lowWave = s.originalMaxSeqLen / s.lowFreqFactor, highWave = s.originalMaxSeqLen / s.highFreqFactor;
    for (let i = 0; i < inv.length; i++) {
      const wave = (2 * Math.PI) / inv[i];
      if (wave > lowWave) inv[i] /= s.factor;
      else if (wave >= highWave) {
        const smooth = (s.originalMaxSeqLen / wave - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        inv[i] = (1 - smooth) * (inv[i] / s.factor) + smooth * inv[i];
      }
    }
    return { invFreq: inv, attentionFactor: 1 };
  }
  // YaRN: pairs rotating fewer than betaSlow times over the original context are interpolated (divided by
  // factor), more than betaFast times kept, with a linear ramp between.
  const corr = (rot: number) => (dim * Math.log(s.originalMaxSeqLen / (rot * 2 * Math.PI))) / (2 * Math.log(base));
  let low = corr(s.betaFast), high = corr(s.betaSlow);
  if (s.truncate) { low = Math.floor(low); high = Math.ceil(high); }
  low = Math.max(low, 0);
  high = Math.min(high, dim - 1);
  if (low === high) high += 0.001;
  for (let i = 0; i < inv.length; i++) {
    const ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
    const extrapolate = 1 - ramp;
    inv[i] = (inv[i] / s.factor) * (1 - extrapolate) + inv[i] * extrapolate;
  }
  return { invFreq: inv, attentionFactor: s.attentionFactor };
}

/** YaRN's default attention factor (transformers' get_mscale), from factor and optional mscale / mscale_all_dim. */
export function yarnAttentionFactor(factor: number, mscale?: number, mscaleAllDim?: number): number {
  const get = (scale: number, m = 1) => (scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1);
  return mscale && mscaleAllDim ? get(factor, mscale) / get(factor, mscaleAllDim) : get(factor);
}

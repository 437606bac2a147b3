// Model configuration: a typed, validated JSON object, with presets from a test size to documented
// shapes of large HCX-like models.
export interface ModelConfig {
  vocabSize: number;
  dModel: number;
  nLayers: number;
  nHeads: number;
  /** Grouped-query attention: nHeads must be a multiple of nKvHeads. */
  nKvHeads: number;
  /** SwiGLU hidden width. */
  ffnHidden: number;
  /** Longest context the model is trained or run at. */
  maxSeqLen: number;
  ropeBase: number;
  /** Positions are multiplied by this (linear interpolation when extending the context). */
  ropeScale: number;
  normEps: number;
  tieEmbeddings: boolean;
}

export const DEFAULTS: Omit<ModelConfig, 'vocabSize' | 'dModel' | 'nLayers' | 'nHeads' | 'nKvHeads' | 'ffnHidden'> = {
  maxSeqLen: 2048,
  ropeBase: 10000,
  ropeScale: 1,
  normEps: 1e-5,
  tieEmbeddings: false,
};

/** SwiGLU width as Llama rounds it: 2/3 of 4d, up to a multiple of `multiple`. */
export function swigluHidden(d: number, multiple = 16): number {
  return Math.ceil(Math.floor((8 * d) / 3) / multiple) * multiple;
}

const preset = (vocabSize: number, dModel: number, nLayers: number, nHeads: number, nKvHeads: number, ffnHidden: number, extra: Partial<ModelConfig> = {}): ModelConfig =>
  ({ ...DEFAULTS, vocabSize, dModel, nLayers, nHeads, nKvHeads, ffnHidden, ...extra });

/**
 * Presets. The technical report does not publish HyperCLOVA X's shapes; the large presets are
 * Llama-style shapes of similar scale, for planning memory and FLOPs (hcx trains the small ones).
 */
export const PRESETS: Record<string, ModelConfig> = {
  /** Unit tests: runs in milliseconds. */
  test: preset(64, 32, 2, 4, 2, 64, { maxSeqLen: 64 }),
  /** `hcx demo`: trains in a few minutes on 2 CPU cores. */
  demo: preset(4096, 128, 4, 4, 2, 352, { maxSeqLen: 1024, tieEmbeddings: true }),
  /** The PyTorch peer's model in ../shared/peers/torch_llama.py (vocab 8192, d 256, 4 layers). */
  peer: preset(8192, 256, 4, 4, 2, 688, { maxSeqLen: 1024 }),
  /** `hcx bench serve`: 25M parameters (50 MB in bf16), too big for the caches, so decoding one sequence is bound by reading the weights, as in real serving. */
  mini: preset(8192, 512, 8, 8, 2, 1408, { maxSeqLen: 1024 }),
  'hcx-small': preset(100352, 768, 12, 12, 4, 2048, { maxSeqLen: 4096, tieEmbeddings: true }),
  'hcx-1b': preset(100352, 2048, 16, 16, 8, 5632, { maxSeqLen: 4096 }),
  'hcx-7b': preset(100352, 4096, 32, 32, 8, 11008, { maxSeqLen: 8192 }),
  'hcx-30b': preset(100352, 6656, 60, 52, 4, 17920, { maxSeqLen: 8192 }),
};

export function parameterCount(c: ModelConfig): { total: number; embedding: number; perLayer: number } {
  const hd = c.dModel / c.nHeads;
  const attn = c.dModel * hd * (c.nHeads * 2 + c.nKvHeads * 2);
  const mlp = 3 * c.dModel * c.ffnHidden;
  const perLayer = attn + mlp + 2 * c.dModel;
  const embedding = c.vocabSize * c.dModel * (c.tieEmbeddings ? 1 : 2);
  return { total: embedding + c.nLayers * perLayer + c.dModel, embedding, perLayer };
}

/** FLOPs of one training token (forward + backward): 6N plus attention's 12 L d T (PaLM appendix). */
export function trainFlopsPerToken(c: ModelConfig, seqLen: number): number {
  const n = parameterCount(c).total - c.vocabSize * c.dModel * (c.tieEmbeddings ? 0 : 1);
  return 6 * n + 6 * c.nLayers * c.dModel * seqLen;
}

function need(obj: Record<string, unknown>, key: string, where: string, check: (v: unknown) => boolean, what: string): void {
  if (!check(obj[key])) throw new Error(`${where}: field "${key}" must be ${what}, got ${JSON.stringify(obj[key])}`);
}

const posInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
const posNum = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;

/** Validates a parsed JSON config (preset name or object), filling defaults; errors name the field. */
export function parseModelConfig(input: unknown, where = 'model config'): ModelConfig {
  if (typeof input === 'string') {
    const p = PRESETS[input];
    if (!p) throw new Error(`${where}: unknown preset "${input}" (presets: ${Object.keys(PRESETS).join(', ')})`);
    return { ...p };
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new Error(`${where}: expected an object or a preset name`);
  const o = input as Record<string, unknown>;
  const base = typeof o.preset === 'string' ? parseModelConfig(o.preset, where) : undefined;
  const known = new Set(['preset', ...Object.keys(DEFAULTS), 'vocabSize', 'dModel', 'nLayers', 'nHeads', 'nKvHeads', 'ffnHidden']);
  for (const k of Object.keys(o)) if (!known.has(k)) throw new Error(`${where}: unknown field "${k}"`);
  const c = { ...DEFAULTS, ...(base ?? {}), ...o } as Record<string, unknown>;
  delete c.preset;
  for (const k of ['vocabSize', 'dModel', 'nLayers', 'nHeads', 'nKvHeads', 'ffnHidden', 'maxSeqLen']) need(c, k, where, posInt, 'a positive integer');
  for (const k of ['ropeBase', 'ropeScale', 'normEps']) need(c, k, where, posNum, 'a positive number');
  need(c, 'tieEmbeddings', where, (v) => typeof v === 'boolean', 'true or false');
  const m = c as unknown as ModelConfig;
  if (m.dModel % m.nHeads) throw new Error(`${where}: dModel ${m.dModel} is not divisible by nHeads ${m.nHeads}`);
  if (m.nHeads % m.nKvHeads) throw new Error(`${where}: nHeads ${m.nHeads} is not a multiple of nKvHeads ${m.nKvHeads}`);
  if ((m.dModel / m.nHeads) % 2) throw new Error(`${where}: head dimension ${m.dModel / m.nHeads} must be even for rotary embeddings`);
  return m;
}

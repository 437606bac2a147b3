// Model configuration: a typed, validated JSON object, with presets from a test size to documented
// shapes of large HCX-like models. The fields beyond the Llama core (biases, QK-norm, norm placement,
// muP multipliers, RoPE scaling, sliding windows) describe the open architectures hcx imports from
// Hugging Face (src/model/hf_config.ts); their defaults are Llama's, so older hcx configs load unchanged.
import { type RopeScaling, parseRopeScaling } from './rope_scaling.js';

export type { RopeScaling } from './rope_scaling.js';

/** The Hugging Face architectures hcx runs; export writes the config's one. */
export const ARCHITECTURES = ['LlamaForCausalLM', 'Qwen2ForCausalLM', 'Qwen3ForCausalLM', 'Exaone4ForCausalLM', 'HyperCLOVAXForCausalLM'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export type LayerType = 'full' | 'sliding';

export interface ModelConfig {
  /** The Hugging Face class this model exports as (and was imported from). */
  architecture: Architecture;
  vocabSize: number;
  dModel: number;
  nLayers: number;
  nHeads: number;
  /** Grouped-query attention: nHeads must be a multiple of nKvHeads. */
  nKvHeads: number;
  /** Width of one attention head; null: dModel / nHeads. */
  headDim: number | null;
  /** SwiGLU hidden width. */
  ffnHidden: number;
  /** Longest context the model is trained or run at. */
  maxSeqLen: number;
  ropeBase: number;
  /** Positions are multiplied by this (linear interpolation when extending the context). */
  ropeScale: number;
  /** Frequency-dependent RoPE scaling (Llama 3, YaRN); null: none. */
  ropeScaling: RopeScaling | null;
  /** Layers that skip RoPE (EXAONE 4's global layers). */
  noRopeLayers: number[];
  normEps: number;
  tieEmbeddings: boolean;
  /** Biases on the q, k and v projections (Qwen2; Llama's attention_bias sets oBias too). */
  qkvBias: boolean;
  oBias: boolean;
  /** Biases on the gate, up and down projections. */
  mlpBias: boolean;
  /** RMSNorm over each head of q and k before RoPE (Qwen3, EXAONE 4). */
  qkNorm: boolean;
  /** RMSNorm on the input of each sub-layer (false in EXAONE 4, which normalises outputs only). */
  preNorm: boolean;
  /** RMSNorm on each sub-layer's output before the residual add (Peri-LN; EXAONE 4's post-norms). */
  postNorm: boolean;
  /** muP: token embeddings are multiplied by this. */
  embeddingMultiplier: number;
  /** Attention score scale; null: 1 / sqrt(headDim). */
  attentionMultiplier: number | null;
  /** muP: each sub-layer's output is multiplied by this before the residual add. */
  residualMultiplier: number;
  /** The logits are multiplied by this. */
  logitsScaling: number;
  /** Keys a sliding-window layer sees: its own and the window - 1 before it; null: no sliding layers. */
  slidingWindow: number | null;
  /** Attention of each layer; null: every layer full. */
  layerTypes: LayerType[] | null;
}

type ShapeKeys = 'vocabSize' | 'dModel' | 'nLayers' | 'nHeads' | 'nKvHeads' | 'ffnHidden';

export const DEFAULTS: Omit<ModelConfig, ShapeKeys> = {
  architecture: 'LlamaForCausalLM',
  headDim: null,
  maxSeqLen: 2048,
  ropeBase: 10000,
  ropeScale: 1,
  ropeScaling: null,
  noRopeLayers: [],
  normEps: 1e-5,
  tieEmbeddings: false,
  qkvBias: false,
  oBias: false,
  mlpBias: false,
  qkNorm: false,
  preNorm: true,
  postNorm: false,
  embeddingMultiplier: 1,
  attentionMultiplier: null,
  residualMultiplier: 1,
  logitsScaling: 1,
  slidingWindow: null,
  layerTypes: null,
};

/** Width of one attention head. */
// `| 0` keeps it a small integer for V8: shapes built from a division would be double arrays, and every shape
// check and allocation downstream would see two element kinds.
export const headDimOf = (c: ModelConfig): number => c.headDim ?? (c.dModel / c.nHeads) | 0;

/** The attention score scale. */
export const attentionScaleOf = (c: ModelConfig): number => c.attentionMultiplier ?? 1 / Math.sqrt(headDimOf(c));

/** Sliding window of layer i (0: full attention). */
export const layerWindow = (c: ModelConfig, i: number): number => (c.layerTypes?.[i] === 'sliding' ? c.slidingWindow ?? 0 : 0);

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
  const hd = headDimOf(c), D = c.dModel, Fh = c.ffnHidden;
  const qkv = hd * (c.nHeads + 2 * c.nKvHeads);
  const attn = D * qkv + c.nHeads * hd * D + (c.qkvBias ? qkv : 0) + (c.oBias ? D : 0) + (c.qkNorm ? 2 * hd : 0);
  const mlp = 3 * D * Fh + (c.mlpBias ? 2 * Fh + D : 0);
  const norms = ((c.preNorm ? 2 : 0) + (c.postNorm ? 2 : 0)) * D;
  const perLayer = attn + mlp + norms;
  const embedding = c.vocabSize * D * (c.tieEmbeddings ? 1 : 2);
  return { total: embedding + c.nLayers * perLayer + D, embedding, perLayer };
}

/** FLOPs of one training token (forward + backward): 6N plus attention's 12 L d T (PaLM appendix). */
export function trainFlopsPerToken(c: ModelConfig, seqLen: number): number {
  const n = parameterCount(c).total - c.vocabSize * c.dModel * (c.tieEmbeddings ? 0 : 1);
  return 6 * n + 6 * c.nLayers * c.nHeads * headDimOf(c) * seqLen;
}

function need(obj: Record<string, unknown>, key: string, where: string, check: (v: unknown) => boolean, what: string): void {
  if (!check(obj[key])) throw new Error(`${where}: field "${key}" must be ${what}, got ${JSON.stringify(obj[key])}`);
}

const posInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
const posNum = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;
const bool = (v: unknown) => typeof v === 'boolean';
const orNull = (f: (v: unknown) => boolean) => (v: unknown) => v === null || f(v);

/** Validates a parsed JSON config (preset name or object), filling defaults; errors name the field. */
export function parseModelConfig(input: unknown, where = 'model config'): ModelConfig {
  if (typeof input === 'string') {
    const p = PRESETS[input];
    if (!p) throw new Error(`${where}: unknown preset "${input}" (presets: ${Object.keys(PRESETS).join(', ')})`);
    return structuredClone(p);
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new Error(`${where}: expected an object or a preset name`);
  const o = input as Record<string, unknown>;
  const base = typeof o.preset === 'string' ? parseModelConfig(o.preset, where) : undefined;
  const known = new Set(['preset', ...Object.keys(DEFAULTS), 'vocabSize', 'dModel', 'nLayers', 'nHeads', 'nKvHeads', 'ffnHidden']);
  for (const k of Object.keys(o)) if (!known.has(k)) throw new Error(`${where}: unknown field "${k}"`);
  const c = structuredClone({ ...DEFAULTS, ...(base ?? {}), ...o }) as Record<string, unknown>;
  delete c.preset;
  need(c, 'architecture', where, (v) => (ARCHITECTURES as readonly unknown[]).includes(v), `one of ${ARCHITECTURES.join(', ')}`);
  for (const k of ['vocabSize', 'dModel', 'nLayers', 'nHeads', 'nKvHeads', 'ffnHidden', 'maxSeqLen']) need(c, k, where, posInt, 'a positive integer');
  for (const k of ['ropeBase', 'ropeScale', 'normEps', 'embeddingMultiplier', 'residualMultiplier', 'logitsScaling']) need(c, k, where, posNum, 'a positive number');
  for (const k of ['tieEmbeddings', 'qkvBias', 'oBias', 'mlpBias', 'qkNorm', 'preNorm', 'postNorm']) need(c, k, where, bool, 'true or false');
  need(c, 'headDim', where, orNull(posInt), 'a positive integer or null');
  need(c, 'attentionMultiplier', where, orNull(posNum), 'a positive number or null');
  need(c, 'slidingWindow', where, orNull(posInt), 'a positive integer or null');
  const m = c as unknown as ModelConfig;
  const L = m.nLayers;
  need(c, 'layerTypes', where, orNull((v) => Array.isArray(v) && v.length === L && v.every((t) => t === 'full' || t === 'sliding')),
    `null or an array of ${L} entries, each "full" or "sliding"`);
  need(c, 'noRopeLayers', where, (v) => Array.isArray(v) && v.every((i) => Number.isInteger(i) && i >= 0 && i < L) && new Set(v).size === v.length,
    `an array of distinct layer indices in 0..${L - 1}`);
  m.ropeScaling = c.ropeScaling === null ? null : parseRopeScaling(c.ropeScaling, `${where}: field "ropeScaling"`);
  if (m.headDim === null && m.dModel % m.nHeads) throw new Error(`${where}: dModel ${m.dModel} is not divisible by nHeads ${m.nHeads} (set headDim)`);
  if (m.nHeads % m.nKvHeads) throw new Error(`${where}: nHeads ${m.nHeads} is not a multiple of nKvHeads ${m.nKvHeads}`);
  if (headDimOf(m) % 2) throw new Error(`${where}: head dimension ${headDimOf(m)} must be even for rotary embeddings`);
  if (m.layerTypes?.includes('sliding') && m.slidingWindow === null) throw new Error(`${where}: field "layerTypes" has sliding layers but "slidingWindow" is null`);
  if (!m.preNorm && !m.postNorm) throw new Error(`${where}: fields "preNorm" and "postNorm" are both false (the blocks would have no normalisation)`);
  return m;
}

// Hugging Face config.json <-> hcx ModelConfig, for the architectures hcx runs. Every field of the file is
// read: the ones that shape the computation map onto ModelConfig (absent ones take that architecture's
// transformers default), generic bookkeeping fields (dtype, label maps, generation defaults) are ignored by
// name, and anything else, or a value hcx does not implement, is an error naming the file and the field.
import { type Architecture, ARCHITECTURES, type LayerType, type ModelConfig, DEFAULTS, headDimOf, parseModelConfig } from './config.js';
import type { RopeScaling } from './rope_scaling.js';
import { yarnAttentionFactor } from './rope_scaling.js';

const MODEL_TYPE: Record<Architecture, string> = {
  LlamaForCausalLM: 'llama', Qwen2ForCausalLM: 'qwen2', Qwen3ForCausalLM: 'qwen3', Exaone4ForCausalLM: 'exaone4', HyperCLOVAXForCausalLM: 'hyperclovax',
};

/** transformers' defaults for fields a config.json may leave out. */
const HF_DEFAULTS: Record<Architecture, { maxPos: number; eps: number; kvHeads: 'heads' | number; headDim: 'derived' | number }> = {
  LlamaForCausalLM: { maxPos: 2048, eps: 1e-6, kvHeads: 'heads', headDim: 'derived' },
  Qwen2ForCausalLM: { maxPos: 32768, eps: 1e-6, kvHeads: 32, headDim: 'derived' },
  Qwen3ForCausalLM: { maxPos: 32768, eps: 1e-6, kvHeads: 32, headDim: 128 },
  Exaone4ForCausalLM: { maxPos: 2048, eps: 1e-5, kvHeads: 32, headDim: 'derived' },
  HyperCLOVAXForCausalLM: { maxPos: 2048, eps: 1e-6, kvHeads: 'heads', headDim: 'derived' },
};

/** PretrainedConfig fields that do not change the model's computation. */
const GENERIC = new Set([
  'architectures', 'model_type', '_name_or_path', 'transformers_version', 'dtype', 'torch_dtype', 'use_cache', 'initializer_range',
  'bos_token_id', 'eos_token_id', 'pad_token_id', 'sep_token_id', 'decoder_start_token_id', 'id2label', 'label2id', 'problem_type',
  'return_dict', 'output_attentions', 'output_hidden_states', 'chunk_size_feed_forward', 'is_encoder_decoder', 'is_decoder',
  'add_cross_attention', 'cross_attention_hidden_size', 'tie_encoder_decoder', 'tokenizer_class', 'prefix', 'task_specific_params',
  'finetuning_task', 'pruned_heads', 'torchscript', 'use_bfloat16', 'tf_legacy_loss', 'output_scores', 'return_dict_in_generate',
  'max_length', 'min_length', 'do_sample', 'early_stopping', 'num_beams', 'num_beam_groups', 'diversity_penalty', 'temperature',
  'top_k', 'top_p', 'typical_p', 'repetition_penalty', 'length_penalty', 'no_repeat_ngram_size', 'encoder_no_repeat_ngram_size',
  'bad_words_ids', 'num_return_sequences', 'forced_bos_token_id', 'forced_eos_token_id', 'remove_invalid_values',
  'exponential_decay_length_penalty', 'suppress_tokens', 'begin_suppress_tokens', 'auto_map',
]);

/** Reads a config.json object, remembering which fields it used. */
class Fields {
  private readonly used = new Set<string>();
  constructor(readonly o: Record<string, unknown>, readonly where: string) {}

  has(k: string): boolean { return this.o[k] !== undefined; }
  raw(k: string): unknown { this.used.add(k); return this.o[k]; }
  fail(k: string, what: string): never { throw new Error(`${this.where}: field "${k}" ${what}, got ${JSON.stringify(this.o[k])}`); }

  int(k: string, dflt?: number): number {
    const v = this.raw(k) ?? dflt;
    if (!(Number.isInteger(v) && (v as number) > 0)) this.fail(k, v === undefined ? 'is required (a positive integer)' : 'must be a positive integer');
    return v as number;
  }
  num(k: string, dflt: number): number {
    const v = this.raw(k) ?? dflt;
    if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) this.fail(k, 'must be a positive number');
    return v;
  }
  bool(k: string, dflt: boolean): boolean {
    const v = this.raw(k) ?? dflt;
    if (typeof v !== 'boolean') this.fail(k, 'must be true or false');
    return v;
  }
  /** A field hcx supports with one value only (its default). */
  only(k: string, ok: (v: unknown) => boolean, what: string): void {
    const v = this.raw(k);
    if (v !== undefined && v !== null && !ok(v)) this.fail(k, `is not supported by hcx except as ${what}`);
  }
  unread(): string[] {
    return Object.keys(this.o).filter((k) => !this.used.has(k) && !GENERIC.has(k));
  }
}

function architectureOf(o: Record<string, unknown>, where: string): Architecture {
  const a = o.architectures;
  if (!Array.isArray(a) || a.length !== 1 || typeof a[0] !== 'string') {
    throw new Error(`${where}: field "architectures" must list one architecture, got ${JSON.stringify(a)}`);
  }
  const arch = a[0] as Architecture;
  if (!ARCHITECTURES.includes(arch)) throw new Error(`${where}: architecture ${arch} is not supported by hcx (supported: ${ARCHITECTURES.join(', ')})`);
  if (o.model_type !== undefined && o.model_type !== MODEL_TYPE[arch]) {
    throw new Error(`${where}: field "model_type" is ${JSON.stringify(o.model_type)} but ${arch} is "${MODEL_TYPE[arch]}"`);
  }
  return arch;
}

/** RoPE base, linear scale and frequency scaling from rope_parameters / rope_scaling / rope_theta. */
function readRope(f: Fields, maxPos: number): Pick<ModelConfig, 'ropeBase' | 'ropeScale' | 'ropeScaling'> {
  const scaling = f.raw('rope_scaling'), params = f.raw('rope_parameters'), theta = f.raw('rope_theta');
  const chosen = scaling || params || {};
  if (typeof chosen !== 'object' || Array.isArray(chosen)) f.fail(scaling ? 'rope_scaling' : 'rope_parameters', 'must be an object or null');
  const p = chosen as Record<string, unknown>;
  const field = scaling ? 'rope_scaling' : 'rope_parameters';
  const known = new Set(['rope_type', 'type', 'rope_theta', 'factor', 'partial_rotary_factor', 'low_freq_factor', 'high_freq_factor',
    'original_max_position_embeddings', 'attention_factor', 'beta_fast', 'beta_slow', 'mscale', 'mscale_all_dim', 'truncate']);
  for (const k of Object.keys(p)) if (!known.has(k)) throw new Error(`${f.where}: field "${field}.${k}" is not supported by hcx`);
  const ropeBase = (p.rope_theta ?? theta ?? 10000) as number;
  if (!(typeof ropeBase === 'number' && ropeBase > 0)) throw new Error(`${f.where}: RoPE theta must be a positive number, got ${JSON.stringify(ropeBase)}`);
  const prf = p.partial_rotary_factor ?? f.raw('partial_rotary_factor');
  if (prf !== undefined && prf !== null && prf !== 1) throw new Error(`${f.where}: partial_rotary_factor ${JSON.stringify(prf)} is not supported by hcx (only 1)`);
  const type = (p.rope_type ?? p.type ?? 'default') as string;
  const num = (k: string, dflt?: number): number => {
    const v = p[k] ?? dflt;
    if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) throw new Error(`${f.where}: field "${field}.${k}" must be a positive number, got ${JSON.stringify(p[k])}`);
    return v;
  };
  const origMax = (): number => {
    const top = f.raw('original_max_position_embeddings');
    return (top ?? p.original_max_position_embeddings ?? maxPos) as number;
  };
  if (type === 'default') return { ropeBase, ropeScale: 1, ropeScaling: null };
  if (type === 'linear') return { ropeBase, ropeScale: 1 / num('factor'), ropeScaling: null };
  let s: RopeScaling;
  if (type === 'llama3') {
    s = { type, factor: num('factor'), lowFreqFactor: num('low_freq_factor'), highFreqFactor: num('high_freq_factor'), originalMaxSeqLen: origMax() };
  } else if (type === 'yarn') {
    const original = origMax();
    const factor = p.factor === undefined || p.factor === null ? maxPos / original : num('factor');
    const af = p.attention_factor ?? yarnAttentionFactor(factor, p.mscale as number | undefined, p.mscale_all_dim as number | undefined);
    const truncate = p.truncate ?? true;
    if (typeof truncate !== 'boolean') throw new Error(`${f.where}: field "${field}.truncate" must be true or false`);
    // transformers treats a beta of 0 (or null) as unset.
    s = { type, factor, originalMaxSeqLen: original, betaFast: (p.beta_fast as number) || 32, betaSlow: (p.beta_slow as number) || 1, attentionFactor: af as number, truncate };
  } else {
    throw new Error(`${f.where}: RoPE type ${JSON.stringify(type)} (field "${field}") is not supported by hcx (supported: default, linear, llama3, yarn)`);
  }
  return { ropeBase, ropeScale: 1, ropeScaling: s };
}

/** Sliding-window layers of Qwen2/Qwen3 (use_sliding_window, max_window_layers) or EXAONE 4 (sliding_window_pattern). */
function readLayers(f: Fields, arch: Architecture, L: number): Pick<ModelConfig, 'slidingWindow' | 'layerTypes' | 'noRopeLayers'> {
  const qwen = arch === 'Qwen2ForCausalLM' || arch === 'Qwen3ForCausalLM';
  if (!qwen && arch !== 'Exaone4ForCausalLM') return { slidingWindow: null, layerTypes: null, noRopeLayers: [] };
  let window = f.raw('sliding_window') as number | null | undefined;
  if (window === undefined) window = 4096;
  if (qwen && !f.bool('use_sliding_window', false)) window = null;
  if (window !== null && !(Number.isInteger(window) && window > 0)) f.fail('sliding_window', 'must be a positive integer or null');
  let types: LayerType[];
  const given = f.raw('layer_types');
  if (given !== undefined && given !== null) {
    if (!Array.isArray(given) || given.length !== L) f.fail('layer_types', `must list ${L} layer types`);
    types = given.map((t, i) => {
      if (t === 'full_attention') return 'full';
      if (t === 'sliding_attention') return 'sliding';
      throw new Error(`${f.where}: field "layer_types[${i}]" is ${JSON.stringify(t)}; hcx supports full_attention and sliding_attention`);
    });
  } else if (qwen) {
    const from = f.int('max_window_layers', 28);
    types = Array.from({ length: L }, (_, i) => (window !== null && i >= from ? 'sliding' : 'full'));
  } else {
    const pattern = f.raw('sliding_window_pattern') ?? 4;
    if (window === null) types = Array(L).fill('full');
    else if (Number.isInteger(pattern) && (pattern as number) > 0) types = Array.from({ length: L }, (_, i) => ((i + 1) % (pattern as number) ? 'sliding' : 'full'));
    else f.fail('sliding_window_pattern', 'is supported as an integer, or with layer_types given');
  }
  if (qwen) f.raw('max_window_layers');
  if (arch === 'Exaone4ForCausalLM') f.raw('sliding_window_pattern');
  // EXAONE 4 with sliding layers leaves RoPE out of its global layers.
  const noRopeLayers = arch === 'Exaone4ForCausalLM' && window !== null ? types.flatMap((t, i) => (t === 'full' ? [i] : [])) : [];
  const sliding = types.includes('sliding') && window !== null;
  // EXAONE 4 keeps its window even without sliding layers: it is what turns RoPE off in the global ones.
  return { slidingWindow: sliding || noRopeLayers.length ? window : null, layerTypes: sliding ? types : null, noRopeLayers };
}

/** The hcx ModelConfig of a Hugging Face config.json (parsed), or an error naming `file` and the field. */
export function hfConfigToModelConfig(json: unknown, file: string): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${file}: expected a JSON object`);
  const o = json as Record<string, unknown>;
  const arch = architectureOf(o, file);
  const f = new Fields(o, file);
  const d = HF_DEFAULTS[arch];
  const nHeads = f.int('num_attention_heads');
  const dModel = f.int('hidden_size');
  const nLayers = f.int('num_hidden_layers');
  const maxSeqLen = f.int('max_position_embeddings', d.maxPos);
  const act = f.raw('hidden_act') ?? 'silu';
  if (act !== 'silu') f.fail('hidden_act', 'must be silu (SwiGLU)');
  f.only('attention_dropout', (v) => v === 0, '0 (hcx has no dropout)');
  f.only('pretraining_tp', (v) => Number.isInteger(v) && (v as number) >= 1, 'a positive integer');
  f.only('quantization_config', () => false, 'absent (weights must be unquantised)');
  const headDim = f.int('head_dim', d.headDim === 'derived' ? Math.floor(dModel / nHeads) : d.headDim);
  const llamaLike = arch === 'LlamaForCausalLM' || arch === 'HyperCLOVAXForCausalLM';
  const attnBias = arch === 'Qwen2ForCausalLM' ? false : arch === 'Exaone4ForCausalLM' ? false : f.bool('attention_bias', false);
  const hcx = arch === 'HyperCLOVAXForCausalLM';
  const c: ModelConfig = {
    ...DEFAULTS,
    architecture: arch,
    vocabSize: f.int('vocab_size'),
    dModel, nLayers, nHeads,
    nKvHeads: f.int('num_key_value_heads', d.kvHeads === 'heads' ? nHeads : d.kvHeads),
    headDim: headDim === dModel / nHeads ? null : headDim,
    ffnHidden: f.int('intermediate_size'),
    maxSeqLen,
    ...readRope(f, maxSeqLen),
    normEps: f.num('rms_norm_eps', d.eps),
    tieEmbeddings: f.bool('tie_word_embeddings', false),
    qkvBias: arch === 'Qwen2ForCausalLM' || attnBias,
    oBias: attnBias,
    mlpBias: llamaLike ? f.bool('mlp_bias', false) : false,
    qkNorm: arch === 'Qwen3ForCausalLM' || arch === 'Exaone4ForCausalLM',
    preNorm: arch !== 'Exaone4ForCausalLM',
    postNorm: arch === 'Exaone4ForCausalLM' || (hcx && f.bool('use_post_norm', true)),
    embeddingMultiplier: hcx ? f.num('embedding_multiplier', 1) : 1,
    attentionMultiplier: hcx && f.has('attention_multiplier') && f.raw('attention_multiplier') !== null ? f.num('attention_multiplier', 1) : null,
    residualMultiplier: hcx ? f.num('residual_multiplier', 1) : 1,
    logitsScaling: hcx ? f.num('logits_scaling', 1) : 1,
    ...readLayers(f, arch, nLayers),
  };
  if (hcx) f.raw('attention_multiplier');
  const left = f.unread();
  if (left.length) throw new Error(`${file}: field "${left[0]}" is not supported by hcx for ${arch}${left.length > 1 ? ` (nor ${left.slice(1).map((k) => `"${k}"`).join(', ')})` : ''}`);
  return parseModelConfig(c, file);
}

export interface HfTokenIds { bos: number | null; eos: number[]; pad: number | null }

/** bos/eos/pad ids of a config.json (eos may be one id or a list). */
export function hfTokenIds(json: Record<string, unknown>, file: string): HfTokenIds {
  const one = (k: string): number | null => {
    const v = json[k];
    if (v === undefined || v === null) return null;
    if (!Number.isInteger(v) || (v as number) < 0) throw new Error(`${file}: field "${k}" must be a token id or null, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const e = json.eos_token_id;
  const eos = e === undefined || e === null ? [] : Array.isArray(e) ? e : [e];
  for (const id of eos) if (!Number.isInteger(id) || id < 0) throw new Error(`${file}: field "eos_token_id" must be a token id or a list of them, got ${JSON.stringify(e)}`);
  return { bos: one('bos_token_id'), eos: eos as number[], pad: one('pad_token_id') };
}

/** Why `c` cannot be written as its architecture's config.json, or null. */
function inexpressible(c: ModelConfig): string | null {
  const a = c.architecture;
  const no = (field: keyof ModelConfig, v: unknown): string | null => (JSON.stringify(c[field]) !== JSON.stringify(v) ? `field "${field}" must be ${JSON.stringify(v)} for ${a}` : null);
  const checks: (string | null)[] = [];
  const llamaLike = a === 'LlamaForCausalLM' || a === 'HyperCLOVAXForCausalLM';
  if (llamaLike || a === 'Qwen3ForCausalLM') checks.push(c.qkvBias !== c.oBias ? `fields "qkvBias" and "oBias" must agree for ${a} (one attention_bias)` : null);
  if (a === 'Qwen2ForCausalLM') checks.push(no('qkvBias', true), no('oBias', false));
  if (a === 'Exaone4ForCausalLM') checks.push(no('qkvBias', false), no('oBias', false), no('preNorm', false), no('postNorm', true));
  else checks.push(no('preNorm', true));
  if (!llamaLike) checks.push(no('mlpBias', false));
  checks.push(no('qkNorm', a === 'Qwen3ForCausalLM' || a === 'Exaone4ForCausalLM'));
  if (a !== 'HyperCLOVAXForCausalLM') {
    checks.push(no('postNorm', a === 'Exaone4ForCausalLM'), no('embeddingMultiplier', 1), no('attentionMultiplier', null), no('residualMultiplier', 1), no('logitsScaling', 1));
  }
  if (c.ropeScaling && c.ropeScale !== 1) checks.push('fields "ropeScale" and "ropeScaling" cannot both be set in a Hugging Face config');
  if (a === 'Exaone4ForCausalLM') {
    const want = c.slidingWindow === null ? [] : (c.layerTypes ?? []).flatMap((t, i) => (t === 'full' ? [i] : []));
    checks.push(no('noRopeLayers', want));
  } else checks.push(no('noRopeLayers', []));
  if (a === 'LlamaForCausalLM' || a === 'HyperCLOVAXForCausalLM') checks.push(no('slidingWindow', null));
  return checks.find((x) => x !== null) ?? null;
}

/** The config.json of `c` as its architecture (the reverse of hfConfigToModelConfig, used by export). */
export function modelConfigToHf(c: ModelConfig, ids: { bos: number | null; eos: number | number[]; pad: number | null }, dtype: 'float32' | 'float16' | 'bfloat16' = 'float32'): Record<string, unknown> {
  const why = inexpressible(c);
  if (why) throw new Error(`export: ${why}`);
  const a = c.architecture;
  const ropeParameters: Record<string, unknown> = { rope_theta: c.ropeBase, rope_type: 'default' };
  // hcx multiplies positions by ropeScale; HF's linear scaling divides them by factor.
  if (c.ropeScale !== 1) Object.assign(ropeParameters, { rope_type: 'linear', factor: 1 / c.ropeScale });
  const s = c.ropeScaling;
  if (s?.type === 'llama3') Object.assign(ropeParameters, { rope_type: 'llama3', factor: s.factor, low_freq_factor: s.lowFreqFactor, high_freq_factor: s.highFreqFactor, original_max_position_embeddings: s.originalMaxSeqLen });
  if (s?.type === 'yarn') Object.assign(ropeParameters, { rope_type: 'yarn', factor: s.factor, original_max_position_embeddings: s.originalMaxSeqLen, beta_fast: s.betaFast, beta_slow: s.betaSlow, attention_factor: s.attentionFactor, truncate: s.truncate });
  const cfg: Record<string, unknown> = {
    architectures: [a],
    model_type: MODEL_TYPE[a],
    vocab_size: c.vocabSize,
    hidden_size: c.dModel,
    intermediate_size: c.ffnHidden,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    head_dim: headDimOf(c),
    hidden_act: 'silu',
    max_position_embeddings: c.maxSeqLen,
    rms_norm_eps: c.normEps,
    rope_parameters: ropeParameters,
    // Older readers (and llama.cpp's converter) look for these two.
    rope_theta: c.ropeBase,
    rope_scaling: ropeParameters.rope_type === 'default' ? null : { ...ropeParameters, rope_theta: undefined, type: ropeParameters.rope_type },
    tie_word_embeddings: c.tieEmbeddings,
    attention_dropout: 0,
    initializer_range: 0.02,
    use_cache: true,
    bos_token_id: ids.bos,
    eos_token_id: ids.eos,
    pad_token_id: ids.pad,
    torch_dtype: dtype,
  };
  if (a === 'LlamaForCausalLM' || a === 'HyperCLOVAXForCausalLM') Object.assign(cfg, { attention_bias: c.qkvBias, mlp_bias: c.mlpBias });
  if (a === 'LlamaForCausalLM') cfg.pretraining_tp = 1;
  if (a === 'Qwen3ForCausalLM') cfg.attention_bias = c.qkvBias;
  if (a === 'HyperCLOVAXForCausalLM') {
    Object.assign(cfg, { embedding_multiplier: c.embeddingMultiplier, residual_multiplier: c.residualMultiplier, logits_scaling: c.logitsScaling,
      use_post_norm: c.postNorm });
    // Left out, transformers resolves it to 1/sqrt(head_dim), as hcx does.
    if (c.attentionMultiplier !== null) cfg.attention_multiplier = c.attentionMultiplier;
  }
  const types = c.layerTypes ?? Array(c.nLayers).fill('full');
  if (a === 'Qwen2ForCausalLM' || a === 'Qwen3ForCausalLM') {
    const sliding = c.slidingWindow !== null;
    Object.assign(cfg, { use_sliding_window: sliding, sliding_window: c.slidingWindow, max_window_layers: c.nLayers });
  }
  if (a === 'Exaone4ForCausalLM') cfg.sliding_window = c.slidingWindow;
  if (a !== 'LlamaForCausalLM' && a !== 'HyperCLOVAXForCausalLM') cfg.layer_types = types.map((t) => (t === 'sliding' ? 'sliding_attention' : 'full_attention'));
  return cfg;
}

// A llama.cpp GGUF model as a Hugging Face checkpoint: its metadata as a config.json-like object and its tensors
// under Hugging Face names and shapes, dequantised to float32 or bf16. The inverse of convert_hf_to_gguf.py for
// the architectures hcx runs (names as in llama.cpp's src/llama-arch.cpp and gguf-py's tensor_mapping.py):
//
//   general.architecture  HF architecture        notes
//   llama                 LlamaForCausalLM       Q/K rows were permuted for llama.cpp's adjacent-pair RoPE: undone
//                                                (HyperCLOVA X SEED Text Instruct 0.5B / 1.5B GGUFs are llama)
//   qwen2                 Qwen2ForCausalLM       Q/K/V biases; rotate-half RoPE kept as is (no permutation)
//   qwen3                 Qwen3ForCausalLM       per-head Q/K RMSNorm (attn_q_norm / attn_k_norm)
//   exaone4               Exaone4ForCausalLM     post-norms only (post_attention_norm, post_ffw_norm), Q/K norms,
//                                                sliding-window pattern -> layer_types
// HyperCLOVA X SEED Think (HyperCLOVAXForCausalLM: Peri-LN, muP multipliers) has no llama.cpp architecture
// (none in llama-arch.cpp), so no GGUF of it exists to import. Anything else is an error naming it.
//
// Interface (what openModel consumes):
//   openGgufModel(file) -> GgufModelReader   lazy: config, metadata, entries (hfName -> shape, ggml type,
//                                            GGUF name); read(hfName, as, into?)
//   readGgufModel(file, { as, names }) -> { config, tensors: Map<hfName, StTensor>, metadata, source }
// `file` is a .gguf, or any part of a split one. `as` is 'f32' (default) or 'bf16'. `metadata` is the GGUF's
// own key/value map (tokenizer.ggml.* included, for the tokenizer import). config keys are the ones the
// architecture's config.json has: architectures, model_type, hidden_size, intermediate_size,
// num_attention_heads, num_key_value_heads, head_dim (not for qwen2), num_hidden_layers, rms_norm_eps,
// rope_theta, rope_scaling (null, linear, yarn, or llama3 rebuilt from the rope_freqs tensor),
// max_position_embeddings, vocab_size, tie_word_embeddings, hidden_act, bos/eos/pad_token_id,
// attention_bias / mlp_bias (llama, qwen3), use_sliding_window (qwen2/3), sliding_window + layer_types (exaone4).
import { unpermuteRopeRows } from '../gguf.js';
import type { StTensor } from '../safetensors.js';
import { GgufReader, type GgufTensorInfo } from './reader.js';
import { ggmlLayout, ggmlTypeName, shortestF32, type GgufValue } from './types.js';
import { llama3FromRopeFreqs } from './rope_freqs.js';

export const GGUF_ARCHITECTURES: Record<string, { hf: string; modelType: string; block: Record<string, string>; permuteQK: boolean }> = {};
const PROJ: Record<string, string> = {
  attn_q: 'self_attn.q_proj', attn_k: 'self_attn.k_proj', attn_v: 'self_attn.v_proj', attn_output: 'self_attn.o_proj',
  ffn_gate: 'mlp.gate_proj', ffn_up: 'mlp.up_proj', ffn_down: 'mlp.down_proj',
};
const PRE_NORMS = { attn_norm: 'input_layernorm', ffn_norm: 'post_attention_layernorm' };
const QK_NORMS = { attn_q_norm: 'self_attn.q_norm', attn_k_norm: 'self_attn.k_norm' };
GGUF_ARCHITECTURES.llama = { hf: 'LlamaForCausalLM', modelType: 'llama', block: { ...PROJ, ...PRE_NORMS }, permuteQK: true };
GGUF_ARCHITECTURES.qwen2 = { hf: 'Qwen2ForCausalLM', modelType: 'qwen2', block: { ...PROJ, ...PRE_NORMS }, permuteQK: false };
GGUF_ARCHITECTURES.qwen3 = { hf: 'Qwen3ForCausalLM', modelType: 'qwen3', block: { ...PROJ, ...PRE_NORMS, ...QK_NORMS }, permuteQK: false };
GGUF_ARCHITECTURES.exaone4 = {
  hf: 'Exaone4ForCausalLM', modelType: 'exaone4', permuteQK: false,
  block: { ...PROJ, ...QK_NORMS, post_attention_norm: 'post_attention_layernorm', post_ffw_norm: 'post_feedforward_layernorm' },
};
const GLOBAL: Record<string, string> = { 'token_embd.weight': 'model.embed_tokens.weight', 'output_norm.weight': 'model.norm.weight', 'output.weight': 'lm_head.weight' };
const NORM_LIKE = /norm$/;

/** One imported tensor: where it comes from and its Hugging Face shape. */
export interface GgufImportEntry {
  hfName: string;
  ggufName: string;
  /** Hugging Face shape (the GGUF dims reversed): [out, in] for a projection. */
  shape: number[];
  /** ggml type id of the stored data. */
  type: number;
  /** Heads whose Q/K rows are un-permuted on reading (llama), else null. */
  unpermuteHeads: number | null;
}

export interface GgufModelSource { files: string[]; architecture: string; fileType: number | null; version: number }

export interface GgufModel {
  config: Record<string, unknown>;
  tensors: Map<string, StTensor>;
  metadata: Map<string, GgufValue>;
  source: GgufModelSource;
}

/** Typed metadata access with errors naming the file and key. */
class Meta {
  constructor(private readonly m: Map<string, GgufValue>, private readonly file: string) {}
  has(key: string): boolean { return this.m.has(key); }
  num(key: string): number | undefined {
    const v = this.m.get(key);
    if (v === undefined) return undefined;
    if (v.type === 9) throw new Error(`${this.file}: metadata ${JSON.stringify(key)} is an array (per-layer values), which hcx does not support`);
    if (typeof v.value !== 'number' && typeof v.value !== 'bigint') throw new Error(`${this.file}: metadata ${JSON.stringify(key)} must be a number, got ${JSON.stringify(v.value)}`);
    // float32 values as the shortest decimal that is the same float32 (1e-5, not 9.999999747378752e-6).
    return v.type === 6 ? shortestF32(Number(v.value)) : Number(v.value);
  }
  need(key: string): number {
    const v = this.num(key);
    if (v === undefined) throw new Error(`${this.file}: metadata ${JSON.stringify(key)} is missing`);
    return v;
  }
  str(key: string): string | undefined {
    const v = this.m.get(key);
    if (v === undefined) return undefined;
    if (v.type !== 8) throw new Error(`${this.file}: metadata ${JSON.stringify(key)} must be a string`);
    return v.value as string;
  }
  bools(key: string): boolean[] | undefined {
    const v = this.m.get(key);
    if (v === undefined) return undefined;
    if (v.type !== 9 || v.itemType !== 7) throw new Error(`${this.file}: metadata ${JSON.stringify(key)} must be an array of booleans`);
    return v.value as boolean[];
  }
}

/** GGUF tensor name -> Hugging Face name for `arch`, or null for rope_freqs (folded into the config). */
function hfName(arch: string, name: string, nLayers: number, file: string): string | null {
  if (name === 'rope_freqs.weight') return null;
  if (GLOBAL[name]) return GLOBAL[name];
  const m = /^blk\.(\d+)\.([a-z_]+)\.(weight|bias)$/.exec(name);
  const base = m ? GGUF_ARCHITECTURES[arch].block[m[2]] : undefined;
  if (!m || !base || (m[3] === 'bias' && NORM_LIKE.test(m[2]))) throw new Error(`${file}: tensor ${JSON.stringify(name)} has no Hugging Face name in architecture ${arch} (hcx imports dense ${arch} models)`);
  if (Number(m[1]) >= nLayers) throw new Error(`${file}: tensor ${JSON.stringify(name)} is past block_count ${nLayers}`);
  return `model.layers.${m[1]}.${base}.${m[3]}`;
}

/** An open GGUF model seen as a Hugging Face checkpoint; tensors read on demand. */
export class GgufModelReader {
  readonly config: Record<string, unknown>;
  readonly entries = new Map<string, GgufImportEntry>();
  readonly source: GgufModelSource;

  private constructor(private readonly r: GgufReader) {
    const file = r.files[0];
    const meta = new Meta(r.metadata, file);
    const arch = meta.str('general.architecture');
    if (arch === undefined) throw new Error(`${file}: metadata "general.architecture" is missing`);
    const spec = GGUF_ARCHITECTURES[arch];
    if (!spec) throw new Error(`${file}: GGUF architecture ${JSON.stringify(arch)} is not supported (hcx imports ${Object.keys(GGUF_ARCHITECTURES).join(', ')})`);
    const nLayers = meta.need(`${arch}.block_count`);
    for (const t of r.tensors.values()) {
      const name = hfName(arch, t.name, nLayers, t.file);
      if (name === null) continue;
      if (!ggmlLayout(t.type)) throw new Error(`${t.file}: tensor ${JSON.stringify(t.name)} has ggml type ${ggmlTypeName(t.type)}, which hcx does not read`);
      this.entries.set(name, { hfName: name, ggufName: t.name, shape: [...t.dims].reverse(), type: t.type, unpermuteHeads: null });
    }
    this.config = buildConfig(arch, meta, r, file, nLayers);
    const heads = this.config.num_attention_heads as number, kv = this.config.num_key_value_heads as number;
    const hd = this.config.head_dim as number ?? (this.config.hidden_size as number) / heads;
    checkShapes(this.entries, this.config, hd, file);
    if (spec.permuteQK) {
      for (const e of this.entries.values()) {
        if (/\.self_attn\.q_proj\./.test(e.hfName)) e.unpermuteHeads = heads;
        else if (/\.self_attn\.k_proj\./.test(e.hfName)) e.unpermuteHeads = kv;
      }
    }
    const ft = meta.num('general.file_type');
    this.source = { files: r.files, architecture: arch, fileType: ft ?? null, version: r.version };
  }

  static open(file: string): GgufModelReader {
    const r = GgufReader.open(file);
    try {
      return new GgufModelReader(r);
    } catch (e) {
      r.close();
      throw e;
    }
  }

  get metadata(): Map<string, GgufValue> { return this.r.metadata; }

  entry(name: string): GgufImportEntry {
    const e = this.entries.get(name);
    if (!e) throw new Error(`${this.r.files[0]}: no tensor maps to ${JSON.stringify(name)}`);
    return e;
  }

  /** One tensor under its Hugging Face name, dequantised (and un-permuted) to float32 or bf16, into `into` when given. */
  read(name: string, as: 'f32' | 'bf16' = 'f32', into?: Float32Array | Uint16Array): StTensor {
    const e = this.entry(name);
    let data: Float32Array | Uint16Array;
    if (e.unpermuteHeads === null) data = this.r.read(e.ggufName, as, into);
    else {
      const rows = e.shape[0], cols = e.shape.length > 1 ? e.shape[1] : 1;
      const w = unpermuteRopeRows(this.r.read(e.ggufName, as), e.unpermuteHeads, rows / e.unpermuteHeads, cols);
      if (into) {
        if ((as === 'f32') !== into instanceof Float32Array || into.length !== w.length) throw new Error(`${this.r.files[0]}: ${name} read as ${as} needs ${w.length} values in a ${as === 'f32' ? 'Float32Array' : 'Uint16Array'}`);
        into.set(w);
        data = into;
      } else data = w;
    }
    return { dtype: as === 'f32' ? 'F32' : 'BF16', shape: [...e.shape], data };
  }

  close(): void { this.r.close(); }
}

function buildConfig(arch: string, meta: Meta, r: GgufReader, file: string, nLayers: number): Record<string, unknown> {
  const spec = GGUF_ARCHITECTURES[arch];
  const k = (s: string): string => `${arch}.${s}`;
  const hidden = meta.need(k('embedding_length'));
  const heads = meta.need(k('attention.head_count'));
  const kvHeads = meta.num(k('attention.head_count_kv')) ?? heads;
  const headDim = meta.num(k('attention.key_length')) ?? hidden / heads;
  const valueDim = meta.num(k('attention.value_length')) ?? headDim;
  if (valueDim !== headDim) throw new Error(`${file}: metadata ${k('attention.value_length')} ${valueDim} differs from the key length ${headDim}, which hcx does not support`);
  const ropeDim = meta.num(k('rope.dimension_count')) ?? headDim;
  if (ropeDim !== headDim) throw new Error(`${file}: metadata ${k('rope.dimension_count')} ${ropeDim} differs from the head dimension ${headDim} (partial rotary embeddings), which hcx does not support`);
  const embd = r.tensors.get('token_embd.weight');
  if (!embd) throw new Error(`${file}: tensor "token_embd.weight" is missing`);
  const theta = meta.num(k('rope.freq_base')) ?? 10000;
  const has = (t: string): boolean => r.tensors.has(`blk.0.${t}`);
  const tok = (key: string): number | null => meta.num(`tokenizer.ggml.${key}`) ?? null;
  const c: Record<string, unknown> = {
    architectures: [spec.hf],
    model_type: spec.modelType,
    hidden_size: hidden,
    intermediate_size: meta.need(k('feed_forward_length')),
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    num_hidden_layers: nLayers,
    hidden_act: 'silu',
    rms_norm_eps: meta.need(k('attention.layer_norm_rms_epsilon')),
    rope_theta: theta,
    rope_scaling: ropeScaling(arch, meta, r, theta, headDim, file),
    max_position_embeddings: meta.need(k('context_length')),
    vocab_size: embd.dims[1],
    tie_word_embeddings: !r.tensors.has('output.weight'),
    bos_token_id: tok('bos_token_id'),
    eos_token_id: tok('eos_token_id'),
    pad_token_id: tok('padding_token_id'),
  };
  if (arch === 'llama') { c.attention_bias = has('attn_q.bias'); c.mlp_bias = has('ffn_up.bias'); }
  if (arch === 'qwen2') {
    if (headDim !== hidden / heads) throw new Error(`${file}: head dimension ${headDim} is not hidden_size / heads (${hidden / heads}), which a Qwen2 config cannot express`);
    delete c.head_dim;
  }
  if (arch === 'qwen3') c.attention_bias = has('attn_q.bias');
  if (arch === 'qwen2' || arch === 'qwen3') c.use_sliding_window = false;
  if (arch === 'exaone4') {
    const window = meta.num(k('attention.sliding_window')) ?? null;
    const pattern = meta.bools(k('attention.sliding_window_pattern'));
    if (pattern && pattern.length !== nLayers) throw new Error(`${file}: metadata ${k('attention.sliding_window_pattern')} has ${pattern.length} entries for ${nLayers} layers`);
    c.sliding_window = window;
    c.layer_types = Array.from({ length: nLayers }, (_, i) => (window !== null && (pattern ? pattern[i] : false) ? 'sliding_attention' : 'full_attention'));
  }
  return c;
}

function ropeScaling(arch: string, meta: Meta, r: GgufReader, theta: number, headDim: number, file: string): Record<string, unknown> | null {
  const k = (s: string): string => `${arch}.rope.scaling.${s}`;
  const type = meta.str(k('type'));
  const freqs = r.tensors.get('rope_freqs.weight');
  if (freqs && type !== undefined && type !== 'none') throw new Error(`${file}: both a rope_freqs tensor and ${k('type')} ${type}`);
  if (freqs) return llama3FromRopeFreqs(r.read(freqs.name, 'f32') as Float32Array, theta, headDim, freqs.file);
  const scaleLinear = meta.num(`${arch}.rope.scale_linear`);
  if ((type === undefined || type === 'none') && scaleLinear === undefined) return null;
  if (type === 'linear' || (type === undefined && scaleLinear !== undefined)) return { rope_type: 'linear', factor: meta.num(k('factor')) ?? scaleLinear };
  if (type === 'yarn') {
    const out: Record<string, unknown> = { rope_type: 'yarn', factor: meta.need(k('factor')), original_max_position_embeddings: meta.need(k('original_context_length')) };
    const opt: [string, string][] = [['yarn_beta_fast', 'beta_fast'], ['yarn_beta_slow', 'beta_slow'], ['yarn_ext_factor', 'extrapolation_factor'], ['yarn_attn_factor', 'attention_factor']];
    for (const [g, h] of opt) { const v = meta.num(k(g)); if (v !== undefined) out[h] = v; }
    return out;
  }
  throw new Error(`${file}: metadata ${k('type')} ${JSON.stringify(type)} is not supported (none, linear, yarn)`);
}

/** The projections' and embeddings' shapes against the config: a mismatch names the tensor. */
function checkShapes(entries: Map<string, GgufImportEntry>, c: Record<string, unknown>, hd: number, file: string): void {
  const h = c.hidden_size as number, ff = c.intermediate_size as number, v = c.vocab_size as number;
  const q = (c.num_attention_heads as number) * hd, kv = (c.num_key_value_heads as number) * hd;
  const want: Record<string, number[]> = {
    'self_attn.q_proj.weight': [q, h], 'self_attn.k_proj.weight': [kv, h], 'self_attn.v_proj.weight': [kv, h], 'self_attn.o_proj.weight': [h, q],
    'mlp.gate_proj.weight': [ff, h], 'mlp.up_proj.weight': [ff, h], 'mlp.down_proj.weight': [h, ff],
    'self_attn.q_proj.bias': [q], 'self_attn.k_proj.bias': [kv], 'self_attn.v_proj.bias': [kv],
  };
  for (const e of entries.values()) {
    const m = /^model\.layers\.\d+\.(.+)$/.exec(e.hfName);
    const w = m ? want[m[1]] : e.hfName === 'model.embed_tokens.weight' || e.hfName === 'lm_head.weight' ? [v, h] : undefined;
    if (w && w.join(',') !== e.shape.join(',')) throw new Error(`${file}: tensor ${JSON.stringify(e.ggufName)} has dims [${[...e.shape].reverse()}], the metadata implies [${[...w].reverse()}]`);
  }
}

export const openGgufModel = (file: string): GgufModelReader => GgufModelReader.open(file);

/** Every tensor (or those `names` accepts) of a GGUF model under Hugging Face names, with its config and metadata. */
export function readGgufModel(file: string, opts: { as?: 'f32' | 'bf16'; names?: (hfName: string) => boolean } = {}): GgufModel {
  const m = GgufModelReader.open(file);
  try {
    const tensors = new Map<string, StTensor>();
    for (const name of m.entries.keys()) if (!opts.names || opts.names(name)) tensors.set(name, m.read(name, opts.as ?? 'f32'));
    return { config: m.config, tensors, metadata: m.metadata, source: m.source };
  } finally {
    m.close();
  }
}

export type { GgufTensorInfo };

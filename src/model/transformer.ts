// The HCX-style decoder: token embedding, the decoder blocks (src/model/block.ts, the one layer loop),
// a final RMSNorm and the output projection. Parameters carry Hugging Face Llama names (src/model/params.ts),
// so checkpoints export without renaming. A model is built with random weights (training from scratch) or
// from given tensors (Transformer.fromTensors: checkpoints and imports, no initialisation cost), with fp32
// master weights or, for inference only, bf16-only packed weights.
import { F, Rng, Tensor, parameter, noGrad, fromData, isGradEnabled } from '../tensor/index.js';
import { native } from '../native/index.js';
import { type ModelConfig, attentionScaleOf, headDimOf, layerWindow, parameterCount } from './config.js';
import type { KVCache } from './kv_cache.js';
import { type AttentionBackend, CachedAttention, PackedAttention, fullCausal, segmentPositions } from './attention_backends.js';
import { type DecoderModel, type LayerWeights, runDecoder } from './block.js';
import { type ParamSpec, parameterSpecs } from './params.js';
import { ropeFrequencies } from './rope_scaling.js';
import { PackedWeight, type Weight, type WeightData, type WeightFormat, packWeight, weightFloats } from './weights.js';

export { parameterSpecs, type ParamSpec } from './params.js';

const affine = (native as unknown as { affine(x: Float32Array, y: Float32Array, scale: number, shift: number): void }).affine;

export interface ForwardOptions {
  /** Position of every token [B*T] (default 0..T-1 per row, continuing the KV cache, or restarting per document). */
  positions?: Int32Array;
  /** Decode with (and append to) this cache; inference only. */
  cache?: KVCache;
  /** Packed documents: a token attends only to earlier tokens with its segment id ([B*T], one run per document). */
  segmentIds?: Int32Array;
  /** Return only the last position's logits ([B, 1, V]): all generation needs. */
  lastOnly?: boolean;
}

/** Where a model's parameters come from: each is asked for once, in parameterSpecs order. */
export type WeightSource = (name: string, shape: readonly number[]) => WeightData;

export class Transformer implements DecoderModel {
  /** The fp32 parameters (all of them, or with bf16-only weights the norms and biases). */
  readonly params = new Map<string, Tensor>();
  /** Matrices held only as packed bf16 (empty unless built with format 'bf16'). */
  readonly packed = new Map<string, PackedWeight>();
  readonly layers: LayerWeights[] = [];
  readonly headDim: number;
  readonly attentionScale: number;
  readonly ropeOptions: DecoderModel['ropeOptions'];
  private dtype: 'f32' | 'bf16' = 'f32';
  /** Adds to each projection's output (LoRA adapters, src/model/lora.ts); none by default. */
  adapter?: { apply(x: Tensor, w: Tensor, y: Tensor): Tensor };

  /**
   * A model with freshly initialised weights (normal, std 0.02; residual outputs scaled by 1/sqrt(2L)), or,
   * given `source`, with its tensors (format 'bf16': matrices packed in bf16 with no fp32 copy, inference only).
   */
  constructor(readonly config: ModelConfig, seed = 1234, source?: WeightSource, format: WeightFormat = 'f32') {
    const c = config;
    this.headDim = headDimOf(c);
    this.attentionScale = attentionScaleOf(c);
    const freq = ropeFrequencies(c.ropeScaling, c.ropeBase, this.headDim);
    this.ropeOptions = { base: c.ropeBase, positionScale: c.ropeScale, ...(freq ? { invFreq: freq.invFreq, factor: freq.attentionFactor } : {}) };
    const rng = new Rng(seed);
    const std = 0.02, scaled = std / Math.sqrt(2 * c.nLayers);
    const weights = new Map<string, Weight>();
    for (const s of parameterSpecs(c)) weights.set(s.name, source ? this.adopt(s, source(s.name, s.shape), format) : this.init(s, rng, std, scaled));
    if (format === 'bf16') this.dtype = 'bf16';
    const w = (n: string): Weight => weights.get(n)!;
    const v = (n: string): Tensor | null => (weights.get(n) as Tensor | undefined) ?? null;
    for (let i = 0; i < c.nLayers; i++) {
      const p = `model.layers.${i}.`;
      this.layers.push({
        ln1: v(p + 'input_layernorm.weight'), ln2: v(p + 'post_attention_layernorm.weight'),
        wq: w(p + 'self_attn.q_proj.weight'), wk: w(p + 'self_attn.k_proj.weight'), wv: w(p + 'self_attn.v_proj.weight'), wo: w(p + 'self_attn.o_proj.weight'),
        bq: v(p + 'self_attn.q_proj.bias'), bk: v(p + 'self_attn.k_proj.bias'), bv: v(p + 'self_attn.v_proj.bias'), bo: v(p + 'self_attn.o_proj.bias'),
        qNorm: v(p + 'self_attn.q_norm.weight'), kNorm: v(p + 'self_attn.k_norm.weight'),
        post1: v(p + 'post_norm1.weight'), post2: v(p + 'post_norm2.weight'),
        wg: w(p + 'mlp.gate_proj.weight'), wu: w(p + 'mlp.up_proj.weight'), wd: w(p + 'mlp.down_proj.weight'),
        bg: v(p + 'mlp.gate_proj.bias'), bu: v(p + 'mlp.up_proj.bias'), bd: v(p + 'mlp.down_proj.bias'),
        rope: !c.noRopeLayers.includes(i), attention: { scale: this.attentionScale, window: layerWindow(c, i) },
      });
    }
  }

  /**
   * A model built from existing tensors without random initialisation: `get` is asked for each parameter once
   * (hcx names, parameterSpecs order) and may free its source afterwards. 'f32' adopts float32 data without a
   * copy (other dtypes are widened); 'bf16' packs every matrix in bf16 (bf16 data directly), keeping no fp32
   * copy: half the memory, for serving and evaluation (training needs 'f32').
   */
  static fromTensors(config: ModelConfig, get: WeightSource, format: WeightFormat = 'f32'): Transformer {
    return new Transformer(config, 0, get, format);
  }

  private init(s: ParamSpec, rng: Rng, std: number, scaled: number): Tensor {
    const t = parameter(s.shape, (d) => (s.init === 'ones' ? d.fill(1) : s.init === 'zeros' ? d.fill(0) : rng.fillNormal(d, s.init === 'scaled' ? scaled : std)), s.name);
    this.params.set(s.name, t);
    return t;
  }

  private adopt(s: ParamSpec, d: WeightData, format: WeightFormat): Weight {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const len = d instanceof Float32Array ? d.length : d.data.length;
    if (!(d instanceof Float32Array) && d.shape.join(',') !== s.shape.join(',')) throw new Error(`${s.name} has shape [${d.shape}], the config needs [${s.shape}]`);
    if (len !== n) throw new Error(`${s.name} has ${len} values, the config needs [${s.shape}]`);
    if (format === 'bf16' && s.shape.length === 2) {
      const pw = packWeight(d, s.shape[0], s.shape[1], s.name);
      this.packed.set(s.name, pw);
      return pw;
    }
    const t = fromData(weightFloats(d), s.shape, format === 'f32');
    t.name = s.name;
    this.params.set(s.name, t);
    return t;
  }

  /** The fp32 parameter `name` (a bf16-only model has only its norms and biases). */
  param(name: string): Tensor {
    const t = this.params.get(name);
    if (!t) throw new Error(this.packed.has(name) ? `${name} is held only as packed bf16 (an inference-only model)` : `model has no parameter ${name}`);
    return t;
  }

  /** The trainable parameters (what an optimizer updates); a bf16-only model has none. */
  parameters(): Tensor[] {
    if (this.bf16Only) throw new Error('a model with bf16-only inference weights cannot be trained; load it with fp32 weights');
    return [...this.params.values()];
  }

  get numParameters(): number {
    return parameterCount(this.config).total;
  }

  /** True when the matrices are held only in packed bf16 (built with format 'bf16'): inference only. */
  get bf16Only(): boolean {
    return this.packed.size > 0;
  }

  /** 'bf16': every projection multiplies in bf16 (fp32 master weights, fp32 accumulation); 'f32' by default. */
  get computeDtype(): 'f32' | 'bf16' {
    return this.dtype;
  }

  set computeDtype(d: 'f32' | 'bf16') {
    if (d !== 'bf16' && this.bf16Only) throw new Error('a model with bf16-only weights multiplies in bf16');
    this.dtype = d;
  }

  get finalNorm(): Tensor {
    return this.param('model.norm.weight');
  }

  private weight(name: string): Weight {
    return this.packed.get(name) ?? this.param(name);
  }

  private get outputWeight(): Weight {
    return this.weight(this.config.tieEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight');
  }

  /** A projection x W^T (+ bias) in the model's compute dtype (bf16: pre-packed weights when no gradient is recorded). */
  lin(x: Tensor, w: Weight, bias?: Tensor | null): Tensor {
    let y = w instanceof PackedWeight ? w.apply(x) : this.dtype === 'bf16' ? F.linearBf16(x, w) : F.linear(x, w);
    if (this.adapter && !(w instanceof PackedWeight)) y = this.adapter.apply(x, w, y);
    return bias ? F.add(y, bias) : y;
  }

  /** Token embeddings [...shape, dModel] of ids (times embeddingMultiplier). */
  embed(ids: Int32Array, shape: readonly number[]): Tensor {
    const table = this.weight('model.embed_tokens.weight');
    const x = table instanceof PackedWeight ? table.rows(ids, shape) : F.embedding(table, ids, shape);
    return this.scaled(x, this.config.embeddingMultiplier);
  }

  /** Logits of hidden states [..., dModel] -> [..., vocab] (times logitsScaling). */
  logits(h: Tensor): Tensor {
    return this.scaled(this.lin(h, this.outputWeight), this.config.logitsScaling);
  }

  /** t * s: in place when no gradient is recorded. */
  private scaled(t: Tensor, s: number): Tensor {
    if (s === 1) return t;
    if (isGradEnabled() && t.requiresGrad) return F.scale(t, s);
    affine(t.data, t.data, s, 0);
    return t;
  }

  /** Final hidden states [B, T, dModel] for token ids [B*T]. */
  hidden(ids: Int32Array, B: number, T: number, opts: ForwardOptions = {}): Tensor {
    const c = this.config;
    if (ids.length !== B * T) throw new Error(`forward: ${ids.length} ids for batch ${B} x ${T}`);
    const { cache, segmentIds } = opts;
    if (cache && segmentIds) throw new Error('forward: a KV cache and packed segments do not combine');
    const offset = cache ? cache.length : 0;
    // A packed row may be longer than maxSeqLen: its positions restart at every segment.
    if (offset + T > c.maxSeqLen && !cache && !segmentIds) throw new Error(`forward: sequence of ${T} exceeds maxSeqLen ${c.maxSeqLen}`);
    const backend: AttentionBackend = cache ? new CachedAttention(cache) : segmentIds ? new PackedAttention(segmentIds, B, T) : fullCausal;
    const positions = opts.positions ?? (segmentIds ? segmentPositions(segmentIds, B, T) : F.ropePositions(B, T, offset));
    if (positions.length !== B * T) throw new Error(`forward: ${positions.length} positions for batch ${B} x ${T}`);
    if (segmentIds) {
      let top = 0;
      for (let i = 0; i < positions.length; i++) if (positions[i] > top) top = positions[i];
      if (top >= c.maxSeqLen) throw new Error(`forward: a packed segment reaches position ${top}, beyond maxSeqLen ${c.maxSeqLen}`);
    }
    const h = runDecoder(this, this.embed(ids, [B, T]), { B, T, positions, backend });
    if (cache) cache.advance(T);
    return h;
  }

  /** Logits [B, T, vocab] (or [B, 1, vocab] with lastOnly). */
  forward(ids: Int32Array, B: number, T: number, opts: ForwardOptions = {}): Tensor {
    let h = this.hidden(ids, B, T, opts);
    if (opts.lastOnly && T > 1) {
      const last = Tensor.empty([B, 1, this.config.dModel]);
      for (let b = 0; b < B; b++) last.data.set(h.data.subarray((b * T + T - 1) * this.config.dModel, (b * T + T) * this.config.dModel), b * this.config.dModel);
      h = last;
    }
    return this.logits(h);
  }

  /**
   * Mean next-token cross-entropy of ids [B*T] against targets [B*T] (ignoreIndex -100 masks a
   * position; weights scale positions, e.g. SFT's assistant-only mask; segmentIds packs documents in a row).
   */
  loss(ids: Int32Array, targets: Int32Array, B: number, T: number, weights?: Float32Array, positions?: Int32Array, segmentIds?: Int32Array): Tensor {
    const logits = this.forward(ids, B, T, { positions, segmentIds });
    return F.crossEntropy(logits, targets, { weights });
  }

  /** Logits without recording a graph. */
  infer(ids: Int32Array, B: number, T: number, opts: ForwardOptions = {}): Tensor {
    return noGrad(() => this.forward(ids, B, T, opts));
  }
}

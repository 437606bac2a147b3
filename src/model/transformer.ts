// The HCX-style decoder: token embedding, then nLayers pre-norm blocks of
//   x += Wo · attention(rope(Wq·rmsnorm(x)), rope(Wk·rmsnorm(x)), Wv·rmsnorm(x))   (causal, grouped-query)
//   x += Wdown · (silu(Wgate·rmsnorm(x)) * Wup·rmsnorm(x))                          (SwiGLU)
// then a final RMSNorm and the output projection. Parameters carry Hugging Face Llama names, so
// checkpoints export without renaming.
import { F, Rng, Tensor, parameter, noGrad } from '../tensor/index.js';
import { type ModelConfig, parameterCount } from './config.js';
import type { KVCache } from './kv_cache.js';

export interface ParamSpec { name: string; shape: number[]; init: 'normal' | 'scaled' | 'ones' }

/** Every parameter of a config, in a fixed order (the checkpoint's order). */
export function parameterSpecs(c: ModelConfig): ParamSpec[] {
  const hd = c.dModel / c.nHeads;
  const specs: ParamSpec[] = [{ name: 'model.embed_tokens.weight', shape: [c.vocabSize, c.dModel], init: 'normal' }];
  for (let i = 0; i < c.nLayers; i++) {
    const p = `model.layers.${i}.`;
    specs.push(
      { name: p + 'input_layernorm.weight', shape: [c.dModel], init: 'ones' },
      { name: p + 'self_attn.q_proj.weight', shape: [c.nHeads * hd, c.dModel], init: 'normal' },
      { name: p + 'self_attn.k_proj.weight', shape: [c.nKvHeads * hd, c.dModel], init: 'normal' },
      { name: p + 'self_attn.v_proj.weight', shape: [c.nKvHeads * hd, c.dModel], init: 'normal' },
      { name: p + 'self_attn.o_proj.weight', shape: [c.dModel, c.nHeads * hd], init: 'scaled' },
      { name: p + 'post_attention_layernorm.weight', shape: [c.dModel], init: 'ones' },
      { name: p + 'mlp.gate_proj.weight', shape: [c.ffnHidden, c.dModel], init: 'normal' },
      { name: p + 'mlp.up_proj.weight', shape: [c.ffnHidden, c.dModel], init: 'normal' },
      { name: p + 'mlp.down_proj.weight', shape: [c.dModel, c.ffnHidden], init: 'scaled' },
    );
  }
  specs.push({ name: 'model.norm.weight', shape: [c.dModel], init: 'ones' });
  if (!c.tieEmbeddings) specs.push({ name: 'lm_head.weight', shape: [c.vocabSize, c.dModel], init: 'normal' });
  return specs;
}

export interface ForwardOptions {
  /** Position of every token [B*T] (default 0..T-1 per row, or continuing the KV cache). */
  positions?: Int32Array;
  /**
   * Segment id of every token [B*T] (sequences packed into one row): attention stays within a segment,
   * so no token sees another sequence's. Pair with positions restarting at 0 per segment. No KV cache.
   */
  segmentIds?: Int32Array;
  /** Decode with (and append to) this cache; inference only. */
  cache?: KVCache;
  /** Return only the last position's logits ([B, 1, V]): all generation needs. */
  lastOnly?: boolean;
}

interface Layer { ln1: Tensor; wq: Tensor; wk: Tensor; wv: Tensor; wo: Tensor; ln2: Tensor; wg: Tensor; wu: Tensor; wd: Tensor }

export class Transformer {
  readonly params = new Map<string, Tensor>();
  private readonly layers: Layer[] = [];
  readonly headDim: number;
  /** 'bf16': every projection multiplies in bf16 (fp32 master weights, fp32 accumulation); 'f32' by default. */
  computeDtype: 'f32' | 'bf16' = 'f32';

  /** A model with freshly initialised weights (normal, std 0.02; residual outputs scaled by 1/sqrt(2L)). */
  constructor(readonly config: ModelConfig, seed = 1234) {
    this.headDim = config.dModel / config.nHeads;
    const rng = new Rng(seed);
    const std = 0.02, scaled = std / Math.sqrt(2 * config.nLayers);
    for (const s of parameterSpecs(config)) {
      const t = parameter(s.shape, (d) => (s.init === 'ones' ? d.fill(1) : rng.fillNormal(d, s.init === 'scaled' ? scaled : std)), s.name);
      this.params.set(s.name, t);
    }
    for (let i = 0; i < config.nLayers; i++) {
      const g = (n: string) => this.param(`model.layers.${i}.${n}`);
      this.layers.push({
        ln1: g('input_layernorm.weight'), wq: g('self_attn.q_proj.weight'), wk: g('self_attn.k_proj.weight'),
        wv: g('self_attn.v_proj.weight'), wo: g('self_attn.o_proj.weight'), ln2: g('post_attention_layernorm.weight'),
        wg: g('mlp.gate_proj.weight'), wu: g('mlp.up_proj.weight'), wd: g('mlp.down_proj.weight'),
      });
    }
  }

  param(name: string): Tensor {
    const t = this.params.get(name);
    if (!t) throw new Error(`model has no parameter ${name}`);
    return t;
  }

  parameters(): Tensor[] {
    return [...this.params.values()];
  }

  get numParameters(): number {
    return parameterCount(this.config).total;
  }

  private get outputWeight(): Tensor {
    return this.config.tieEmbeddings ? this.param('model.embed_tokens.weight') : this.param('lm_head.weight');
  }

  private lin(x: Tensor, w: Tensor): Tensor {
    return this.computeDtype === 'bf16' ? F.linearBf16(x, w) : F.linear(x, w);
  }

  /** Final hidden states [B, T, dModel] for token ids [B*T]. */
  hidden(ids: Int32Array, B: number, T: number, opts: ForwardOptions = {}): Tensor {
    const c = this.config, hd = this.headDim;
    if (ids.length !== B * T) throw new Error(`forward: ${ids.length} ids for batch ${B} x ${T}`);
    const cache = opts.cache;
    const offset = cache ? cache.length : 0;
    if (offset + T > c.maxSeqLen && !cache) throw new Error(`forward: sequence of ${T} exceeds maxSeqLen ${c.maxSeqLen}`);
    if (cache && opts.segmentIds) throw new Error('forward: segmentIds are for packed rows, not for KV-cache decoding');
    const ropeOpts = { base: c.ropeBase, positionScale: c.ropeScale, offset, positions: opts.positions };
    let x = F.embedding(this.param('model.embed_tokens.weight'), ids, [B, T]);
    this.layers.forEach((L, li) => {
      const xn = F.rmsnorm(x, L.ln1, c.normEps);
      const q = F.rope(F.reshape(this.lin(xn, L.wq), [B, T, c.nHeads, hd]), ropeOpts);
      const k = F.rope(F.reshape(this.lin(xn, L.wk), [B, T, c.nKvHeads, hd]), ropeOpts);
      const v = F.reshape(this.lin(xn, L.wv), [B, T, c.nKvHeads, hd]);
      let a: Tensor;
      if (cache) {
        const [kc, vc] = cache.append(li, k, v);
        a = F.attention(q, kc, vc, { kvLength: offset + T, queryOffset: offset });
      } else a = F.attention(q, k, v, { segmentIds: opts.segmentIds });
      x = F.add(x, this.lin(F.reshape(a, [B, T, c.dModel]), L.wo));
      const hn = F.rmsnorm(x, L.ln2, c.normEps);
      x = F.add(x, this.lin(F.mul(F.silu(this.lin(hn, L.wg)), this.lin(hn, L.wu)), L.wd));
    });
    if (cache) cache.advance(T);
    return F.rmsnorm(x, this.param('model.norm.weight'), c.normEps);
  }

  /** Logits [B, T, vocab] (or [B, 1, vocab] with lastOnly). */
  forward(ids: Int32Array, B: number, T: number, opts: ForwardOptions = {}): Tensor {
    let h = this.hidden(ids, B, T, opts);
    if (opts.lastOnly && T > 1) {
      const last = Tensor.empty([B, 1, this.config.dModel]);
      for (let b = 0; b < B; b++) last.data.set(h.data.subarray((b * T + T - 1) * this.config.dModel, (b * T + T) * this.config.dModel), b * this.config.dModel);
      h = last;
    }
    return this.lin(h, this.outputWeight);
  }

  /**
   * Mean next-token cross-entropy of ids [B*T] against targets [B*T] (ignoreIndex -100 masks a
   * position; weights scale positions, e.g. SFT's assistant-only mask).
   */
  loss(ids: Int32Array, targets: Int32Array, B: number, T: number, weights?: Float32Array, positions?: Int32Array): Tensor {
    const logits = this.forward(ids, B, T, { positions });
    return F.crossEntropy(logits, targets, { weights });
  }

  /** Logits without recording a graph. */
  infer(ids: Int32Array, B: number, T: number, opts: ForwardOptions = {}): Tensor {
    return noGrad(() => this.forward(ids, B, T, opts));
  }
}

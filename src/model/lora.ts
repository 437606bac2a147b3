// LoRA (Hu et al., 2021) as PEFT implements it: a frozen projection W [out, in] gains a low-rank update,
//   y = x W^T + (alpha / rank) * dropout(x) A^T B^T,   A [rank, in] (Kaiming-uniform), B [out, rank] (zeros),
// so training starts from the base model exactly and only A and B learn. Adapters save and load in PEFT's
// format (adapter_config.json + adapter_model.safetensors with PEFT's tensor names), so peft opens them,
// and merge into the weights (W += scale * B A) for serving and export.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { F, Rng, Tensor, parameter } from '../tensor/index.js';
import { decodeSafetensors, encodeSafetensors, type StTensor } from './safetensors.js';
import type { Transformer } from './transformer.js';

/** Projections an adapter may sit on (the Hugging Face Llama module names). */
export const LORA_TARGETS: readonly string[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

export interface LoraConfig {
  rank: number;
  alpha: number;
  /** Dropout on the adapter's input (training only). */
  dropout: number;
  /** Module names from LORA_TARGETS. */
  targets: string[];
}

export interface Adapter {
  /** Module path, e.g. model.layers.0.self_attn.q_proj. */
  module: string;
  weight: Tensor;
  A: Tensor;
  B: Tensor;
}

const PEFT_PREFIX = 'base_model.model.';

export class Lora {
  readonly adapters: Adapter[] = [];
  readonly scale: number;
  private readonly byWeight = new Map<Tensor, Adapter>();
  /** Dropout masks are drawn from this (its state goes into checkpoints). */
  readonly rng: Rng;
  /** Dropout is applied only while training. */
  training = true;

  /** Adds adapters to `model` (its forward then runs them) and freezes every base parameter. */
  constructor(readonly model: Transformer, readonly config: LoraConfig, seed = 1) {
    this.scale = config.alpha / config.rank;
    this.rng = new Rng(seed);
    const init = new Rng(seed ^ 0x5bd1e995);
    for (const [name, w] of model.params) {
      const m = /^(.*)\.([a-z_]+)\.weight$/.exec(name);
      if (!m || !config.targets.includes(m[2])) continue;
      const [out, inp] = w.shape;
      // PEFT: kaiming_uniform_(A, a=sqrt(5)) gives U(-1/sqrt(in), 1/sqrt(in)); B starts at zero.
      const bound = 1 / Math.sqrt(inp);
      const A = parameter([config.rank, inp], (d) => init.fillUniform(d, -bound, bound), `${m[1]}.${m[2]}.lora_A.weight`);
      const B = parameter([out, config.rank], (d) => d.fill(0), `${m[1]}.${m[2]}.lora_B.weight`);
      const a: Adapter = { module: `${m[1]}.${m[2]}`, weight: w, A, B };
      this.adapters.push(a);
      this.byWeight.set(w, a);
    }
    if (!this.adapters.length) throw new Error(`lora: no parameter matches the targets ${config.targets.join(', ')}`);
    for (const p of model.parameters()) p.requiresGrad = false;
    model.adapter = this;
  }

  /** The trainable tensors (A then B of every adapter, in model order). */
  parameters(): Tensor[] {
    return this.adapters.flatMap((a) => [a.A, a.B]);
  }

  get numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.size, 0);
  }

  /** The projection output y = x W^T plus this weight's low-rank update (if it has an adapter). */
  apply(x: Tensor, w: Tensor, y: Tensor): Tensor {
    const a = this.byWeight.get(w);
    if (!a) return y;
    let h = x;
    const p = this.config.dropout;
    if (p > 0 && this.training) {
      const keep = new Tensor(x.shape);
      const d = keep.data, inv = 1 / (1 - p);
      for (let i = 0; i < d.length; i++) d[i] = this.rng.next() < p ? 0 : inv;
      h = F.mul(x, keep);
    }
    return F.add(y, F.scale(F.linear(F.linear(h, a.A), a.B), this.scale));
  }

  /** W + scale * B A for one adapter (a fresh array; the model's weight is untouched). */
  mergedWeight(a: Adapter): Float32Array {
    const [out, inp] = a.weight.shape, r = this.config.rank;
    const W = Float32Array.from(a.weight.data);
    const A = a.A.data, B = a.B.data, s = this.scale;
    for (let o = 0; o < out; o++) {
      for (let k = 0; k < r; k++) {
        const b = B[o * r + k] * s;
        if (b === 0) continue;
        const row = o * inp, arow = k * inp;
        for (let i = 0; i < inp; i++) W[row + i] += b * A[arow + i];
      }
    }
    return W;
  }

  /** Every parameter of the model with the adapters merged in (for checkpoints, serving, export). */
  mergedTensors(): [string, StTensor][] {
    const merged = new Map(this.adapters.map((a) => [a.weight, this.mergedWeight(a)]));
    return [...this.model.params].map(([name, t]) => [name, { dtype: 'F32', shape: [...t.shape], data: merged.get(t) ?? t.data }]);
  }

  /** PEFT's adapter_model.safetensors. */
  safetensors(): Buffer {
    const tensors: [string, StTensor][] = this.adapters.flatMap((a) => [
      [`${PEFT_PREFIX}${a.module}.lora_A.weight`, { dtype: 'F32', shape: [...a.A.shape], data: a.A.data }],
      [`${PEFT_PREFIX}${a.module}.lora_B.weight`, { dtype: 'F32', shape: [...a.B.shape], data: a.B.data }],
    ] as [string, StTensor][]);
    return encodeSafetensors(tensors, { format: 'pt' });
  }

  /** PEFT's adapter_config.json (LoraConfig fields that peft 0.x reads). */
  adapterConfig(baseModel: string | null): Record<string, unknown> {
    return {
      peft_type: 'LORA', task_type: 'CAUSAL_LM', base_model_name_or_path: baseModel, inference_mode: true,
      r: this.config.rank, lora_alpha: this.config.alpha, lora_dropout: this.config.dropout, target_modules: [...this.config.targets],
      bias: 'none', fan_in_fan_out: false, use_rslora: false, use_dora: false, init_lora_weights: true, modules_to_save: null,
    };
  }

  /** The two PEFT files, for a checkpoint or an export folder. */
  files(baseModel: string | null): Record<string, Uint8Array | string> {
    return { 'adapter_config.json': JSON.stringify(this.adapterConfig(baseModel), null, 2) + '\n', 'adapter_model.safetensors': this.safetensors() };
  }

  /** Reads adapter weights from PEFT's adapter_model.safetensors bytes (`file` named in errors). */
  load(bytes: Buffer, file: string): void {
    const st = decodeSafetensors(bytes, file).tensors;
    for (const a of this.adapters) {
      for (const [k, t] of [['lora_A', a.A], ['lora_B', a.B]] as const) {
        const name = `${PEFT_PREFIX}${a.module}.${k}.weight`;
        const src = st.get(name) ?? st.get(`${PEFT_PREFIX}${a.module}.${k}.default.weight`);
        if (!src) throw new Error(`${file}: missing tensor ${name}`);
        if (src.shape.join(',') !== t.shape.join(',')) throw new Error(`${file}: ${name} has shape [${src.shape}], the adapter needs [${t.shape}]`);
        if (src.dtype !== 'F32') throw new Error(`${file}: ${name} is ${src.dtype}; F32 adapters only`);
        t.data.set(src.data as Float32Array);
      }
    }
  }

  /** Folds the adapters into the model's weights and detaches them: the model is a plain model again. */
  mergeIntoModel(): Transformer {
    for (const a of this.adapters) { a.weight.data.set(this.mergedWeight(a)); a.weight.version++; }
    this.model.adapter = undefined;
    return this.model;
  }
}

/** PEFT's adapter_config.json -> LoraConfig (for loading adapters peft or hcx saved). */
export function loraConfigFromPeft(raw: Record<string, unknown>, file: string): LoraConfig {
  if (raw.peft_type !== 'LORA') throw new Error(`${file}: peft_type ${JSON.stringify(raw.peft_type)} is not LORA`);
  const targets = raw.target_modules;
  if (!Array.isArray(targets) || targets.some((t) => !LORA_TARGETS.includes(t))) throw new Error(`${file}: target_modules ${JSON.stringify(targets)} must be a list of ${LORA_TARGETS.join(', ')}`);
  if (raw.use_rslora || raw.use_dora) throw new Error(`${file}: rsLoRA and DoRA adapters are not supported`);
  return { rank: Number(raw.r), alpha: Number(raw.lora_alpha), dropout: Number(raw.lora_dropout ?? 0), targets: targets as string[] };
}

/** Attaches the PEFT adapter in `dir` (adapter_config.json + adapter_model.safetensors) to `model`. */
export function loadLoraAdapter(model: Transformer, dir: string): Lora {
  const cfgFile = path.join(dir, 'adapter_config.json');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(cfgFile, 'utf8'));
  } catch (e) {
    throw new Error(`${cfgFile}: ${(e as Error).message}`);
  }
  const lora = new Lora(model, loraConfigFromPeft(raw, cfgFile));
  const file = path.join(dir, 'adapter_model.safetensors');
  lora.load(readFileSync(file), file);
  lora.training = false;
  return lora;
}

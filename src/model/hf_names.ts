// Parameter names between Hugging Face checkpoints and hcx. hcx uses Llama's names, with Qwen's for the
// extra attention pieces (q/k/v/o biases, self_attn.q_norm / k_norm) and HyperCLOVA X's for the Peri-LN
// output norms (post_norm1 after attention, post_norm2 after the MLP). Only EXAONE 4 names differ: its
// output norms are post_attention_layernorm and post_feedforward_layernorm (and it has no input norms).
import type { ModelConfig } from './config.js';

const EXAONE_TO_HCX: Record<string, string> = { post_attention_layernorm: 'post_norm1', post_feedforward_layernorm: 'post_norm2' };
const HCX_TO_EXAONE: Record<string, string> = { post_norm1: 'post_attention_layernorm', post_norm2: 'post_feedforward_layernorm' };

const LAYER = /^model\.layers\.(\d+)\.([a-z_0-9]+)\.(.+)$/;

function renameNorm(name: string, map: Record<string, string>): string {
  const m = LAYER.exec(name);
  if (!m || !(m[2] in map)) return name;
  return `model.layers.${m[1]}.${map[m[2]]}.${m[3]}`;
}

/** The Hugging Face name of hcx parameter `name` in `c`'s architecture. */
export function hfParamName(c: ModelConfig, name: string): string {
  return c.architecture === 'Exaone4ForCausalLM' ? renameNorm(name, HCX_TO_EXAONE) : name;
}

/** Buffers some checkpoints carry that are recomputed, not learned. */
const DERIVED = /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/;

/**
 * The hcx name of tensor `name` of a Hugging Face checkpoint of `c`'s architecture, or null for a tensor hcx
 * does not keep (rotary inverse-frequency buffers; lm_head.weight of a tied model, which repeats the embedding).
 * `known` is the set of hcx parameter names; a name that maps outside it is an error naming `file`.
 */
export function hcxParamName(c: ModelConfig, name: string, known: ReadonlySet<string>, file: string): string | null {
  if (DERIVED.test(name) || (c.tieEmbeddings && name === 'lm_head.weight')) return null;
  const hcx = c.architecture === 'Exaone4ForCausalLM' ? renameNorm(name, EXAONE_TO_HCX) : name;
  if (!known.has(hcx)) throw new Error(`${file}: tensor ${name} is not a parameter of this ${c.architecture} config`);
  return hcx;
}

/** A checkpoint's tensors renamed to hcx names (dropping the ones hcx does not keep); errors name `file`. */
export function hfToHcxTensors<T>(c: ModelConfig, tensors: ReadonlyMap<string, T>, known: ReadonlySet<string>, file: string): Map<string, T> {
  const out = new Map<string, T>();
  for (const [name, t] of tensors) {
    const h = hcxParamName(c, name, known, file);
    if (h !== null) out.set(h, t);
  }
  return out;
}

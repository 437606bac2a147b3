// The parameters a config implies, by hcx name (Llama's, plus Qwen's biases and q/k norms and HyperCLOVA X's
// post norms; src/model/hf_names.ts maps them to each architecture), in the checkpoint's fixed order.
import { type ModelConfig, headDimOf } from './config.js';

export interface ParamSpec { name: string; shape: number[]; init: 'normal' | 'scaled' | 'ones' | 'zeros' }

/** Every parameter of a config, in a fixed order (the checkpoint's order). */
export function parameterSpecs(c: ModelConfig): ParamSpec[] {
  const hd = headDimOf(c), D = c.dModel, Fh = c.ffnHidden, q = c.nHeads * hd, kv = c.nKvHeads * hd;
  const specs: ParamSpec[] = [{ name: 'model.embed_tokens.weight', shape: [c.vocabSize, D], init: 'normal' }];
  for (let i = 0; i < c.nLayers; i++) {
    const p = `model.layers.${i}.`;
    const add = (name: string, shape: number[], init: ParamSpec['init']) => specs.push({ name: p + name, shape, init });
    if (c.preNorm) add('input_layernorm.weight', [D], 'ones');
    add('self_attn.q_proj.weight', [q, D], 'normal');
    if (c.qkvBias) add('self_attn.q_proj.bias', [q], 'zeros');
    add('self_attn.k_proj.weight', [kv, D], 'normal');
    if (c.qkvBias) add('self_attn.k_proj.bias', [kv], 'zeros');
    add('self_attn.v_proj.weight', [kv, D], 'normal');
    if (c.qkvBias) add('self_attn.v_proj.bias', [kv], 'zeros');
    add('self_attn.o_proj.weight', [D, q], 'scaled');
    if (c.oBias) add('self_attn.o_proj.bias', [D], 'zeros');
    if (c.qkNorm) { add('self_attn.q_norm.weight', [hd], 'ones'); add('self_attn.k_norm.weight', [hd], 'ones'); }
    if (c.postNorm) add('post_norm1.weight', [D], 'ones');
    if (c.preNorm) add('post_attention_layernorm.weight', [D], 'ones');
    add('mlp.gate_proj.weight', [Fh, D], 'normal');
    if (c.mlpBias) add('mlp.gate_proj.bias', [Fh], 'zeros');
    add('mlp.up_proj.weight', [Fh, D], 'normal');
    if (c.mlpBias) add('mlp.up_proj.bias', [Fh], 'zeros');
    add('mlp.down_proj.weight', [D, Fh], 'scaled');
    if (c.mlpBias) add('mlp.down_proj.bias', [D], 'zeros');
    if (c.postNorm) add('post_norm2.weight', [D], 'ones');
  }
  specs.push({ name: 'model.norm.weight', shape: [D], init: 'ones' });
  if (!c.tieEmbeddings) specs.push({ name: 'lm_head.weight', shape: [c.vocabSize, D], init: 'normal' });
  return specs;
}

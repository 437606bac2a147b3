// config.json <-> ModelConfig: each architecture's fields and transformers' defaults for absent ones, the legacy
// rope_theta / rope_scaling form, errors that name the file and the field, the reverse mapping used by export,
// and the parameter-name mapping. (test/model/hf_parity.test.ts checks the same mapping against transformers.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ModelConfig, PRESETS, parseModelConfig } from '../../src/model/config.js';
import { hfConfigToModelConfig, hfTokenIds, modelConfigToHf } from '../../src/model/hf_config.js';
import { hcxParamName, hfParamName, hfToHcxTensors } from '../../src/model/hf_names.js';
import { parameterSpecs } from '../../src/model/params.js';
import { Transformer } from '../../src/model/transformer.js';

const F = 'cfg/config.json';
const shape = { vocab_size: 100, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 4 };
const hf = (arch: string, model_type: string, extra: Record<string, unknown> = {}) => ({ architectures: [arch], model_type, ...shape, ...extra });

test('Llama: fields map, absent ones take transformers defaults', () => {
  const c = hfConfigToModelConfig(hf('LlamaForCausalLM', 'llama', { attention_bias: true, torch_dtype: 'bfloat16', transformers_version: '4.50.0' }), F);
  assert.equal(c.architecture, 'LlamaForCausalLM');
  assert.equal(c.nKvHeads, 4, 'num_key_value_heads defaults to the head count');
  assert.equal(c.normEps, 1e-6);
  assert.equal(c.maxSeqLen, 2048);
  assert.equal(c.ropeBase, 10000);
  assert.equal(c.headDim, null, 'head_dim = hidden/heads is stored as the default');
  assert.deepEqual([c.qkvBias, c.oBias, c.mlpBias, c.qkNorm, c.preNorm, c.postNorm], [true, true, false, false, true, false]);
  const legacy = hfConfigToModelConfig(hf('LlamaForCausalLM', 'llama', { rope_theta: 500000, rope_scaling: { type: 'linear', factor: 4 }, head_dim: 32 }), F);
  assert.equal(legacy.ropeBase, 500000);
  assert.equal(legacy.ropeScale, 0.25);
  assert.equal(legacy.headDim, 32);
  const l3 = hfConfigToModelConfig(hf('LlamaForCausalLM', 'llama', {
    max_position_embeddings: 131072, rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 }, rope_theta: 500000,
  }), F);
  assert.deepEqual(l3.ropeScaling, { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxSeqLen: 8192 });
});

test('Qwen2, Qwen3, EXAONE 4 and HyperCLOVA X: architecture-specific fields', () => {
  const q2 = hfConfigToModelConfig(hf('Qwen2ForCausalLM', 'qwen2', { num_key_value_heads: 2, sliding_window: 32768, use_sliding_window: false, max_window_layers: 2 }), F);
  assert.deepEqual([q2.qkvBias, q2.oBias, q2.slidingWindow, q2.layerTypes], [true, false, null, null], 'Qwen2: q/k/v biases; a sliding window only with use_sliding_window');
  const q2s = hfConfigToModelConfig(hf('Qwen2ForCausalLM', 'qwen2', { num_key_value_heads: 2, sliding_window: 8, use_sliding_window: true, max_window_layers: 2 }), F);
  assert.deepEqual([q2s.slidingWindow, q2s.layerTypes], [8, ['full', 'full', 'sliding', 'sliding']]);
  const q3 = hfConfigToModelConfig(hf('Qwen3ForCausalLM', 'qwen3', { num_key_value_heads: 2 }), F);
  assert.deepEqual([q3.qkNorm, q3.headDim, q3.qkvBias, q3.maxSeqLen], [true, 128, false, 32768], 'Qwen3: q/k norms, head_dim defaults to 128');
  const ex = hfConfigToModelConfig(hf('Exaone4ForCausalLM', 'exaone4', { num_key_value_heads: 2, sliding_window: 16, sliding_window_pattern: 4 }), F);
  assert.deepEqual([ex.preNorm, ex.postNorm, ex.qkNorm], [false, true, true]);
  assert.deepEqual(ex.layerTypes, ['sliding', 'sliding', 'sliding', 'full']);
  assert.deepEqual(ex.noRopeLayers, [3], 'EXAONE 4 global layers skip RoPE when sliding layers exist');
  const exFull = hfConfigToModelConfig(hf('Exaone4ForCausalLM', 'exaone4', { sliding_window: null, layer_types: Array(4).fill('full_attention') }), F);
  assert.deepEqual([exFull.slidingWindow, exFull.noRopeLayers], [null, []]);
  const x = hfConfigToModelConfig(hf('HyperCLOVAXForCausalLM', 'hyperclovax', { embedding_multiplier: 10, attention_multiplier: 0.0625, residual_multiplier: 0.2, logits_scaling: 0.125 }), F);
  assert.deepEqual([x.postNorm, x.embeddingMultiplier, x.attentionMultiplier, x.residualMultiplier, x.logitsScaling], [true, 10, 0.0625, 0.2, 0.125],
    'HyperCLOVA X: use_post_norm defaults to true; muP scalars');
  assert.equal(hfConfigToModelConfig(hf('HyperCLOVAXForCausalLM', 'hyperclovax', { use_post_norm: false, attention_multiplier: null }), F).attentionMultiplier, null);
});

test('config.json errors name the file and the field', () => {
  const bad = (extra: Record<string, unknown>, re: RegExp, arch = 'LlamaForCausalLM', type = 'llama') =>
    assert.throws(() => hfConfigToModelConfig(hf(arch, type, extra), F), (e: Error) => e.message.startsWith(F) && re.test(e.message), String(re));
  assert.throws(() => hfConfigToModelConfig({ ...shape, architectures: ['MistralForCausalLM'] }, F), /architecture MistralForCausalLM is not supported/);
  assert.throws(() => hfConfigToModelConfig({ ...shape }, F), /field "architectures" must list one architecture/);
  bad({ model_type: 'qwen2' }, /field "model_type" is "qwen2" but LlamaForCausalLM is "llama"/);
  bad({ hidden_act: 'gelu' }, /field "hidden_act" must be silu/);
  bad({ rope_scaling: { rope_type: 'dynamic', factor: 2 } }, /RoPE type "dynamic" \(field "rope_scaling"\) is not supported/);
  bad({ rope_parameters: { rope_type: 'default', rope_theta: 1, beta: 3 } }, /field "rope_parameters.beta" is not supported/);
  bad({ partial_rotary_factor: 0.5 }, /partial_rotary_factor 0.5 is not supported/);
  bad({ attention_dropout: 0.1 }, /field "attention_dropout" is not supported by hcx except as 0/);
  bad({ quantization_config: { bits: 4 } }, /field "quantization_config"/);
  bad({ some_new_knob: 1 }, /field "some_new_knob" is not supported by hcx for LlamaForCausalLM/);
  bad({ sliding_window: 8 }, /field "sliding_window" is not supported by hcx for LlamaForCausalLM/);
  bad({ hidden_size: 0 }, /field "hidden_size" must be a positive integer/);
  bad({ vocab_size: undefined }, /field "vocab_size" is required/);
  bad({ layer_types: ['full_attention', 'chunked_attention', 'full_attention', 'full_attention'] }, /field "layer_types\[1\]" is "chunked_attention"/, 'Qwen3ForCausalLM', 'qwen3');
  bad({ sliding_window: 8, sliding_window_pattern: 'LLLG' }, /field "sliding_window_pattern"/, 'Exaone4ForCausalLM', 'exaone4');
  bad({ num_key_value_heads: 3 }, /nHeads 4 is not a multiple of nKvHeads 3/);
  assert.throws(() => hfConfigToModelConfig({ ...hf('Qwen2ForCausalLM', 'qwen2'), num_key_value_heads: undefined }, F), /nKvHeads 32/, 'Qwen2 defaults to 32 KV heads, as transformers does');
});

test('token ids of a config.json: eos as one id or a list', () => {
  assert.deepEqual(hfTokenIds({ bos_token_id: 1, eos_token_id: [2, 7], pad_token_id: null }, F), { bos: 1, eos: [2, 7], pad: null });
  assert.deepEqual(hfTokenIds({ eos_token_id: 2 }, F), { bos: null, eos: [2], pad: null });
  assert.throws(() => hfTokenIds({ eos_token_id: 'x' }, F), /field "eos_token_id"/);
});

test('the reverse mapping (export) gives back the same config for every architecture', () => {
  const configs: ModelConfig[] = [
    hfConfigToModelConfig(hf('LlamaForCausalLM', 'llama', { attention_bias: true, mlp_bias: true, head_dim: 32, tie_word_embeddings: true,
      rope_parameters: { rope_type: 'yarn', rope_theta: 1e6, factor: 4, original_max_position_embeddings: 512, mscale: 1, mscale_all_dim: 0.5 } }), F),
    hfConfigToModelConfig(hf('Qwen2ForCausalLM', 'qwen2', { use_sliding_window: true, sliding_window: 8, max_window_layers: 3 }), F),
    hfConfigToModelConfig(hf('Qwen3ForCausalLM', 'qwen3', { attention_bias: true, rope_scaling: { type: 'linear', factor: 2 } }), F),
    hfConfigToModelConfig(hf('Exaone4ForCausalLM', 'exaone4', { sliding_window: 16, sliding_window_pattern: 2 }), F),
    hfConfigToModelConfig(hf('HyperCLOVAXForCausalLM', 'hyperclovax', { embedding_multiplier: 10, residual_multiplier: 0.2, logits_scaling: 0.125 }), F),
    PRESETS.demo,
  ];
  for (const c of configs) {
    const json = JSON.parse(JSON.stringify(modelConfigToHf(c, { bos: 1, eos: [2], pad: 0 })));
    assert.deepEqual(hfConfigToModelConfig(json, F), c, c.architecture);
  }
  assert.throws(() => modelConfigToHf({ ...PRESETS.test, qkNorm: true }, { bos: null, eos: [], pad: null }), /field "qkNorm" must be false for LlamaForCausalLM/);
  assert.throws(() => modelConfigToHf({ ...PRESETS.test, postNorm: true }, { bos: null, eos: [], pad: null }), /field "postNorm"/);
  assert.throws(() => modelConfigToHf({ ...PRESETS.test, architecture: 'Qwen2ForCausalLM' }, { bos: null, eos: [], pad: null }), /field "qkvBias" must be true for Qwen2ForCausalLM/);
});

test('hcx config validation of the architecture fields names the field', () => {
  const t = PRESETS.test;
  assert.throws(() => parseModelConfig({ ...t, headDim: 7 }), /head dimension 7 must be even/);
  assert.throws(() => parseModelConfig({ ...t, layerTypes: ['full'] }), /field "layerTypes" must be null or an array of 2 entries/);
  assert.throws(() => parseModelConfig({ ...t, layerTypes: ['full', 'sliding'] }), /"layerTypes" has sliding layers but "slidingWindow" is null/);
  assert.throws(() => parseModelConfig({ ...t, noRopeLayers: [2] }), /field "noRopeLayers" must be an array of distinct layer indices in 0..1/);
  assert.throws(() => parseModelConfig({ ...t, ropeScaling: { type: 'yarn', factor: 2 } }), /field "ropeScaling": "originalMaxSeqLen" must be a positive integer/);
  assert.throws(() => parseModelConfig({ ...t, ropeScaling: { type: 'ntk' } }), /"type" must be llama3 or yarn/);
  assert.throws(() => parseModelConfig({ ...t, architecture: 'GPT2' }), /field "architecture" must be one of/);
  assert.throws(() => parseModelConfig({ ...t, preNorm: false }), /"preNorm" and "postNorm" are both false/);
  assert.throws(() => parseModelConfig({ ...t, logitsScaling: 0 }), /field "logitsScaling" must be a positive number/);
  // An hcx config from before these fields existed loads with Llama's defaults.
  const old = { vocabSize: 64, dModel: 32, nLayers: 2, nHeads: 4, nKvHeads: 2, ffnHidden: 64, maxSeqLen: 64, ropeBase: 10000, ropeScale: 1, normEps: 1e-5, tieEmbeddings: false };
  assert.deepEqual(parseModelConfig(old), PRESETS.test);
  // A preset with another dModel keeps the derived head dimension.
  assert.equal(new Transformer(parseModelConfig({ preset: 'test', dModel: 64 })).headDim, 16);
});

test('parameter names: EXAONE 4 renames its output norms; rotary buffers and a tied lm_head are dropped; unknown tensors are errors', () => {
  const ex = hfConfigToModelConfig(hf('Exaone4ForCausalLM', 'exaone4', { sliding_window: null, tie_word_embeddings: true }), F);
  const known = new Set(parameterSpecs(ex).map((s) => s.name));
  assert.equal(hcxParamName(ex, 'model.layers.2.post_attention_layernorm.weight', known, F), 'model.layers.2.post_norm1.weight');
  assert.equal(hcxParamName(ex, 'model.layers.2.post_feedforward_layernorm.weight', known, F), 'model.layers.2.post_norm2.weight');
  assert.equal(hfParamName(ex, 'model.layers.2.post_norm2.weight'), 'model.layers.2.post_feedforward_layernorm.weight');
  assert.equal(hcxParamName(ex, 'lm_head.weight', known, F), null);
  assert.equal(hcxParamName(ex, 'model.layers.0.self_attn.rotary_emb.inv_freq', known, F), null);
  assert.throws(() => hcxParamName(ex, 'model.layers.0.input_layernorm.weight', known, F), /cfg\/config.json: tensor model.layers.0.input_layernorm.weight is not a parameter/);
  for (const s of parameterSpecs(ex)) assert.equal(hcxParamName(ex, hfParamName(ex, s.name), known, F), s.name, s.name);
  const q2 = hfConfigToModelConfig(hf('Qwen2ForCausalLM', 'qwen2'), F);
  const names = new Set(parameterSpecs(q2).map((s) => s.name));
  assert.ok(names.has('model.layers.0.self_attn.k_proj.bias') && !names.has('model.layers.0.self_attn.o_proj.bias'));
  const m = hfToHcxTensors(q2, new Map([['model.layers.0.self_attn.q_proj.bias', 1]]), names, F);
  assert.deepEqual([...m], [['model.layers.0.self_attn.q_proj.bias', 1]]);
});

// hcx against transformers 5.18 (torch 2.13 CPU, fp32) on tiny random models of every architecture hcx imports,
// with odd shapes: GQA 3:1, head_dim different from hidden/heads, untied and tied embeddings, biases, RoPE scaling
// (linear, llama3, yarn), Qwen2's and EXAONE 4's sliding windows shorter than the sequence, EXAONE 4's post-norms
// and RoPE-free global layers, HyperCLOVA X's muP multipliers and Peri-LN. The reference is transformers' own
// class for each architecture (test/model/hf_reference.py builds, randomises and save_pretrained()s it).
// hcx reads config.json with hfConfigToModelConfig and the safetensors by its name mapping, then must give
// transformers' logits (within 1e-4 of their range) at every position through each attention path (full,
// KV cache, the serving engine's paged pool), its loss and every parameter gradient, and its 16-token greedy
// generation through the full forward, generate() and the engine; and hcx's HF export must load in transformers
// as the same architecture with the same logits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { backward, tidy } from '../../src/tensor/index.js';
import { hfConfigToModelConfig } from '../../src/model/hf_config.js';
import { hfToHcxTensors, hcxParamName } from '../../src/model/hf_names.js';
import { parameterSpecs } from '../../src/model/params.js';
import { loadSafetensors } from '../../src/model/safetensors.js';
import { tensorSource } from '../../src/model/checkpoint.js';
import { Transformer } from '../../src/model/transformer.js';
import { exportHfModel } from '../../src/model/export_hf.js';
import { KVCache } from '../../src/model/kv_cache.js';
import { generate } from '../../src/model/generate.js';
import { Engine } from '../../src/serve/engine.js';
import { KVPool } from '../../src/serve/kv_pool.js';
import { PagedModel } from '../../src/serve/paged_forward.js';
import { pythonMissing, runPython } from '../helpers/python.js';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../test/model/hf_reference.py');
const V = 97, T = 20, NEW = 16;

const base = { vocab_size: V, max_position_embeddings: 64, hidden_act: 'silu', rms_norm_eps: 1e-5 };
const CASES: Record<string, Record<string, unknown>> = {
  'Llama, untied, GQA 3:1, head_dim 12 (not 48/6), q/k/v/o and MLP biases, llama3 RoPE': {
    ...base, architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 48, num_attention_heads: 6, num_key_value_heads: 2, head_dim: 12,
    intermediate_size: 40, num_hidden_layers: 2, attention_bias: true, mlp_bias: true, tie_word_embeddings: false,
    rope_parameters: { rope_type: 'llama3', rope_theta: 500, factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 },
  },
  'Llama, tied, linear RoPE scaling': {
    ...base, architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 32, num_attention_heads: 4, num_key_value_heads: 4,
    intermediate_size: 56, num_hidden_layers: 2, tie_word_embeddings: true, rope_parameters: { rope_type: 'linear', rope_theta: 10000, factor: 2.5 },
  },
  'Llama, yarn RoPE': {
    ...base, architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 32, num_attention_heads: 4, num_key_value_heads: 2,
    intermediate_size: 48, num_hidden_layers: 2, rope_parameters: { rope_type: 'yarn', rope_theta: 1000, factor: 4, original_max_position_embeddings: 16 },
  },
  'Qwen2, q/k/v biases, GQA 3:1, sliding window 6 on layer 2, tied': {
    ...base, architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 36, num_attention_heads: 6, num_key_value_heads: 2,
    intermediate_size: 44, num_hidden_layers: 2, tie_word_embeddings: true, use_sliding_window: true, sliding_window: 6, max_window_layers: 1,
    rope_parameters: { rope_type: 'default', rope_theta: 10000 },
  },
  'Qwen3, q/k norms, head_dim 16 (not 32/4), untied': {
    ...base, architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', hidden_size: 32, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16,
    intermediate_size: 40, num_hidden_layers: 2, tie_word_embeddings: false, rope_parameters: { rope_type: 'default', rope_theta: 1000000 },
  },
  'EXAONE 4, post-norms, q/k norms, sliding window 5 (< 20 tokens), global layer without RoPE, GQA 3:1': {
    ...base, architectures: ['Exaone4ForCausalLM'], model_type: 'exaone4', hidden_size: 48, num_attention_heads: 6, num_key_value_heads: 2,
    intermediate_size: 40, num_hidden_layers: 3, sliding_window: 5, sliding_window_pattern: 3, tie_word_embeddings: true,
    rope_parameters: { rope_type: 'default', rope_theta: 10000 },
  },
  'HyperCLOVA X, muP multipliers, Peri-LN, biases, head_dim 10 (not 40/4), untied': {
    ...base, architectures: ['HyperCLOVAXForCausalLM'], model_type: 'hyperclovax', hidden_size: 40, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 10,
    intermediate_size: 52, num_hidden_layers: 2, attention_bias: true, mlp_bias: true, tie_word_embeddings: false, use_post_norm: true,
    embedding_multiplier: 3, attention_multiplier: 0.2, residual_multiplier: 0.5, logits_scaling: 0.25, rope_parameters: { rope_type: 'default', rope_theta: 10000 },
  },
  'HyperCLOVA X, no post-norms, tied': {
    ...base, architectures: ['HyperCLOVAXForCausalLM'], model_type: 'hyperclovax', hidden_size: 32, num_attention_heads: 4, num_key_value_heads: 1,
    intermediate_size: 48, num_hidden_layers: 2, tie_word_embeddings: true, use_post_norm: false, embedding_multiplier: 0.5, residual_multiplier: 1.5,
    logits_scaling: 2, rope_parameters: { rope_type: 'default', rope_theta: 10000 },
  },
};

interface Ref { logits: string; loss: number; grads: Record<string, string>; generated: number[] }
const f32 = (b64: string) => { const b = Buffer.from(b64, 'base64'); return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)); };
const prompt = (i: number) => Array.from({ length: T }, (_, t) => (7 + 31 * t + 13 * i + ((t * t) % 11)) % V);

const skip = pythonMissing(['torch', 'transformers']);
let dir = '';
const refs = new Map<string, Ref>();
const exports: { name: string; dir: string; ids: number[]; want: Float32Array }[] = [];

before(() => {
  if (skip) return;
  dir = mkdtempSync(path.join(os.tmpdir(), 'hcx-hf-parity-'));
  const cases = Object.entries(CASES).map(([, config], i) => ({ dir: path.join(dir, String(i)), config, ids: prompt(i), new: NEW, seed: i + 1 }));
  const out = runPython([SCRIPT], { input: JSON.stringify({ cases }) }).trim().split('\n');
  Object.keys(CASES).forEach((name, i) => refs.set(name, JSON.parse(out[i]) as Ref));
});
after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

function load(i: number): Transformer {
  const d = path.join(dir, String(i));
  const cfgFile = path.join(d, 'config.json');
  const config = hfConfigToModelConfig(JSON.parse(readFileSync(cfgFile, 'utf8')), cfgFile);
  const file = path.join(d, 'model.safetensors');
  const known = new Set(parameterSpecs(config).map((s) => s.name));
  return Transformer.fromTensors(config, tensorSource(hfToHcxTensors(config, loadSafetensors(file).tensors, known, file), file));
}

/** Max |a - b| over rows of logits, against the reference's range. */
function compareLogits(got: Float32Array, ref: Float32Array, what: string): void {
  assert.equal(got.length, ref.length, `${what}: ${got.length} logits vs ${ref.length}`);
  let lo = Infinity, hi = -Infinity, worst = 0;
  for (let i = 0; i < ref.length; i++) { lo = Math.min(lo, ref[i]); hi = Math.max(hi, ref[i]); worst = Math.max(worst, Math.abs(got[i] - ref[i])); }
  assert.ok(hi - lo > 1, `${what}: the reference logits are nearly flat (range ${hi - lo})`);
  if (process.env.HCX_PARITY_LOG) console.log(what, worst.toExponential(2), (hi - lo).toFixed(2));
  assert.ok(worst <= 1e-4 * (hi - lo), `${what}: max |Δ logit| ${worst.toExponential(2)} exceeds 1e-4 of the range ${(hi - lo).toFixed(2)}`);
}

/** Logits of every prompt position through the contiguous KV cache: a 3-token prefill, then one token at a time. */
function cachedLogits(m: Transformer, ids: number[]): Float32Array {
  const cache = new KVCache(m.config, 1, ids.length);
  const out = new Float32Array(ids.length * V);
  for (let t = 0; t < ids.length;) {
    const n = t === 0 ? 3 : 1;
    out.set(m.infer(Int32Array.from(ids.slice(t, t + n)), 1, n, { cache }).data, t * V);
    t += n;
  }
  return out;
}

/** Logits of every prompt position through the paged pool: a 7-token prefill, then single tokens, then the rest, in scrambled blocks. */
function pagedLogits(m: Transformer, ids: number[]): Float32Array {
  const bs = 4, numBlocks = 16;
  const paged = new PagedModel(m, new KVPool(m.config, numBlocks, bs, 'f32'));
  const table = Int32Array.from({ length: Math.ceil(ids.length / bs) }, (_, i) => (i * 5 + 3) % numBlocks);
  const out = new Float32Array(ids.length * V);
  const chunks = [7, 1, 1, ids.length - 9];
  let t0 = 0;
  for (const n of chunks) {
    const pos = Int32Array.from({ length: n }, (_, i) => t0 + i);
    const logits = paged.forward({
      tokens: Int32Array.from(ids.slice(t0, t0 + n)), positions: pos, slots: pos.map((p) => table[Math.floor(p / bs)] * bs + (p % bs)),
      blockTables: table, tableStart: new Int32Array(n), ctxLen: pos.map((p) => p + 1), logitRows: Int32Array.from({ length: n }, (_, i) => i),
    });
    out.set(logits, t0 * V);
    t0 += n;
  }
  return out;
}

function greedyFull(m: Transformer, ids: number[], n: number): number[] {
  const seq = ids.slice();
  for (let i = 0; i < n; i++) {
    const logits = tidy(() => m.infer(Int32Array.from(seq), 1, seq.length, { lastOnly: true }).data.slice());
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[v] > logits[best]) best = v;
    seq.push(best);
  }
  return seq.slice(ids.length);
}

Object.keys(CASES).forEach((name, i) => {
  test(`transformers parity: ${name}`, { skip }, async () => {
    const ref = refs.get(name)!;
    const m = load(i);
    const ids = prompt(i);
    const want = f32(ref.logits);
    compareLogits(tidy(() => m.infer(Int32Array.from(ids), 1, T).data.slice()), want, 'full forward');
    compareLogits(tidy(() => cachedLogits(m, ids)), want, 'KV cache');
    compareLogits(pagedLogits(m, ids), want, 'paged pool');

    // Loss and gradients: mean next-token cross-entropy over the prompt, as transformers' labels=ids.
    const targets = Int32Array.from(ids.slice(1).concat([-100]));
    const loss = tidy(() => {
      for (const p of m.parameters()) p.zeroGrad();
      const l = m.loss(Int32Array.from(ids), targets, 1, T);
      backward(l);
      return l.item();
    });
    assert.ok(Math.abs(loss - ref.loss) <= 1e-5 * Math.max(1, ref.loss), `loss ${loss} vs ${ref.loss}`);
    const known = new Set(m.params.keys());
    for (const [hfName, g64] of Object.entries(ref.grads)) {
      const hcx = hcxParamName(m.config, hfName, known, 'reference')!;
      const want = f32(g64), got = m.param(hcx).grad!.data;
      let scale = 0, worst = 0;
      for (let j = 0; j < want.length; j++) { scale = Math.max(scale, Math.abs(want[j])); worst = Math.max(worst, Math.abs(got[j] - want[j])); }
      assert.ok(worst <= 1e-3 * scale + 1e-7, `gradient of ${hfName}: max |Δ| ${worst.toExponential(2)} vs max |g| ${scale.toExponential(2)}`);
    }
    assert.equal(Object.keys(ref.grads).length, m.parameters().length, 'every parameter has a reference gradient');

    assert.deepEqual(greedyFull(m, ids, NEW), ref.generated, 'greedy, full forward each step');
    assert.deepEqual(generate(m, ids, { maxNewTokens: NEW }).ids, ref.generated, 'greedy, generate() with the KV cache');
    const engine = new Engine(m, { blockSize: 4 });
    const out = await engine.submit(ids, { maxTokens: NEW }).done;
    assert.deepEqual(out.outputTokens, ref.generated, 'greedy, the serving engine (paged KV)');
    await engine.shutdown();

    const exported = path.join(dir, `export-${i}`);
    exportHfModel(m, null, exported);
    exports.push({ name, dir: exported, ids, want });
  });
});

test('transformers loads hcx\'s export of every architecture as that architecture, with the same logits', { skip }, () => {
  assert.equal(exports.length, Object.keys(CASES).length, 'every parity case exported its model');
  const out = runPython([SCRIPT], { input: JSON.stringify({ cases: exports.map((e) => ({ load: e.dir, ids: e.ids })) }) }).trim().split('\n');
  exports.forEach((e, i) => {
    const back = JSON.parse(out[i]) as { architecture: string; logits: string };
    assert.equal(back.architecture, (CASES[e.name].architectures as string[])[0], e.name);
    compareLogits(f32(back.logits), e.want, `transformers on hcx's export (${e.name})`);
  });
});

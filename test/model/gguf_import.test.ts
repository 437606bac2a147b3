// GGUF import against llama.cpp's own converter: tiny random Hugging Face models (llama with GQA, biases and
// Llama 3 RoPE scaling; qwen2 tied; qwen3 with head_dim != hidden/heads; exaone4 with a sliding-window pattern)
// converted by convert_hf_to_gguf.py (F32, Q8_0, and split into 5 parts) read back to the Hugging Face weights
// bit for bit (F32: names, shapes, the llama Q/K un-permutation), to gguf-py's dequantised values (Q8_0), and to
// the config values transformers resolves. And hcx's own GGUF export imported again: F32 identical, F16 and BF16
// exactly the rounded weights.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readGgufModel, openGgufModel } from '../../src/model/gguf/hf_import.js';
import { GgufReader } from '../../src/model/gguf/reader.js';
import { readHfWeights } from '../../src/model/hf_weights.js';
import { loadSafetensors, toFloat32 } from '../../src/model/safetensors.js';
import { exportGguf, readGguf } from '../../src/model/gguf.js';
import { f32ToBf16, f32ToF16, hfConfig } from '../../src/model/export_hf.js';
import { Transformer } from '../../src/model/transformer.js';
import { parseModelConfig } from '../../src/model/config.js';
import { trainTokenizer, type Tokenizer } from '../../src/tokenizer/index.js';
import { pythonMissing, runPython } from '../helpers/python.js';
import { llamaCppConverter } from './llama_cpp_source.js';
import { cpuLlama, llamaCppLogProbs, logProbGap } from '../helpers/llama_cpp.js';
import { openModel } from '../../src/model/load.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const script = path.resolve(here, '../../../test/model/py/convert_tiny_hf.py');
const ARCHS = ['llama', 'qwen2', 'qwen3', 'exaone4'];

const conv = llamaCppConverter();
const skipConvert = pythonMissing(['torch', 'transformers', 'gguf', 'safetensors', 'tokenizers']) || ('missing' in conv ? conv.missing : false);
let out = '';
before(() => {
  if (skipConvert || 'missing' in conv) return;
  out = mkdtempSync(path.join(os.tmpdir(), 'hcx-gguf-import-'));
  runPython([script, conv.dir, out]);
});
after(() => { if (out) rmSync(out, { recursive: true, force: true }); });

test('convert_hf_to_gguf.py F32 output imports to the Hugging Face weights and config (llama, qwen2, qwen3, exaone4)', { skip: skipConvert }, () => {
  for (const arch of ARCHS) {
    const g = readGgufModel(path.join(out, `${arch}-f32.gguf`));
    const hf = readHfWeights(path.join(out, arch), { as: 'f32' });
    const expect = JSON.parse(readFileSync(path.join(out, `${arch}.expect.json`), 'utf8')) as Record<string, unknown>;
    assert.equal(g.source.architecture, arch);
    assert.deepEqual(g.config.architectures, hf.config.architectures, arch);
    assert.equal(g.config.model_type, hf.config.model_type);
    for (const key of ['hidden_size', 'intermediate_size', 'num_attention_heads', 'num_key_value_heads', 'num_hidden_layers', 'rms_norm_eps',
      'rope_theta', 'max_position_embeddings', 'vocab_size', 'tie_word_embeddings', 'rope_scaling']) {
      assert.deepEqual(g.config[key], expect[key], `${arch} ${key}`);
    }
    if (arch !== 'qwen2') assert.equal(g.config.head_dim, expect.head_dim, `${arch} head_dim`);
    if (arch === 'exaone4') {
      assert.equal(g.config.sliding_window, expect.sliding_window);
      assert.deepEqual(g.config.layer_types, expect.layer_types);
    }
    if (arch === 'llama') assert.equal(g.config.attention_bias, true);
    assert.equal(g.config.bos_token_id, hf.config.bos_token_id);
    assert.deepEqual([...g.tensors.keys()].sort(), [...hf.tensors.keys()].sort(), `${arch}: tensor names`);
    for (const [name, t] of hf.tensors) {
      const x = g.tensors.get(name)!;
      assert.deepEqual(x.shape, t.shape, `${arch} ${name}`);
      assert.deepEqual(x.data, t.data, `${arch} ${name}`);
    }
    assert.equal((g.metadata.get('tokenizer.ggml.tokens')?.value as string[]).length, 320, 'the tokenizer metadata comes along');
  }
});

test('a Q8_0 GGUF quantised by gguf-py imports to gguf-py\'s dequantised values, un-permuted for llama', { skip: skipConvert }, () => {
  const file = path.join(out, 'llama-q8_0.gguf');
  const ref = loadSafetensors(path.join(out, 'llama-q8_0.ref.safetensors'));
  const types = JSON.parse(ref.metadata.types) as Record<string, string>;
  assert.ok(Object.values(types).filter((t) => t === 'Q8_0').length >= 14, 'the matrices are Q8_0');
  const r = GgufReader.open(file);
  try {
    for (const [name, t] of ref.tensors) assert.deepEqual(r.read(name, 'f32'), t.data, name);
  } finally {
    r.close();
  }
  // Through the import: every weight within Q8_0's rounding of the original (so Q/K rows are back in place).
  const g = readGgufModel(file);
  const hf = readHfWeights(path.join(out, 'llama'), { as: 'f32' });
  for (const [name, t] of hf.tensors) {
    const x = g.tensors.get(name)!.data as Float32Array, w = t.data as Float32Array;
    const cols = t.shape.length > 1 ? t.shape[1] : w.length;
    for (let i = 0; i < w.length; i += 32) {
      let amax = 0;
      for (let j = i; j < i + 32 && j < w.length; j++) amax = Math.max(amax, Math.abs(w[j]));
      for (let j = i; j < i + 32 && j < w.length; j++) assert.ok(Math.abs(x[j] - w[j]) <= (amax / 127) * 0.5 + 1e-3 * amax, `${name}[${j}] (row ${Math.floor(j / cols)}): ${x[j]} vs ${w[j]}`);
    }
  }
});

test('a split GGUF (convert_hf_to_gguf.py --split-max-tensors) opens from any part as the whole model', { skip: skipConvert }, () => {
  const whole = readGgufModel(path.join(out, 'llama-f32.gguf'));
  for (const part of ['llama-00001-of-00005.gguf', 'llama-00004-of-00005.gguf']) {
    const m = readGgufModel(path.join(out, 'split', part));
    assert.equal(m.source.files.length, 5);
    assert.deepEqual(m.config, whole.config);
    assert.deepEqual([...m.tensors.keys()].sort(), [...whole.tensors.keys()].sort());
    for (const [name, t] of whole.tensors) assert.deepEqual(m.tensors.get(name)!.data, t.data, name);
  }
  const lazy = openGgufModel(path.join(out, 'split', 'llama-00002-of-00005.gguf'));
  try {
    const e = lazy.entry('model.layers.1.self_attn.k_proj.weight');
    assert.deepEqual(e.shape, [2 * 32, 128]);
    assert.equal(e.unpermuteHeads, 2);
    const into = new Uint16Array(e.shape[0] * e.shape[1]);
    lazy.read(e.hfName, 'bf16', into);
    assert.deepEqual(into, f32ToBf16(whole.tensors.get(e.hfName)!.data as Float32Array));
  } finally {
    lazy.close();
  }
});

test('a GGUF imported by hcx gives llama.cpp\'s next-token log-probs on the same file (llama, qwen2, qwen3, exaone4 at 64 layers; F32 and Q8_0)', { skip: skipConvert }, async (t) => {
  const llama = await cpuLlama();
  // 24 tokens: past exaone4's 16-token sliding window, so its local layers' masking is exercised too.
  const prompts = [Array.from({ length: 24 }, (_, i) => (i * 37 + 5) % 318 + 2), [2, 300, 17, 17, 250, 9]];
  // exaone4_64, not exaone4: llama.cpp runs EXAONE 4's hybrid attention only at the 32B's 64 layers (see
  // py/convert_tiny_hf.py); hcx follows the config at any depth, as transformers does (architectures.test.ts).
  // Q8_0: llama.cpp also rounds the activations to 8 bits in its Q8_0 matmuls, hcx computes on the dequantised
  // weights in fp32, so that file gets a looser bound.
  for (const file of ['llama-f32.gguf', 'qwen2-f32.gguf', 'qwen3-f32.gguf', 'exaone4_64-f32.gguf', 'llama-q8_0.gguf']) {
    const o = openModel(path.join(out, file));
    const V = o.model.config.vocabSize;
    const lm = await llama.loadModel({ modelPath: path.join(out, file) });
    try {
      const theirs = await llamaCppLogProbs(lm, prompts, V);
      let worst = 0, range = 0;
      prompts.forEach((p, i) => {
        const g = logProbGap(o.model.infer(Int32Array.from(p), 1, p.length).data, theirs[i], V);
        worst = Math.max(worst, g.maxDiff); range = Math.max(range, g.range);
      });
      t.diagnostic(`${file}: max |Δ log p| ${worst.toExponential(2)}, logit range ${range.toFixed(2)}`);
      assert.ok(range > 0.5, `${file}: the random model's logits are not flat (range ${range})`);
      const tol = (file.includes('q8_0') ? 2e-2 : 1e-4) * Math.max(1, range);
      assert.ok(worst < tol, `${file}: max |Δ log p| ${worst} >= ${tol} against llama.cpp (logit range ${range})`);
    } finally {
      await lm.dispose();
    }
  }
});

let tok: Tokenizer;
test('hcx GGUF export imported again: F32 identical, F16 / BF16 the rounded weights, config as the HF export has it', async () => {
  tok ??= await trainTokenizer({ texts: Array.from({ length: 8 }, () => ['서울에서 친구를 만났습니다.', 'The quick brown fox.']).flat(), vocabSize: 300, split: 'rules' });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hcx-gguf-rt-'));
  try {
    for (const tie of [true, false]) {
      const cfg = parseModelConfig({ vocabSize: 320, dModel: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, ffnHidden: 96, maxSeqLen: 128, ropeScale: tie ? 1 : 0.5, tieEmbeddings: tie });
      const m = new Transformer(cfg, 5);
      const hc = hfConfig(cfg, { bos: tok.special.eot, eos: tok.special.endofturn, pad: tok.special.pad });
      for (const dtype of ['F32', 'F16', 'BF16'] as const) {
        const file = path.join(dir, `m-${tie}-${dtype}.gguf`);
        exportGguf(m, tok, file, { dtype });
        assert.equal(readGguf(file).tensors.length, m.params.size, 'the streamed writer wrote every tensor');
        const g = readGgufModel(file, { as: dtype === 'BF16' ? 'bf16' : 'f32' });
        for (const key of ['architectures', 'hidden_size', 'intermediate_size', 'num_attention_heads', 'num_key_value_heads', 'num_hidden_layers', 'head_dim',
          'rms_norm_eps', 'rope_theta', 'rope_scaling', 'max_position_embeddings', 'vocab_size', 'tie_word_embeddings', 'bos_token_id', 'pad_token_id']) {
          const want = key === 'rope_scaling' && hc.rope_scaling ? { rope_type: 'linear', factor: 2 } : hc[key];
          assert.deepEqual(g.config[key], want, `${dtype} ${key}`);
        }
        assert.equal(g.config.eos_token_id, tok.special.endofturn);
        assert.deepEqual([...g.tensors.keys()].sort(), [...m.params.keys()].sort());
        for (const [name, p] of m.params) {
          const t = g.tensors.get(name)!;
          assert.deepEqual(t.shape, [...p.shape], name);
          const matrix = p.shape.length === 2; // norms stay F32 in the export
          const want = !matrix || dtype === 'F32' ? p.data : dtype === 'F16' ? toFloat32({ dtype: 'F16', shape: [...p.shape], data: f32ToF16(p.data) }) : f32ToBf16(p.data);
          assert.deepEqual(t.data, dtype === 'BF16' && !matrix ? f32ToBf16(p.data) : want, `${dtype} ${name}`);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

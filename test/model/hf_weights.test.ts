// Hugging Face model directories: sharded checkpoints that transformers' save_pretrained writes (bf16, several
// shards) read to the same values transformers holds; the hcx HF export read back identically (F32) and within
// its rounding (F16, BF16: exactly the rounded values); every bad-directory error naming the file and field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openHfWeights, readHfWeights } from '../../src/model/hf_weights.js';
import { loadSafetensors, saveSafetensors, type StTensor } from '../../src/model/safetensors.js';
import { exportHfModel, f32ToBf16, f32ToF16 } from '../../src/model/export_hf.js';
import { Transformer } from '../../src/model/transformer.js';
import { PRESETS } from '../../src/model/config.js';
import { pythonMissing, runPython } from '../helpers/python.js';

const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), 'hcx-hfw-'));

test('transformers save_pretrained checkpoints (sharded, bf16; Llama and Qwen2) read to transformers\' own values', { skip: pythonMissing(['torch', 'transformers', 'safetensors']) }, () => {
  const dir = tmp();
  try {
    runPython(['-c', `
import sys, torch, transformers
from safetensors.torch import save_file
torch.manual_seed(0)
out = sys.argv[1]
common = dict(hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=300, max_position_embeddings=128)
for name, cfg, cls in [('llama', transformers.LlamaConfig(**common, tie_word_embeddings=False), transformers.LlamaForCausalLM),
                       ('qwen2', transformers.Qwen2Config(**common, tie_word_embeddings=True), transformers.Qwen2ForCausalLM)]:
    m = cls(cfg).to(torch.bfloat16)
    m.save_pretrained(f'{out}/{name}', max_shard_size='40KB')
    save_file({k: v.float().contiguous() for k, v in m.state_dict().items() if not (cfg.tie_word_embeddings and k == 'lm_head.weight')}, f'{out}/{name}-ref.safetensors')
`, dir]);
    for (const name of ['llama', 'qwen2']) {
      const d = path.join(dir, name);
      assert.ok(readdirSync(d).includes('model.safetensors.index.json'), `${name} is sharded`);
      const shards = readdirSync(d).filter((f) => /^model-\d+-of-\d+\.safetensors$/.test(f));
      assert.ok(shards.length >= 3, `${name}: ${shards.length} shards`);
      const ref = loadSafetensors(path.join(dir, `${name}-ref.safetensors`)).tensors;
      const w = readHfWeights(d, { as: 'f32' });
      assert.equal(w.config.model_type, name);
      assert.equal(w.source.indexFile, path.join(d, 'model.safetensors.index.json'));
      assert.deepEqual(w.source.files.map((f) => path.basename(f)).sort(), shards.sort());
      assert.deepEqual([...w.tensors.keys()].sort(), [...ref.keys()].sort());
      for (const [k, t] of ref) {
        const got = w.tensors.get(k)!;
        assert.deepEqual(got.shape, t.shape, k);
        assert.deepEqual(got.data, t.data, k);
      }
      const stored = readHfWeights(d, { names: (n) => n.endsWith('q_proj.weight') });
      assert.equal(stored.tensors.size, 2);
      for (const t of stored.tensors.values()) assert.equal(t.dtype, 'BF16');
      if (name === 'qwen2') assert.ok(w.tensors.has('model.layers.0.self_attn.q_proj.bias'));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hcx HF export read back: F32 identical, F16 and BF16 exactly the rounded weights; a .safetensors path works too', () => {
  const dir = tmp();
  try {
    const m = new Transformer({ ...PRESETS.test }, 7);
    for (const dtype of ['f32', 'f16', 'bf16'] as const) {
      const out = path.join(dir, dtype);
      exportHfModel(m, null, out, { dtype });
      const w = readHfWeights(out);
      assert.equal(w.config.hidden_size, PRESETS.test.dModel);
      assert.deepEqual(w.metadata, { format: 'pt' });
      assert.deepEqual([...w.tensors.keys()].sort(), [...m.params.keys()].sort());
      for (const [name, p] of m.params) {
        const t = w.tensors.get(name)!;
        assert.deepEqual(t.shape, [...p.shape]);
        const want = dtype === 'f32' ? p.data : dtype === 'f16' ? f32ToF16(p.data) : f32ToBf16(p.data);
        assert.deepEqual(t.data, want, `${dtype} ${name}`);
      }
    }
    const single = readHfWeights(path.join(dir, 'bf16', 'model.safetensors'), { as: 'f32' });
    assert.equal(single.source.indexFile, null);
    assert.equal(single.tensors.get('model.norm.weight')!.dtype, 'F32');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a lazy checkpoint reads single tensors into caller arrays', () => {
  const dir = tmp();
  try {
    const m = new Transformer({ ...PRESETS.test }, 8);
    exportHfModel(m, null, dir, { dtype: 'bf16' });
    const ck = openHfWeights(dir);
    try {
      const e = ck.entry('model.layers.1.mlp.down_proj.weight');
      assert.equal(e.dtype, 'BF16');
      assert.deepEqual(e.shape, [PRESETS.test.dModel, PRESETS.test.ffnHidden]);
      const into = new Float32Array(e.shape[0] * e.shape[1]);
      ck.read(e.name, 'f32', into);
      assert.deepEqual(f32ToBf16(into), f32ToBf16(m.params.get(e.name)!.data));
      assert.throws(() => ck.read('model.nope'), /model\.safetensors: no tensor "model\.nope"/);
    } finally {
      ck.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A two-shard directory of tensors a, b, c; `index` overrides the index JSON. */
function sharded(dir: string, index?: unknown): void {
  mkdirSync(dir, { recursive: true });
  const t = (v: number): StTensor => ({ dtype: 'F32', shape: [2], data: Float32Array.from([v, v]) });
  saveSafetensors(path.join(dir, 'model-00001-of-00002.safetensors'), [['a', t(1)], ['b', t(2)]]);
  saveSafetensors(path.join(dir, 'model-00002-of-00002.safetensors'), [['c', t(3)]]);
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ architectures: ['LlamaForCausalLM'] }));
  const wm = { a: 'model-00001-of-00002.safetensors', b: 'model-00001-of-00002.safetensors', c: 'model-00002-of-00002.safetensors' };
  writeFileSync(path.join(dir, 'model.safetensors.index.json'), typeof index === 'string' ? index : JSON.stringify(index ?? { metadata: {}, weight_map: wm }));
}

test('bad model directories: each error names the file and the field or tensor', () => {
  const dir = tmp();
  try {
    const d = path.join(dir, 'm');
    sharded(d);
    assert.deepEqual([...readHfWeights(d).tensors.keys()], ['a', 'b', 'c']);
    const cases: [string, () => void, RegExp][] = [
      ['index not JSON', () => sharded(d, '{"weight_map": '), /model\.safetensors\.index\.json: the shard index is not valid JSON/],
      ['no weight_map', () => sharded(d, { metadata: {} }), /model\.safetensors\.index\.json: weight_map must be an object mapping tensor names to shard files/],
      ['path in weight_map', () => sharded(d, { weight_map: { a: '../x.safetensors' } }), /model\.safetensors\.index\.json: weight_map\["a"\] = "\.\.\/x\.safetensors" is not a file name in the model directory/],
      ['missing shard', () => sharded(d, { weight_map: { a: 'model-00001-of-00002.safetensors', z: 'model-00003-of-00003.safetensors' } }),
        /model\.safetensors\.index\.json: shard "model-00003-of-00003\.safetensors" \(listed for tensor "z"\) does not exist/],
      ['tensor absent from its shard', () => sharded(d, { weight_map: { a: 'model-00001-of-00002.safetensors', c: 'model-00001-of-00002.safetensors' } }),
        /model-00001-of-00002\.safetensors: no tensor "c", which .*model\.safetensors\.index\.json puts in this shard/],
      ['broken shard', () => { sharded(d); writeFileSync(path.join(d, 'model-00002-of-00002.safetensors'), Buffer.alloc(4)); },
        /model-00002-of-00002\.safetensors: 4 bytes is too short for a safetensors file/],
      ['no config.json', () => { sharded(d); rmSync(path.join(d, 'config.json')); }, /m\/config\.json: no config\.json/],
      ['config.json broken', () => { sharded(d); writeFileSync(path.join(d, 'config.json'), '{'); }, /m\/config\.json: config\.json is not valid JSON/],
      ['pickles only', () => { mkdirSync(d); writeFileSync(path.join(d, 'pytorch_model.bin'), ''); },
        /m: no model\.safetensors or model\.safetensors\.index\.json \(it has pytorch_model\.bin: hcx reads safetensors only/],
    ];
    for (const [what, make, re] of cases) {
      rmSync(d, { recursive: true, force: true });
      make();
      assert.throws(() => readHfWeights(d), re, what);
    }
    assert.throws(() => readHfWeights(path.join(dir, 'nowhere')), /nowhere: no such file or directory/);
    rmSync(d, { recursive: true, force: true });
    sharded(d);
    renameSync(path.join(d, 'config.json'), path.join(d, 'x.json'));
    writeFileSync(path.join(d, 'w.bin'), '');
    assert.throws(() => readHfWeights(path.join(d, 'w.bin')), /w\.bin: expected a Hugging Face model directory or a \.safetensors file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

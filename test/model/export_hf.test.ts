// Hugging Face export: safetensors with LlamaForCausalLM names, shapes and values; config.json; tokenizer.json
// that gives hcx's ids in tokenizers.js; and the `hcx export` command on a run directory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { trainTokenizer, type Tokenizer } from '../../src/tokenizer/index.js';
import { Transformer } from '../../src/model/transformer.js';
import { parseModelConfig } from '../../src/model/config.js';
import { loadSafetensors, toFloat32 } from '../../src/model/safetensors.js';
import { saveCheckpoint } from '../../src/model/checkpoint.js';
import { exportHfModel, floatToHalf, f32ToBf16 } from '../../src/model/export_hf.js';
import { readGguf } from '../../src/model/gguf.js';
import { main } from '../../src/cli/main.js';

const TEXT = ['서울에서 친구를 만났습니다.', 'The quick brown fox jumps over the lazy dog.', 'def f(x):\n    return x * 2\n', '오늘 날씨가 정말 좋네요!'];
let dir: string;
let tok: Tokenizer;

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'hcx-export-hf-'));
  tok = await trainTokenizer({ texts: Array.from({ length: 10 }, () => TEXT).flat(), vocabSize: 320, split: 'rules' });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('HF layout: tensor names, shapes and values; config.json; tied embeddings have no lm_head', () => {
  for (const tie of [true, false]) {
    const cfg = parseModelConfig({ vocabSize: tok.vocabSize, dModel: 32, nLayers: 2, nHeads: 4, nKvHeads: 2, ffnHidden: 48, maxSeqLen: 256, ropeScale: tie ? 1 : 0.25, tieEmbeddings: tie });
    const m = new Transformer(cfg, 4);
    const out = path.join(dir, `hf-${tie}`);
    exportHfModel(m, tok, out);
    const st = loadSafetensors(path.join(out, 'model.safetensors'));
    assert.deepEqual([...st.tensors.keys()].sort(), [...m.params.keys()].sort());
    assert.equal(st.tensors.has('lm_head.weight'), !tie);
    assert.ok(st.tensors.has('model.layers.1.self_attn.q_proj.weight'));
    for (const [name, t] of m.params) {
      const s = st.tensors.get(name)!;
      assert.equal(s.dtype, 'F32');
      assert.deepEqual(s.shape, [...t.shape], name);
      assert.deepEqual(toFloat32(s), t.data, name);
    }
    assert.deepEqual(st.tensors.get('model.layers.0.self_attn.k_proj.weight')!.shape, [2 * 8, 32]);
    const c = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
    assert.deepEqual(c.architectures, ['LlamaForCausalLM']);
    assert.equal(c.hidden_size, 32);
    assert.equal(c.intermediate_size, 48);
    assert.equal(c.num_attention_heads, 4);
    assert.equal(c.num_key_value_heads, 2);
    assert.equal(c.num_hidden_layers, 2);
    assert.equal(c.vocab_size, tok.vocabSize);
    assert.equal(c.rms_norm_eps, 1e-5);
    assert.equal(c.rope_theta, 10000);
    assert.equal(c.max_position_embeddings, 256);
    assert.equal(c.tie_word_embeddings, tie);
    assert.equal(c.torch_dtype, 'float32');
    assert.equal(c.bos_token_id, tok.special.eot);
    assert.deepEqual(c.eos_token_id, [tok.special.endofturn, tok.special.eot]);
    assert.deepEqual(c.rope_scaling, tie ? null : { type: 'linear', rope_type: 'linear', factor: 4 });
    const g = JSON.parse(readFileSync(path.join(out, 'generation_config.json'), 'utf8'));
    assert.deepEqual(g.eos_token_id, c.eos_token_id);
  }
});

test('HF tokenizer.json from the export gives the same ids in tokenizers.js', () => {
  const out = path.join(dir, 'hf-true');
  const hf = new HfTokenizer(JSON.parse(readFileSync(path.join(out, 'tokenizer.json'), 'utf8')), JSON.parse(readFileSync(path.join(out, 'tokenizer_config.json'), 'utf8')));
  for (const s of [...TEXT, 'GPT를 쓰는 사람들은 12345개의 토큰을 셉니다.', "I'll be there at 10:30."]) {
    assert.deepEqual(hf.encode(s, { add_special_tokens: false }).ids, tok.encode(s), s);
  }
  assert.deepEqual(hf.encode('<|user|>안녕<|endofturn|><|assistant|>', { add_special_tokens: false }).ids,
    tok.encode('<|user|>안녕<|endofturn|><|assistant|>', { allowSpecial: true }));
});

test('f16 and bf16 conversion: round to nearest even, overflow, subnormals', () => {
  assert.equal(floatToHalf(1), 0x3c00);
  assert.equal(floatToHalf(-2), 0xc000);
  assert.equal(floatToHalf(65504), 0x7bff);
  assert.equal(floatToHalf(65520), 0x7c00); // rounds up to infinity
  assert.equal(floatToHalf(2 ** -24), 0x0001); // smallest subnormal
  assert.equal(floatToHalf(2 ** -25), 0x0000); // halfway to 0: ties to even
  assert.equal(floatToHalf(1.5 * 2 ** -24), 0x0002); // halfway between 1 and 2 subnormal units: even
  assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00); // halfway between 1 and the next half: even (down)
  assert.equal(floatToHalf(1 + 3 * 2 ** -11), 0x3c02); // halfway: even (up)
  assert.equal(floatToHalf(NaN) & 0x7c00, 0x7c00);
  assert.deepEqual([...f32ToBf16(new Float32Array([1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, -0]))], [0x3f80, 0x3f80, 0x3f82, 0x8000]);
});

test('hcx export on a run directory: its tokenizer.json by default, HF f16 + GGUF f16', async () => {
  const run = path.join(dir, 'run');
  const cfg = parseModelConfig({ vocabSize: tok.vocabSize, dModel: 32, nLayers: 1, nHeads: 2, nKvHeads: 1, ffnHidden: 48, maxSeqLen: 64, tieEmbeddings: true });
  const m = new Transformer(cfg, 8);
  saveCheckpoint(run, { model: m, state: { step: 3, tokensSeen: 0 } });
  tok.save(path.join(run, 'tokenizer.json'));
  const out = path.join(dir, 'export');
  const log = console.log;
  console.log = () => {};
  try {
    await main(['export', '--model', run, '--out', out, '--format', 'both', '--dtype', 'f16']);
  } finally {
    console.log = log;
  }
  for (const f of ['model.safetensors', 'config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'model-f16.gguf']) {
    assert.ok(existsSync(path.join(out, f)), f);
  }
  const st = loadSafetensors(path.join(out, 'model.safetensors'));
  const e = st.tensors.get('model.embed_tokens.weight')!;
  assert.equal(e.dtype, 'F16');
  const back = toFloat32(e), orig = m.param('model.embed_tokens.weight').data;
  for (let i = 0; i < orig.length; i++) assert.ok(Math.abs(back[i] - orig[i]) <= Math.abs(orig[i]) * 2 ** -11 + 2 ** -25, `embed[${i}]`);
  const g = readGguf(path.join(out, 'model-f16.gguf'));
  assert.equal(g.metadata.get('general.file_type')?.value, 1);
  assert.equal(g.tensors.find((t) => t.name === 'blk.0.ffn_up.weight')?.dtype, 'F16');
  assert.equal(g.tensors.find((t) => t.name === 'blk.0.attn_norm.weight')?.dtype, 'F32');
  assert.equal(JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8')).torch_dtype, 'float16');
});

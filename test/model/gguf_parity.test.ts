// GGUF export checked against llama.cpp (node-llama-cpp 3.21.1, CPU): a tiny hcx model trained here for a
// few dozen steps on a small text, with a tokenizer trained here, is exported as GGUF; llama.cpp's next-token
// distributions for several prompts (given as token ids, so pre-tokenizer differences do not matter) match
// hcx's, and greedy generations are identical.
//
// Tolerance: llama.cpp returns probabilities (softmax of its logits), so logits are compared as log-probs
// (logits up to the per-position constant logsumexp). F32: max |Δ log p| over the whole vocabulary at every
// prompt position < 1e-4 · max(1, logit range) (measured: ~4e-6 absolute, float32 rounding). F16 weights
// (llama.cpp also rounds activations to F16 for its F16 matmuls): < 0.05 · max(1, logit range) (measured ~3e-3).
// BF16: < 0.1 · max(1, logit range).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Llama, LlamaModel, Token } from 'node-llama-cpp';
import { cpuLlama, llamaCppGreedy, llamaCppLogProbs, logProbGap } from '../helpers/llama_cpp.js';
import { AdamW, backward, tidy, Rng } from '../../src/tensor/index.js';
import { trainTokenizer, type Tokenizer } from '../../src/tokenizer/index.js';
import { Transformer } from '../../src/model/transformer.js';
import { generate } from '../../src/model/generate.js';
import { parseModelConfig, type ModelConfig } from '../../src/model/config.js';
import {
  exportGguf, readGguf, permuteRopeRows, unpermuteRopeRows, encodeGguf, decodeGguf, gv, type GgufDtype,
} from '../../src/model/gguf.js';
import { f32ToF16 } from '../../src/model/export_hf.js';

const TEXT = [
  '서울에서 친구를 만났습니다. 우리는 커피를 마시고 공원을 걸었습니다.',
  '학교에서는 한국어와 영어를 배웁니다. 선생님은 친절합니다.',
  'The quick brown fox jumps over the lazy dog. The dog sleeps in the sun.',
  'Tokenizers turn text into numbers, and models turn numbers into text.',
  'function add(a, b) {\n  return a + b;\n}\n',
  '오늘 날씨가 정말 좋네요! 내일은 비가 온다고 합니다.',
];

let dir: string;
let tok: Tokenizer;
let model: Transformer;
let llama: Llama;
const loaded: LlamaModel[] = [];

function trainTiny(t: Tokenizer, cfg: ModelConfig, steps: number): Transformer {
  const m = new Transformer(cfg, 3);
  const opt = new AdamW(m.parameters(), { weightDecay: 0 });
  const stream = TEXT.flatMap((s) => [...t.encode(s), t.special.eot]);
  const B = 4, T = 32;
  const rng = new Rng(5);
  for (let s = 0; s < steps; s++) {
    const ids = new Int32Array(B * T), tgt = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const o = rng.int(stream.length - T - 1);
      for (let j = 0; j < T; j++) { ids[b * T + j] = stream[o + j]; tgt[b * T + j] = stream[o + j + 1]; }
    }
    tidy(() => { opt.zeroGrad(); backward(m.loss(ids, tgt, B, T)); return 0; });
    opt.update(1e-2);
  }
  return m;
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'hcx-gguf-parity-'));
  tok = await trainTokenizer({ texts: Array.from({ length: 20 }, () => TEXT).flat(), vocabSize: 400, split: 'rules' });
  const cfg = parseModelConfig({ vocabSize: tok.vocabSize, dModel: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, ffnHidden: 160, maxSeqLen: 128, tieEmbeddings: true });
  model = trainTiny(tok, cfg, 40);
  llama = await cpuLlama();
});

after(async () => {
  for (const m of loaded) await m.dispose();
  rmSync(dir, { recursive: true, force: true });
});

interface Parity { maxDiff: number; range: number; greedyHcx: number[][]; greedyLlama: number[][] }

async function compare(m: Transformer, dtype: GgufDtype, prompts: number[][], greedyTokens: number): Promise<Parity> {
  const file = path.join(dir, `m-${dtype}-${loaded.length}.gguf`);
  exportGguf(m, tok, file, { dtype });
  return compareFile(m, file, prompts, greedyTokens);
}

async function compareFile(m: Transformer, file: string, prompts: number[][], greedyTokens: number): Promise<Parity> {
  const lm = await llama.loadModel({ modelPath: file });
  loaded.push(lm);
  const V = m.config.vocabSize;
  const theirs = await llamaCppLogProbs(lm, prompts, V);
  let maxDiff = 0, range = 0;
  prompts.forEach((p, i) => {
    const g = logProbGap(m.infer(Int32Array.from(p), 1, p.length).data, theirs[i], V);
    maxDiff = Math.max(maxDiff, g.maxDiff); range = Math.max(range, g.range);
  });
  const greedyHcx: number[][] = [], greedyLlama: number[][] = [];
  if (greedyTokens > 0) {
    for (const p of prompts) {
      greedyHcx.push(generate(m, p, { maxNewTokens: greedyTokens }).ids);
      greedyLlama.push(await llamaCppGreedy(lm, p, greedyTokens));
    }
  }
  return { maxDiff, range, greedyHcx, greedyLlama };
}

const prompts = (): number[][] => [
  tok.encode('서울에서 친구를'),
  tok.encode('The quick brown fox'),
  tok.encode('function add(a, b) {\n'),
  tok.encode('Tokenizers turn text into numbers, and models turn numbers into text. The dog sleeps'),
  [tok.special.user, ...tok.encode('오늘 날씨가'), tok.special.endofturn, tok.special.assistant],
];

test('F32 GGUF: llama.cpp next-token log-probs match hcx and greedy generations are identical', async (t) => {
  const r = await compare(model, 'F32', prompts(), 16);
  t.diagnostic(`F32 tied: max |Δ log p| ${r.maxDiff.toExponential(2)}, logit range ${r.range.toFixed(2)}, greedy ${JSON.stringify(r.greedyHcx[1])}`);
  const tol = 1e-4 * Math.max(1, r.range);
  assert.ok(r.range > 2, `the trained model has non-trivial logits (range ${r.range})`);
  assert.ok(r.maxDiff < tol, `max |Δ log p| ${r.maxDiff} >= ${tol} (logit range ${r.range})`);
  assert.deepEqual(r.greedyLlama, r.greedyHcx);
  for (const g of r.greedyHcx) assert.equal(g.length, 16);
});

test('F32 GGUF, untied output, GQA 4:1, linear RoPE scaling: log-probs match', async (t) => {
  const cfg = parseModelConfig({ vocabSize: tok.vocabSize + 3, dModel: 64, nLayers: 2, nHeads: 4, nKvHeads: 1, ffnHidden: 96, maxSeqLen: 128, ropeScale: 0.5, ropeBase: 5000, tieEmbeddings: false });
  const m = new Transformer(cfg, 11);
  const rng = new Rng(2);
  for (const [name, t] of m.params) if (t.shape.length === 2) rng.fillNormal(t.data, name.includes('embed') ? 1 : 0.15);
  const r = await compare(m, 'F32', prompts(), 8);
  t.diagnostic(`F32 untied/GQA/scaled: max |Δ log p| ${r.maxDiff.toExponential(2)}, logit range ${r.range.toFixed(2)}`);
  const tol = 1e-4 * Math.max(1, r.range);
  assert.ok(r.maxDiff < tol, `max |Δ log p| ${r.maxDiff} >= ${tol} (logit range ${r.range})`);
  assert.deepEqual(r.greedyLlama, r.greedyHcx);
  const g = readGguf(path.join(dir, `m-F32-${loaded.length - 1}.gguf`));
  assert.equal(g.metadata.get('llama.rope.scaling.type')?.value, 'linear');
  assert.ok(Math.abs(Number(g.metadata.get('llama.rope.scaling.factor')?.value) - 2) < 1e-6);
  assert.ok(g.tensors.some((t) => t.name === 'output.weight'));
  const tokens = g.metadata.get('tokenizer.ggml.tokens')!.value as string[];
  assert.equal(tokens.length, cfg.vocabSize);
  // Control: the same file without the Q/K row permutation (hcx's rotate-half layout as is) does not match,
  // so the test would catch a RoPE convention mismatch.
  const hd = cfg.dModel / cfg.nHeads;
  const raw = g.tensors.map((x) => /attn_[qk]\.weight$/.test(x.name)
    ? { ...x, data: unpermuteRopeRows(x.data as Float32Array, x.name.endsWith('q.weight') ? cfg.nHeads : cfg.nKvHeads, hd, cfg.dModel) } : x);
  const bad = path.join(dir, 'unpermuted.gguf');
  writeFileSync(bad, encodeGguf(g.metadata, raw));
  const r2 = await compareFile(m, bad, prompts().slice(3, 4), 0);
  t.diagnostic(`without the permutation: max |Δ log p| ${r2.maxDiff.toExponential(2)}`);
  assert.ok(r2.maxDiff > 100 * tol, `unpermuted Q/K should not match (max |Δ log p| ${r2.maxDiff})`);
});

test('F16 and BF16 GGUF: log-probs match within their tolerance', async (t) => {
  const r = await compare(model, 'F16', prompts().slice(0, 3), 0);
  t.diagnostic(`F16: max |Δ log p| ${r.maxDiff.toExponential(2)}, logit range ${r.range.toFixed(2)}`);
  const tol = 0.05 * Math.max(1, r.range);
  assert.ok(r.maxDiff < tol, `max |Δ log p| ${r.maxDiff} >= ${tol} (logit range ${r.range})`);
  const rb = await compare(model, 'BF16', prompts().slice(0, 3), 0);
  t.diagnostic(`BF16: max |Δ log p| ${rb.maxDiff.toExponential(2)}`);
  assert.ok(rb.maxDiff < 0.1 * Math.max(1, rb.range), `BF16: max |Δ log p| ${rb.maxDiff} (logit range ${rb.range})`);
});

test('llama.cpp tokenizes text like hcx where the pre-tokenizers agree, and detokenizes losslessly', () => {
  const lm = loaded[0];
  assert.ok(lm, 'the F32 model of the first test is loaded');
  for (const s of [TEXT[2], TEXT[3], TEXT[4], "I'll be there at 10:30, won't you?"]) assert.deepEqual([...lm.tokenize(s, false)], tok.encode(s), s);
  assert.deepEqual([...lm.tokenize('<|user|>hi<|endofturn|>', true)], tok.encode('<|user|>hi<|endofturn|>', { allowSpecial: true }));
  // Documented difference: hcx splits letters by script ("GPT" + "를"), llama-bpe does not; text still round-trips.
  for (const s of [...TEXT, 'GPT를 쓰는 사람들은 12345개의 토큰을 셉니다.']) assert.equal(lm.detokenize(tok.encode(s) as Token[], false), s);
  assert.equal(lm.tokens.eos, tok.special.endofturn);
});

test('node-llama-cpp renders the GGUF chat template as hcx does: the same prompt tokens, stop at <|endofturn|>', async () => {
  const lm = loaded[0];
  assert.ok(lm, 'the F32 model of the first test is loaded');
  const { resolveChatWrapper, JinjaTemplateChatWrapper } = await import('node-llama-cpp');
  const template = lm.fileInfo.metadata.tokenizer.chat_template;
  assert.ok(typeof template === 'string' && !/\{%-? *(end)?generation/.test(template), 'the GGUF carries the marker-free template');
  // The wrapper node-llama-cpp picks for this file by itself (LlamaChatSession's default), not one we force.
  const wrapper = resolveChatWrapper(lm);
  assert.ok(wrapper instanceof JinjaTemplateChatWrapper, `node-llama-cpp resolved ${wrapper?.wrapperName}, not the file's Jinja template`);
  const system = 'You are a helpful assistant.', q1 = 'What is the capital of France?', a1 = 'The capital of France is Paris.', q2 = 'And of Spain?';
  const { contextText } = wrapper.generateContextState({ chatHistory: [
    { type: 'system', text: system }, { type: 'user', text: q1 }, { type: 'model', response: [a1] },
    { type: 'user', text: q2 }, { type: 'model', response: [] },
  ] });
  const ours = tok.encodeChat([
    { role: 'system', content: system }, { role: 'user', content: q1 }, { role: 'assistant', content: a1 }, { role: 'user', content: q2 },
  ], { addGenerationPrompt: true });
  assert.deepEqual([...contextText.tokenize(lm.tokenizer)], [...ours.ids]);
  const stops = wrapper.generateContextState({ chatHistory: [{ type: 'user', text: q1 }, { type: 'model', response: [] }] }).stopGenerationTriggers
    .map((t) => t.tokenize(lm.tokenizer));
  assert.ok(stops.some((t) => t.length === 1 && t[0] === tok.special.endofturn), `stop triggers ${JSON.stringify(stops)} include <|endofturn|>`);
});

test('GGUF reader gives back the metadata and tensors (Q/K rows permuted for llama.cpp RoPE)', () => {
  const file = path.join(dir, 'roundtrip.gguf');
  exportGguf(model, tok, file);
  const g = readGguf(file);
  assert.equal(g.version, 3);
  const meta = (k: string) => g.metadata.get(k)?.value;
  const c = model.config;
  assert.equal(meta('general.architecture'), 'llama');
  assert.equal(meta('llama.embedding_length'), c.dModel);
  assert.equal(meta('llama.block_count'), c.nLayers);
  assert.equal(meta('llama.attention.head_count_kv'), c.nKvHeads);
  assert.equal(meta('llama.rope.dimension_count'), c.dModel / c.nHeads);
  assert.equal(meta('tokenizer.ggml.model'), 'gpt2');
  assert.equal(meta('tokenizer.ggml.eos_token_id'), tok.special.endofturn);
  assert.equal(g.metadata.has('llama.rope.scaling.type'), false);
  assert.equal(g.tensors.some((t) => t.name === 'output.weight'), false, 'tied: no output.weight');
  assert.equal(g.tensors.length, 2 + 9 * c.nLayers);
  const byName = new Map(g.tensors.map((t) => [t.name, t]));
  const hd = c.dModel / c.nHeads;
  const q = byName.get('blk.1.attn_q.weight')!;
  assert.deepEqual(q.dims, [c.dModel, c.nHeads * hd]);
  assert.deepEqual(unpermuteRopeRows(q.data as Float32Array, c.nHeads, hd, c.dModel), model.param('model.layers.1.self_attn.q_proj.weight').data);
  assert.deepEqual(byName.get('blk.0.ffn_down.weight')!.data, model.param('model.layers.0.mlp.down_proj.weight').data);
  assert.deepEqual(byName.get('token_embd.weight')!.dims, [c.dModel, c.vocabSize]);
});

test('GGUF encoder: alignment, value types and F16 data survive a round trip', () => {
  const w = new Float32Array([1, -2.5, 65504, 1e-8, 0.1, 3]);
  const half = f32ToF16(w);
  const buf = encodeGguf([['a.u32', gv.u32(7)], ['a.str', gv.str('한국어')], ['a.arr', gv.i32s([-1, 2])], ['a.b', gv.bool(true)]],
    [{ name: 'x', dims: [3, 2], dtype: 'F32', data: w }, { name: 'h', dims: [6], dtype: 'F16', data: half }], 64);
  const g = decodeGguf(buf);
  assert.equal(g.alignment, 64);
  assert.equal(g.metadata.get('a.u32')?.value, 7);
  assert.equal(g.metadata.get('a.str')?.value, '한국어');
  assert.deepEqual(g.metadata.get('a.arr')?.value, [-1, 2]);
  assert.equal(g.metadata.get('a.b')?.value, true);
  assert.deepEqual(g.tensors[0].data, w);
  assert.deepEqual(g.tensors[1].data, half);
  const p = permuteRopeRows(Float32Array.from({ length: 8 * 2 }, (_, i) => i), 2, 4, 2);
  // head 0 rows [0,1,2,3] -> [0,2,1,3] (pairs (0,2),(1,3) become adjacent).
  assert.deepEqual([...p.subarray(0, 8)], [0, 1, 4, 5, 2, 3, 6, 7]);
});

// Fine-tuning and aligning imported models: SFT, the reward model, DPO and PPO start from a HyperCLOVA X
// SEED-shaped Hugging Face directory (a byte-level tokenizer.json, SEED's ChatML template) and from a GGUF
// file, train with the model's own chat template (loss on each assistant turn's content through its
// <|im_end|><|endofturn|>), keep the imported tokenizer in the run folder, and the loader opens each run
// with it again: same template, same stop tokens; the SFT'd model answers a training prompt and stops.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChatTurn } from '../../src/data/chat/readers.js';
import { trainingTemplate } from '../../src/data/chat/template.js';
import { exportGguf } from '../../src/model/gguf.js';
import { generate } from '../../src/model/generate.js';
import { openModel } from '../../src/model/load.js';
import { sft } from '../../src/train/sft.js';
import { parseSftConfig } from '../../src/train/sft_config.js';
import { rm } from '../../src/train/reward.js';
import { dpo } from '../../src/train/dpo.js';
import { run as ppo } from '../../src/train/ppo.js';
import { DPO_SCHEMA, parsePrefConfig, RM_SCHEMA, type DpoConfig, type RmConfig } from '../../src/train/pref_config.js';
import { hfModelDir } from '../helpers/imported.js';
import { byteLevelJson } from '../tokenizer/hf/tiny.js';
import { tiny } from '../serve/fixture.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SEED_TEMPLATE = readFileSync(path.join(root, 'test/tokenizer/fixtures/hyperclovax_seed.jinja'), 'utf8');

let dir = '', seedDir = '', chatFile = '', pairsFile = '';
const CONVS: ChatTurn[][] = [
  [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello there' }],
  [{ role: 'user', content: 'name?' }, { role: 'assistant', content: 'tiny seed' }, { role: 'user', content: 'ok' }, { role: 'assistant', content: 'bye' }],
  [{ role: 'system', content: 'be short' }, { role: 'user', content: '2+2?' }, { role: 'assistant', content: '4' }],
  [{ role: 'user', content: 'sky?' }, { role: 'assistant', content: 'blue' }],
];

before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'hcx-train-imported-'));
  const special = ['<|im_start|>', '<|im_end|>', '<|endofturn|>', '<|stop|>', '<|endoftext|>'];
  const json = byteLevelJson(special, [['Ġ', 't'], ['h', 'e'], ['Ġt', 'he']]);
  seedDir = hfModelDir(path.join(dir, 'HyperCLOVAX-SEED-tiny'), { json, config: { eos_token: '<|endofturn|>', pad_token: '<|endoftext|>', bos_token: null, chat_template: SEED_TEMPLATE } }, 'HyperCLOVAXForCausalLM', { maxSeqLen: 256 });
  chatFile = path.join(dir, 'chat.jsonl');
  writeFileSync(chatFile, Array.from({ length: 6 }, () => CONVS).flat().map((m) => JSON.stringify({ messages: m })).join('\n') + '\n');
  pairsFile = path.join(dir, 'pairs.jsonl');
  const pairs = ['hi', 'sky?', 'name?', '2+2?', 'yo', 'why?', 'who?', 'ok?'].map((q, i) => ({ prompt: q, chosen: `fine ${i}`, rejected: 'no no no no no no' }));
  writeFileSync(pairsFile, pairs.map((p) => JSON.stringify(p)).join('\n') + '\n');
});
after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

const sftConfig = (from: string, runDir: string, extra: Record<string, unknown> = {}) => parseSftConfig(
  { from, data: [chatFile], runDir, seqLen: 256, steps: 60, batchSize: 4, lr: 1e-2, warmupSteps: 2, heldout: 0, evalEvery: 0, saveEvery: 30, logEvery: 10, ...extra },
  'test', undefined, 'none', { maxSeqLen: 256 }).cfg;

test('the model\'s own template trains exactly each assistant turn\'s content and its <|im_end|><|endofturn|>', () => {
  const o = openModel(seedDir);
  const t = trainingTemplate(o.tokenizer);
  assert.equal(t.name, 'model');
  const { ids, mask } = t.render(CONVS[1]);
  const trained: string[] = [];
  let cur: number[] = [];
  for (let i = 0; i <= ids.length; i++) {
    if (i < ids.length && mask[i]) cur.push(ids[i]);
    else if (cur.length) { trained.push(o.tokenizer.decode(cur)); cur = []; }
  }
  assert.deepEqual(trained, ['tiny seed<|im_end|><|endofturn|>', 'bye<|im_end|><|endofturn|>']);
  // the conversation ends at the last turn end (the template's "\n" after it is never trained or generated)
  assert.equal(o.tokenizer.decode(ids.slice(-2)), '<|im_end|><|endofturn|>');
  assert.deepEqual(t.stopTokens.map((s) => o.tokenizer.idToToken(s)).sort(), ['<|endofturn|>', '<|stop|>']);
  // a prompt ends with the generation header, as the model's apply_chat_template(add_generation_prompt) does
  assert.match(o.tokenizer.decode(t.prompt(CONVS[0].slice(0, 1))), /<\|im_start\|>user\nhi<\|im_end\|>\n<\|im_start\|>assistant\n$/);
  // hcx's template needs hcx's tokenizer, and says so
  assert.throws(() => trainingTemplate(o.tokenizer, 'hcx'), /template "hcx" needs an hcx tokenizer; this model's is a Hugging Face tokenizer/);
});

test('SFT, RM, DPO and PPO from a SEED-shaped Hugging Face directory; each run opens again with the imported tokenizer', { timeout: 300_000 }, async () => {
  const sftDir = path.join(dir, 'sft');
  const r = await sft(sftConfig(seedDir, sftDir), { quiet: true });
  const first = r.metrics[0].loss, last = r.metrics[r.metrics.length - 1].loss;
  assert.ok(last < first / 3, `loss ${first} -> ${last}`);
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) assert.ok(existsSync(path.join(sftDir, f)), f);
  assert.deepEqual(readFileSync(path.join(sftDir, 'tokenizer.json')), readFileSync(path.join(seedDir, 'tokenizer.json')));

  const src = openModel(seedDir), o = openModel(sftDir);
  assert.equal(o.tokenizer.kind, 'hf');
  assert.equal(o.chatTemplate, SEED_TEMPLATE);
  assert.deepEqual([...o.tokenizer.specialIds.stop].sort(), [...src.tokenizer.specialIds.stop].sort());
  assert.equal(o.model.config.architecture, 'HyperCLOVAXForCausalLM');
  // the SFT'd model answers a training prompt with its reply and stops at <|endofturn|>
  const t = trainingTemplate(o.tokenizer);
  const g = generate(o.model, t.prompt(CONVS[3].slice(0, 1)), { maxNewTokens: 16, stopTokens: t.stopTokens });
  assert.equal(g.finishReason, 'stop', o.tokenizer.decode(g.ids));
  assert.equal(o.tokenizer.idToToken(g.stopToken!), '<|endofturn|>');
  assert.equal(o.tokenizer.decode(g.ids, { skipSpecial: true }), 'blue');

  // the reward model and DPO start from the SFT run (an hcx run holding an HF tokenizer), PPO from both
  const pref = { data: [pairsFile], seqLen: 256, heldout: 2, batchSize: 2, lr: 3e-3, warmupSteps: 0, evalEvery: 2, saveEvery: 2 };
  const rmDir = path.join(dir, 'rm');
  const rmRun = await rm(parsePrefConfig<RmConfig>({ ...pref, from: sftDir, runDir: rmDir, steps: 4, normSamples: 2, normMaxNewTokens: 8 }, RM_SCHEMA, 'test', o.model.config), { quiet: true });
  assert.ok(Number.isFinite(rmRun.heldout.accuracy) && rmRun.rewardStats!.samples === 2, JSON.stringify(rmRun.rewardStats));
  assert.equal(openModel(rmDir).chatTemplate, SEED_TEMPLATE);
  const dpoDir = path.join(dir, 'dpo');
  const d = await dpo(parsePrefConfig<DpoConfig>({ ...pref, from: sftDir, runDir: dpoDir, steps: 3, lr: 1e-3 }, DPO_SCHEMA, 'test', o.model.config), { quiet: true });
  assert.ok(d.metrics.every((m) => Number.isFinite(m.loss)) && d.metrics.length === 3);
  assert.equal(openModel(dpoDir).tokenizer.kind, 'hf');
  const ppoDir = path.join(dir, 'ppo');
  const p = await ppo({ policy: sftDir, reward: rmDir, prompts: [chatFile], runDir: ppoDir, iterations: 1, promptsPerIteration: 2, samplesPerPrompt: 2, maxNewTokens: 8, miniBatchSize: 2, epochs: 1, batchSize: 2, lr: 1e-5, evalEvery: 1, heldout: 2, seed: 1 }, { quiet: true });
  assert.equal(p.metrics.length, 1);
  assert.ok(Number.isFinite(p.metrics[0].reward) && p.metrics[0].response_len > 0, JSON.stringify(p.metrics[0]));
  assert.equal(openModel(ppoDir).chatTemplate, SEED_TEMPLATE);
});

test('SFT from a GGUF file: its tokenizer metadata saved as the run\'s tokenizer.gguf (no tensors), the run opens with it', { timeout: 120_000 }, async () => {
  const { tok, model } = await tiny();
  const file = path.join(dir, 'tiny.gguf');
  exportGguf(model, tok, file, { dtype: 'F32', name: 'tiny' });
  const runDir = path.join(dir, 'sft-gguf');
  const r = await sft(sftConfig(file, runDir, { steps: 4, saveEvery: 4 }), { quiet: true });
  assert.ok(r.metrics.every((m) => Number.isFinite(m.loss)));
  const saved = path.join(runDir, 'tokenizer.gguf');
  assert.ok(existsSync(saved) && !existsSync(path.join(runDir, 'tokenizer.json')));
  assert.ok(readFileSync(saved).length < readFileSync(file).length / 4, 'metadata only');
  const src = openModel(file), o = openModel(runDir);
  assert.equal(o.tokenizer.kind, 'gguf');
  assert.equal(o.tokenizerPath, saved);
  assert.equal(o.chatTemplate, src.chatTemplate);
  const text = 'hello 안녕하세요';
  assert.deepEqual(o.tokenizer.encode(text), src.tokenizer.encode(text));
  // --resume keeps the run's tokenizer and continues
  const more = await sft(sftConfig(file, runDir, { steps: 6, saveEvery: 2 }), { quiet: true, resume: true });
  assert.equal(more.metrics[0].step, 5);
});

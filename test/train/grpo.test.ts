// GRPO: the gsm8k task's own filter and metric as the reward; a run on a tiny model raises a verifiable
// reward (the share of Hangul in the reply) with every setting recorded and the config strict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run as grpo } from '../../src/train/grpo.js';
import { taskScorer } from '../../src/train/task_reward.js';
import { tinyRl } from '../helpers/rl.js';

const dir = mkdtempSync(path.join(tmpdir(), 'hcx-grpo-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('the gsm8k scorer is the eval task\'s strict-match filter and exact match', () => {
  const s = taskScorer('gsm8k');
  const ref = 'Natalia sold 48/2 = 24 clips in May.\n#### 72';
  assert.equal(s('48 + 24 = 72 clips.\n#### 72', ref), 1);
  assert.equal(s('#### 1,072.', '#### 1072'), 1);
  assert.equal(s('the answer is 72', ref), 0, 'strict-match needs the #### marker');
  assert.equal(s('#### 71', ref), 0);
  assert.throws(() => taskScorer('hellaswag'), /generate_until/);
});

test('GRPO on a tiny model raises a verifiable reward; references are required; unknown fields are errors', async () => {
  const f = await tinyRl(dir, 16);
  // Reward: the share of Hangul syllables among the reply's characters. Dense (about 0.1 on the untrained
  // model, with a spread inside every group), checkable, and it survives decoding: GRPO must raise it.
  const scorer = (response: string) => { const c = [...response]; return c.length ? c.filter((ch) => /[\uac00-\ud7a3]/.test(ch)).length / c.length : 0; };
  const runDir = path.join(dir, 'run');
  const r = await grpo({ from: f.runDir, prompts: [f.prompts], reward: 'gsm8k', runDir, iterations: 12, promptsPerIteration: 4, samplesPerPrompt: 4, maxNewTokens: 12, lr: 1e-2, batchSize: 4, miniBatchSize: 8, epochs: 2, evalEvery: 0, heldout: 0, seed: 3 }, { quiet: true, scorer });
  assert.equal(r.metrics.length, 12);
  const early = (r.metrics[0].reward + r.metrics[1].reward) / 2, late = (r.metrics[10].reward + r.metrics[11].reward) / 2;
  assert.ok(late > early + 0.2, `reward rises: ${r.metrics.map((m) => m.reward.toFixed(3)).join(' ')}`);
  assert.ok(r.metrics.some((m) => m.clipfrac > 0), 'the second epoch moves the ratio off 1 and clips');
  assert.ok(existsSync(path.join(r.finalCheckpoint, 'model.safetensors')));
  assert.equal(readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 12);
  const bare = path.join(dir, 'bare.jsonl');
  writeFileSync(bare, JSON.stringify({ messages: [{ role: 'user', content: '1+1?' }] }) + '\n');
  await assert.rejects(grpo({ from: f.runDir, prompts: [bare], reward: 'gsm8k', runDir: path.join(dir, 'r2') }, { quiet: true }), /bare.jsonl:1: a GRPO prompt needs its reference answer/);
  await assert.rejects(grpo({ from: f.runDir, prompts: [bare], reward: 'gsm8k', runDir: path.join(dir, 'r3'), G: 4 }, { quiet: true }), /unknown field "G"/);
});

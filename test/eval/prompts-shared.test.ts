// Prompt construction against pinned prompts on the real data in ../shared/data (skipped when missing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { loadSpecs, selectTasks, loadTask, type Instance } from '../../src/eval/task.js';
import { defaultSharedDir, loadDataset } from '../../src/eval/data.js';
import { processDocs } from '../../src/eval/processors.js';

const shared = defaultSharedDir();
const skip = existsSync(shared) ? false : `shared data not found at ${shared}`;
const roots = { shared, named: {} };
const specs = existsSync(shared) ? loadSpecs() : [];
const first = async (name: string): Promise<Instance> => (await loadTask(selectTasks(specs, [name])[0], roots, { limit: 1 })).instances[0];
const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

test('ARC-Challenge and HellaSwag prompts and continuations (lm-eval format)', { skip }, async () => {
  const arc = await first('arc_challenge');
  assert.equal(arc.prompt, 'Question: An astronomer observes that a planet rotates faster after a meteorite impact. Which is the most likely effect of this increase in rotation?\nAnswer:');
  assert.deepEqual(arc.requests.map((r) => (r as { continuation: string }).continuation), [' Planetary density will decrease.', ' Planetary years will become longer.', ' Planetary days will become shorter.', ' Planetary gravity will become stronger.']);
  assert.equal(arc.gold, 2);
  const hs = await first('hellaswag');
  assert.equal(hs.prompt, 'Roof shingle removal: A man is sitting on a roof. he');
  assert.equal((hs.requests[3] as { continuation: string }).continuation, ' starts pulling up roofing on a roof.');
  assert.equal(hs.gold, 3);
});

test('WinoGrande partial scoring: one context per option, shared continuation', { skip }, async () => {
  const w = await first('winogrande');
  assert.deepEqual(w.requests.map((r) => [(r as { context: string }).context, (r as { continuation: string }).continuation]), [
    ['Sarah was a much better surgeon than Maria so Sarah', ' always got the easier cases.'],
    ['Sarah was a much better surgeon than Maria so Maria', ' always got the easier cases.'],
  ]);
  assert.equal(w.gold, 1);
});

test('MMLU 5-shot (first_n from dev) is pinned', { skip }, async () => {
  const m = await first('mmlu_anatomy');
  assert.ok(m.prompt.startsWith('The following are multiple choice questions (with answers) about anatomy.\n\nWhat is the embryological origin of the hyoid bone?\nA. The first pharyngeal arch\n'));
  assert.ok(m.prompt.includes('\nAnswer: D\n\nWhich of these branches'));
  assert.ok(m.prompt.endsWith('D. paralysis of the facial muscles, loss of taste, lacrimation and decreased salivation.\nAnswer:'));
  assert.equal(m.prompt.split('\nAnswer:').length - 1, 6);
  assert.equal(sha(m.prompt), 'b91759cf63d02a5541c3bd952870370ea5c19661d02a7a9a4c20907549d641e3');
  assert.deepEqual(m.requests.map((r) => (r as { continuation: string }).continuation), [' A', ' B', ' C', ' D']);
});

test('KMMLU 5-shot from dev in the order random.Random(1234).sample draws', { skip }, async () => {
  const k = await first('kmmlu_criminal_law');
  const dev = processDocs(await loadDataset({ path: '$shared/kmmlu/datasets/KMMLU/data/Criminal-Law-dev.csv', format: 'csv' }, roots), 'kmmlu', 'fewshot');
  const order = [3, 0, 4, 2, 1]; // Python: random.Random(1234).sample(range(5), 5)
  let at = -1;
  for (const i of order) {
    const q = String(dev[i].question).trim();
    const pos = k.prompt.indexOf(q);
    assert.ok(pos > at, `dev[${i}] appears in lm-eval's sampled order`);
    at = pos;
  }
  assert.ok(k.prompt.endsWith('\n정답：'));
  assert.equal(k.prompt.split('\n정답：').length - 1, 6);
  assert.equal(sha(k.prompt), '2c95ecd554e8a8d082c3c2f3900f3ffd5bf2051a43f0a092cfb93eef266c8d72');
});

test('GSM8K CoT (8 fixed exemplars) and BBH (official 3-shot CoT prompt) are pinned', { skip }, async () => {
  const g = await first('gsm8k_cot');
  assert.ok(g.prompt.startsWith('Q: There are 15 trees in the grove.'));
  assert.ok(g.prompt.includes('The answer is 6.\n\nQ: If there are 3 cars'));
  assert.ok(g.prompt.endsWith("How much in dollars does she make every day at the farmers' market?\nA:"));
  assert.equal(sha(g.prompt), '901fead9abd2535b6d0610c3c90125f38cad81678c4b2b98ec8fb818e3948bde');
  const b = await first('bbh_navigate');
  assert.ok(b.prompt.startsWith('Given a series of navigation instructions, determine whether'));
  assert.ok(b.prompt.endsWith("Options:\n- Yes\n- No\nA: Let's think step by step."));
  assert.equal(sha(b.prompt), '99e23a11f6810390b602e8894254861ac93e262227277935c7874ef039dfcc72');
});

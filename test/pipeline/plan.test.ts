// Plan errors name the file, the line and the field; stage keys change with a config and downstream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePlan, stageKeys } from '../../src/pipeline/plan.js';

const base = `stages:
  tokenizer:
    config: { vocabSize: 300 }
  data:
    after: tokenizer
    config: { sources: [{ path: corpus.txt }] }
  pretrain:
    after: data
    config:
      steps: 10
      batchSize: 2
    eval: [heldout]
`;

const bad = async (text: string, re: RegExp) => assert.rejects(parsePlan(text, 'p.yaml'), re);

test('plan errors name the file, line and field', async () => {
  await bad('stages: [unclosed', /^Error: p\.yaml:1: /);
  await bad('stages: {}\nbogus: 1\n', /p\.yaml:2: bogus: unknown field/);
  await bad(base.replace('config: { vocabSize: 300 }', 'kind: tokeniser'), /p\.yaml:3: stages\.tokenizer\.kind: unknown stage kind "tokeniser"/);
  await bad(base.replace('steps: 10', 'steps: -1'), /p\.yaml:10: stages\.pretrain\.config: field "steps" must be an integer >= 1/);
  await bad(base.replace('batchSize: 2', 'batchSize: 2\n      bogus: 3'), /stages\.pretrain\.config: unknown field "bogus"/);
  await bad(base.replace('[{ path: corpus.txt }]', '[{ path: corpus.txt, docMode: pages }]'), /p\.yaml:6: stages\.data\.config\.sources\[0\]\.docMode: must be one of/);
  await bad(base.replace('eval: [heldout]', 'eval: [helout]'), /p\.yaml:12: stages\.pretrain\.eval\.0: unknown suite "helout"/);
  await bad(base.replace('after: data', 'after: dta'), /stages\.pretrain\.after: unknown stage "dta"/);
  await bad(base.replace('after: tokenizer', 'after: pretrain'), /stages form a cycle: .*data -> pretrain -> data|cycle/);
  await bad(base + '  ppo2:\n    kind: eval\n    config: { suites: [heldout] }\n    gate: { stage: pretrain, suite: generate, metric: x, min: 1 }\n', /stages\.ppo2\.gate\.suite: stage pretrain does not run suite "generate"/);
  await bad(base + '  x:\n    kind: eval\n    config: { suites: [heldout] }\n    gate: { stage: pretrain, suite: heldout, metric: loss }\n', /stages\.x\.gate: needs a bar: min or max/);
  await bad(base.replace('config: { vocabSize: 300 }', 'config: { vocabSize: 300 }\n    eval: [heldout]'), /a tokenizer stage saves no checkpoints/);
  await bad(base + '  sft:\n    after: pretrain\n    config: { data: chat.jsonl, epochz: 2 }\n', /stages\.sft\.config: unknown field "epochz"/);
  await bad(base + '  sft:\n    after: pretrain\n', /stages\.sft\.config: field "data" \(chat data files, or "builtin"\) is required/);
  await bad(base + '  sft:\n    after: pretrain\n    config: { data: chat.jsonl, conversations: 10 }\n', /stages\.sft\.config: field "conversations" applies to data: builtin only/);
  await bad(base + '  sft:\n    after: pretrain\n    config: { data: builtin, conversations: 0 }\n', /stages\.sft\.config: field "conversations" must be an integer >= 1/);
  await bad(base + '  rm:\n    after: pretrain\n    config: { data: builtin, beta: 0.1 }\n', /p\.yaml:\d+: stages\.rm\.config: unknown field "beta"/);
  await bad(base + '  rm:\n    after: pretrain\n', /stages\.rm\.config: field "data" \(preference pair files, or "builtin"\) is required/);
  await bad(base + '  rm:\n    after: pretrain\n    config: { data: pairs.jsonl, questions: 10 }\n', /stages\.rm\.config: field "questions" applies to data: builtin only/);
  await bad(base + '  rm:\n    after: pretrain\n    config: { data: builtin, normSamples: -1 }\n', /stages\.rm\.config: field "normSamples"/);
  await bad(base + '  ppo:\n    after: pretrain\n    config: { prompts: builtin, klCoeff: 0.1 }\n', /stages\.ppo\.config: unknown field "klCoeff"/);
  await bad(base + '  ppo:\n    after: pretrain\n    config: { prompts: builtin, promptCount: 0 }\n', /stages\.ppo\.config: field "promptCount" must be an integer >= 1/);
  await bad(base + '  ppo:\n    after: pretrain\n    config: { prompts: builtin, resume: true }\n', /stages\.ppo\.config: unknown field "resume"/);
  await bad(base + '  ppo:\n    after: pretrain\n    config: { prompts: builtin, clipRange: 2 }\n', /stages\.ppo\.config: field "clipRange"/);
  await bad(base + '  ppo:\n    after: pretrain\n    config: { prompts: builtin, heldoutEval: pipeline }\n', /stages\.ppo\.config\.heldoutEval: is "pipeline" but the stage does not run the ppo suite/);
  await bad(base + '  dpo:\n    after: pretrain\n', /stages\.dpo\.config: field "data" \(preference pair files, or "builtin"\) is required/);
  await bad(base + '  dpo:\n    after: pretrain\n    config: { data: builtin, klCoeff: 0.1 }\n', /stages\.dpo\.config: unknown field "klCoeff"/);
});

test('stage keys: a config change changes that stage and everything downstream, nothing upstream', async () => {
  const a = stageKeys(await parsePlan(base, 'p.yaml'));
  const b = stageKeys(await parsePlan(base.replace('vocabSize: 300', 'vocabSize: 301'), 'p.yaml'));
  const c = stageKeys(await parsePlan(base.replace('steps: 10', 'steps: 11'), 'p.yaml'));
  const d = stageKeys(await parsePlan(base.replace('eval: [heldout]', 'eval: [heldout, generate]'), 'p.yaml'));
  for (const s of ['tokenizer', 'data', 'pretrain']) assert.notEqual(a.get(s), b.get(s), `${s} depends on the tokenizer config`);
  assert.deepEqual([a.get('tokenizer'), a.get('data')], [c.get('tokenizer'), c.get('data')]);
  assert.notEqual(a.get('pretrain'), c.get('pretrain'));
  assert.deepEqual([...a], [...d], 'the eval suites are not part of what a stage computes');
});

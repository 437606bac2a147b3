// lm-evaluation-harness's `local-completions` (lm-eval 0.4, the standard way to score a served model) through
// a live `hcx serve`, on a local ARC-style task (items and task YAML written to a temp dir): every choice's
// log-likelihood equals what `hcx eval` gets through the same server, and both equal the model's own
// log-softmax. lm-eval tokenizes through the server's /tokenize (tokenizer_backend=remote) and scores with
// echo + max_tokens 1, dropping the last logprob entry, so a missing stop-token entry would shift its sums.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pythonMissing, runPython } from '../helpers/python.js';
import { packageRoot } from '../../src/tokenizer/default-segmenter.js';
import { nextTokenLogprobs } from '../serve/fixture.js';
import { HCX_BIN, startLiveServer, type LiveServer } from '../serve/live_server.js';

const ITEMS = [
  { q: 'Which animal jumps over the lazy dog?', c: ['The quick brown fox', 'A cat', 'The moon', 'Nobody'], a: 'A' },
  { q: 'What does continuous batching let sequences do?', c: ['join and leave the batch at every step', 'sleep', 'add(1, 2)'], a: 'A' },
  { q: '오늘 날씨가 어때요?', c: ['좋네요', '반갑습니다', 'return a + b'], a: 'A' },
  { q: 'function add(a, b) returns', c: ['a + b', 'a - b', 'the lazy dog', 'nothing'], a: 'A' },
  { q: 'Serving a language model means', c: ['batching requests', 'jumping over dogs'], a: 'A' },
];

const skip = pythonMissing(['lm_eval', 'datasets', 'tenacity', 'aiohttp']); // local-completions needs lm-eval[api]'s aiohttp and tenacity
let live: LiveServer;
let dir: string;
before(async () => {
  if (skip) return;
  live = await startLiveServer({ name: 'tiny-lmeval', eotLikely: true });
  dir = mkdtempSync(path.join(tmpdir(), 'hcx-lmeval-'));
});
after(async () => {
  if (skip) return;
  await live.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('lm-eval local-completions through hcx serve gives the per-choice log-likelihoods hcx eval gives through it', { skip, timeout: 300_000 }, () => {
  // The items in the AI2 ARC release's format, read by both harnesses.
  const data = path.join(dir, 'data');
  mkdirSync(data);
  const labels = 'ABCD';
  writeFileSync(path.join(data, 'ARC-Easy-Test.jsonl'), ITEMS.map((it, i) => JSON.stringify({
    id: `q${i}`, question: { stem: it.q, choices: it.c.map((text, j) => ({ text, label: labels[j] })) }, answerKey: it.a,
  })).join('\n') + '\n');
  const tasks = path.join(dir, 'lm_eval_tasks');
  mkdirSync(tasks);
  // hcx's tasks/arc_easy.json, written for lm-eval: the same prompt, choices and " " target delimiter.
  writeFileSync(path.join(tasks, 'hcx_arc_local.yaml'), [
    'task: hcx_arc_local',
    'dataset_path: json',
    'dataset_kwargs:',
    `  data_files: {test: ${JSON.stringify(path.join(data, 'ARC-Easy-Test.jsonl'))}}`,
    'test_split: test',
    'output_type: multiple_choice',
    'doc_to_text: "Question: {{question.stem}}\\nAnswer:"',
    "doc_to_choice: \"{{question.choices | map(attribute='text') | list}}\"",
    "doc_to_target: \"{{(question.choices | map(attribute='label') | list).index(answerKey)}}\"",
    'metric_list:',
    '  - metric: acc',
    '',
  ].join('\n'));
  const lmOut = path.join(dir, 'lm_eval.json');
  runPython([path.join(packageRoot(), 'test/eval/py/lm_eval_local.py'),
    `model=${live.name},base_url=${live.url}/v1/completions,tokenizer_backend=remote,tokenized_requests=True,num_concurrent=1,max_retries=1`,
    'hcx_arc_local', tasks, lmOut],
  { env: { HF_DATASETS_OFFLINE: '1', HF_HUB_OFFLINE: '1', HF_DATASETS_CACHE: path.join(dir, 'hf-cache'), TOKENIZERS_PARALLELISM: 'false' } });
  const lm = (JSON.parse(readFileSync(lmOut, 'utf8')) as { samples: { doc_id: number; loglikelihoods: number[] }[] }).samples;

  const hcxOut = path.join(dir, 'hcx_out');
  execFileSync(process.execPath, [HCX_BIN, 'eval', '--model', `openai:${live.url}#${live.name}`, '--tasks', 'arc_easy', '--path', `arc_easy=${data}`, '--out', hcxOut, '--no-cache'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const hcx = JSON.parse(readFileSync(path.join(hcxOut, 'results.json'), 'utf8')).tasks.arc_easy.samples as { doc_id: number; prompt: string; choices: string[]; loglikelihoods: number[] }[];

  assert.equal(lm.length, ITEMS.length);
  assert.equal(hcx.length, ITEMS.length);
  const { tok, model } = live;
  let stops = 0;
  for (const s of hcx) {
    const l = lm.find((x) => x.doc_id === s.doc_id)!;
    const lmLls = l.loglikelihoods;
    assert.equal(lmLls.length, s.loglikelihoods.length, `doc ${s.doc_id}: choices`);
    s.loglikelihoods.forEach((ll, j) => {
      assert.ok(Math.abs(lmLls[j] - ll) < 1e-4, `doc ${s.doc_id} choice ${j}: lm-eval ${lmLls[j]}, hcx eval ${ll}`);
      // Both equal the model's own sum over the continuation's tokens.
      const ctx = tok.encode(s.prompt), ids = tok.encode(s.prompt + ' ' + s.choices[j]);
      assert.deepEqual(ids.slice(0, ctx.length), ctx, 'the context tokenizes alike on its own');
      const ref = nextTokenLogprobs(model, ids);
      let want = 0;
      for (let p = ctx.length; p < ids.length; p++) want += ref[p - 1][ids[p]];
      const last = ref[ids.length - 1];
      if (last.indexOf(Math.max(...last)) === tok.special.eot) stops++;
      assert.ok(Math.abs(ll - want) < 1e-3, `doc ${s.doc_id} choice ${j}: hcx eval ${ll}, model ${want}`);
    });
  }
  // The case lm-eval got wrong: end-of-text as the one generated token (its entry must still come back).
  assert.ok(stops >= 3, `only ${stops} choices end where end-of-text is the greedy next token`);
});

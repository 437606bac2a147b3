// End to end on a real GGUF model (a tiny random llama written by src/eval/tiny-gguf.ts): the llama.cpp path
// and the OpenAI-compatible path (a local server started here over the same model) give the same
// log-likelihoods, greedy flags and generations, directly and through a whole multiple-choice task.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeTinyLlamaGguf } from '../../src/eval/tiny-gguf.js';
import { LlamaCppLM } from '../../src/eval/backends/llamacpp.js';
import { OpenAIModel } from '../../src/eval/backends/openai.js';
import { TokenLMAdapter } from '../../src/eval/model.js';
import { serve, type Server } from '../../src/eval/serve.js';
import { evaluate } from '../../src/eval/runner.js';
import { RequestCache } from '../../src/eval/cache.js';
import { validateSpec } from '../../src/eval/spec.js';
import { PROCESSOR_NAMES } from '../../src/eval/processors.js';

let dir: string;
let lm: LlamaCppLM;
let server: Server;
let local: TokenLMAdapter;
let remote: OpenAIModel;

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'hcx-gguf-'));
  writeTinyLlamaGguf(path.join(dir, 'tiny.gguf'), { seed: 7 });
  lm = await LlamaCppLM.load(path.join(dir, 'tiny.gguf'), { gpu: false, contextSize: 512, sequences: 2, threads: 1 });
  local = new TokenLMAdapter(lm);
  server = await serve(lm, { modelName: 'tiny' });
  remote = new OpenAIModel({ baseUrl: server.url, model: 'tiny', concurrency: 2, batchSize: 3, retries: 0 });
});
after(async () => {
  await server?.close();
  await lm?.close();
  rmSync(dir, { recursive: true, force: true });
});

const REQS = [
  { context: 'Question: Is the sky blue?\nAnswer:', continuation: ' yes' },
  { context: 'Question: Is the sky blue?\nAnswer:', continuation: ' no' },
  { context: 'The answer is', continuation: ' A' },
  { context: 'Once upon a time', continuation: ' there was an inn.' },
  { context: '', continuation: 'An empty context scores after BOS.' },
  { context: 'Trailing space ', continuation: 'moves to the continuation' },
];

test('llama.cpp and the OpenAI-compatible server give the same loglikelihoods', async () => {
  const a = await local.loglikelihood(REQS);
  const b = await remote.loglikelihood(REQS);
  for (let i = 0; i < REQS.length; i++) {
    assert.ok(Number.isFinite(a[i].logprob) && a[i].logprob < 0, `finite negative logprob for request ${i}`);
    assert.ok(Math.abs(a[i].logprob - b[i].logprob) < 1e-3, `request ${i}: llama.cpp ${a[i].logprob} vs server ${b[i].logprob}`);
    assert.equal(a[i].isGreedy, b[i].isGreedy, `request ${i}: is_greedy`);
  }
  // Scores are a distribution: a one-token continuation's probabilities over the vocabulary sum to 1.
  const [r] = await lm.score([{ tokens: [1, 300], from: 1 }]);
  assert.ok(r.argmaxLogprob[0] >= r.logprobs[0]);
});

test('a greedy continuation is recognised as greedy on both paths', async () => {
  // A random model may emit byte tokens that do not decode to valid UTF-8; use a context whose greedy
  // continuation is printable ASCII (so re-tokenizing it gives the generated tokens back).
  let ctx = '';
  let gen = '';
  for (const c of ['Question: hello\nAnswer:', 'The answer is', 'Once upon a time', 'Q: 1+1=?\nA:', 'abc', 'Hello', 'In the beginning', 'on the']) {
    const [g] = await local.generateUntil([{ context: c, until: [], maxTokens: 3, temperature: 0 }]);
    if (/^[\x21-\x7e][\x20-\x7e]*$/.test(g)) { ctx = c; gen = g; break; }
  }
  assert.ok(gen.length > 0, 'some context has a printable greedy continuation');
  const [a] = await local.loglikelihood([{ context: ctx, continuation: gen }]);
  const [b] = await remote.loglikelihood([{ context: ctx, continuation: gen }]);
  assert.ok(Math.abs(a.logprob - b.logprob) < 1e-3);
  assert.equal(a.isGreedy, true, `greedy continuation ${JSON.stringify(gen)} after ${JSON.stringify(ctx)}`);
  assert.equal(b.isGreedy, true);
  const [viaServer] = await remote.generateUntil([{ context: ctx, until: [], maxTokens: 3, temperature: 0 }]);
  assert.equal(viaServer, gen);
});

test('a multiple-choice task gives the same per-sample results on both paths, and resumes from the cache', async () => {
  const rows = [
    { q: 'Which is a colour?', choices: ['red', 'table', 'run'], gold: 0 },
    { q: 'Which is a number?', choices: ['seven', 'blue', 'dog', 'sky'], gold: 0 },
    { q: 'Which can fly?', choices: ['stone', 'bird'], gold: 1 },
  ];
  writeFileSync(path.join(dir, 'mc.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const spec = validateSpec({
    task: 'tiny_mc', output_type: 'multiple_choice', dataset: { path: '$tiny/mc.jsonl', format: 'jsonl' },
    doc_to_text: 'Question: {{q}}\nAnswer:', doc_to_choice: '{{choices}}', doc_to_target: '{{gold}}',
    metrics: [{ metric: 'acc' }, { metric: 'acc_norm' }, { metric: 'acc_bytes' }],
  }, 'tiny_mc.json', PROCESSOR_NAMES);
  const roots = { shared: dir, named: { tiny: dir } };
  const ra = await evaluate([spec], local, { roots, progress: false });
  const rb = await evaluate([spec], remote, { roots, progress: false });
  const sa = ra.tasks.tiny_mc.samples;
  const sb = rb.tasks.tiny_mc.samples;
  assert.equal(sa.length, 3);
  for (let i = 0; i < sa.length; i++) {
    sa[i].loglikelihoods!.forEach((l, j) => assert.ok(Math.abs(l - sb[i].loglikelihoods![j]) < 1e-3));
    assert.deepEqual(sa[i].scores, sb[i].scores);
  }
  assert.deepEqual(ra.tasks.tiny_mc.metrics, rb.tasks.tiny_mc.metrics);
  // Resume: a cache file written by one run answers every request of the next.
  const cacheFile = path.join(dir, 'cache.jsonl');
  await evaluate([spec], local, { roots, progress: false, cache: new RequestCache(cacheFile) });
  const again = new RequestCache(cacheFile);
  const rc = await evaluate([spec], local, { roots, progress: false, cache: again });
  assert.equal(again.misses, 0);
  assert.ok(again.hits >= 9);
  assert.deepEqual(rc.tasks.tiny_mc.metrics, ra.tasks.tiny_mc.metrics);
});

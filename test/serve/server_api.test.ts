// The server's OpenAI/vLLM surface beyond the basics: the stop token's logprob entry (lm-eval's echo
// scoring), end-of-turn in completions, logit_bias, unsupported parameters, streamed echo logprobs,
// /v1/models/{id}, vLLM's tokenizer routes, request limits, and tokenizing off the event loop.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { nextTokenLogprobs, tiny, tinyEngine } from './fixture.js';
import { startServer, type HcxServer } from '../../src/serve/server.js';
import { sseEvents } from '../../src/serve/chat.js';

let server: HcxServer;
const { tok, model } = await tiny();
const V = model.config.vocabSize;

before(async () => {
  server = await startServer(tinyEngine(tok, model), tok, { modelName: 'tiny', maxBodyBytes: 4 << 20, limits: { maxEchoTokens: 64, maxRequestTokens: 4000 } });
});
after(() => server.close(0));

const post = (path: string, body: unknown) => fetch(server.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const json = async (path: string, body: unknown) => { const r = await post(path, body); return { status: r.status, body: await r.json() }; };

const logprobsOf = (ids: number[]) => nextTokenLogprobs(model, ids);

test('echo + max_tokens 1 + logprobs: a stop token as the generated token keeps its entry (lm-eval drops the last)', async () => {
  const context = 'The quick brown', continuation = ' fox jumps';
  const ids = tok.encode(context + continuation), ctxlen = tok.encode(context).length;
  // logit_bias forces end-of-text as the one generated token; logprobs stay the model's own.
  const { status, body } = await json('/v1/completions', { prompt: context + continuation, echo: true, max_tokens: 1, logprobs: 1, temperature: 0, logit_bias: { [tok.special.eot]: 100 } });
  assert.equal(status, 200);
  const c = body.choices[0];
  assert.equal(c.finish_reason, 'stop');
  assert.equal(c.text, context + continuation, 'the text omits the stop token');
  assert.equal(body.usage.completion_tokens, 1, 'usage counts the stop token');
  const lp = c.logprobs;
  assert.equal(lp.token_logprobs.length, ids.length + 1);
  assert.equal(lp.tokens.at(-1), '<|endoftext|>');
  assert.equal(lp.text_offset.at(-1), c.text.length);
  const ref = logprobsOf(ids);
  assert.ok(Math.abs(lp.token_logprobs.at(-1) - ref[ids.length - 1][tok.special.eot]) < 1e-3);
  // lm-eval local-completions: sum(token_logprobs[ctxlen:-1]) is the continuation's log-likelihood.
  const got = lp.token_logprobs.slice(ctxlen, -1).reduce((a: number, b: number) => a + b, 0);
  let want = 0;
  for (let p = ctxlen; p < ids.length; p++) want += ref[p - 1][ids[p]];
  assert.ok(Math.abs(got - want) < 1e-3, `${got} vs ${want}`);
  // Streamed, the stop token's entry comes too.
  const res = await post('/v1/completions', { prompt: context, max_tokens: 3, logprobs: 0, temperature: 0, stream: true, logit_bias: { [tok.special.eot]: 100 } });
  const entries: number[] = [];
  for await (const d of sseEvents(res.body!)) if (d !== '[DONE]') entries.push(...(JSON.parse(d).choices[0]?.logprobs?.token_logprobs ?? []));
  assert.equal(entries.length, 1);
});

test('/v1/completions stops at end-of-turn as well as end-of-text', async () => {
  const { body } = await json('/v1/completions', { prompt: '<|user|>hi<|endofturn|><|assistant|>', max_tokens: 8, temperature: 0, logit_bias: { [tok.special.endofturn]: 100 } });
  assert.equal(body.choices[0].finish_reason, 'stop');
  assert.equal(body.choices[0].text, '');
  assert.equal(body.usage.completion_tokens, 1);
  // The prompt's special-token strings are read as those tokens, as vLLM reads them.
  assert.equal(body.usage.prompt_tokens, tok.renderChat([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true }).length);
});

test('logit_bias bans and forces tokens; bad biases are 400s naming the field', async () => {
  const base = { prompt: 'The quick brown', max_tokens: 4, temperature: 0, logprobs: 0 };
  const plain = (await json('/v1/completions', base)).body.choices[0];
  const first = tok.encode(plain.text)[0];
  const banned = (await json('/v1/completions', { ...base, logit_bias: { [first]: -100 } })).body.choices[0];
  assert.notEqual(tok.encode(banned.text)[0], first);
  const forced = (await json('/v1/completions', { ...base, logit_bias: { 42: 100 } })).body.choices[0];
  assert.equal(forced.logprobs.tokens.length, 4);
  assert.deepEqual(tok.encode(forced.text), [42, 42, 42, 42]);
  for (const [bias, re] of [[{ x: 1 }, /not a token id/], [{ 1: 500 }, /between -100 and 100/], [{ [V + 5]: 1 }, /logitBias|outside/]] as const) {
    const r = await json('/v1/completions', { ...base, logit_bias: bias });
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, re);
  }
});

test('parameters hcx does not support are 400s naming them', async () => {
  const cases: [string, object, string][] = [
    ['/v1/completions', { prompt: 'a', best_of: 3 }, 'best_of'],
    ['/v1/completions', { prompt: 'a', frobnicate: true }, 'frobnicate'],
    ['/v1/chat/completions', { messages: [{ role: 'user', content: 'a' }], functions: [] }, 'functions'],
    ['/v1/chat/completions', { messages: [{ role: 'user', content: 'a' }], min_p: 0.1 }, 'min_p'],
    ['/v1/chat/completions', { messages: [{ role: 'user', content: 'a' }], stream_options: { include_obfuscation: true } }, 'stream_options.include_obfuscation'],
    ['/v1/chat/completions', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }, 'messages[0].content[0]'],
  ];
  for (const [path, body, param] of cases) {
    const r = await json(path, body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.error.param, param);
    assert.ok(r.body.error.message.includes(param.split('.').at(-1)!.replace(/\[.*$/, '')), r.body.error.message);
  }
  // best_of equal to n, user and metadata are fine.
  assert.equal((await json('/v1/completions', { prompt: 'a', best_of: 2, n: 2, max_tokens: 1, user: 'u1', metadata: { a: 1 } })).status, 200);
});

test('a streamed echo carries the prompt logprobs, as non-streamed does', async () => {
  const req = { prompt: 'Serving a language model', echo: true, logprobs: 2, max_tokens: 3, temperature: 0 };
  const whole = (await json('/v1/completions', req)).body.choices[0].logprobs;
  const res = await post('/v1/completions', { ...req, stream: true });
  const lp = { tokens: [] as string[], token_logprobs: [] as (number | null)[], top_logprobs: [] as unknown[], text_offset: [] as number[] };
  for await (const d of sseEvents(res.body!)) {
    if (d === '[DONE]') continue;
    const l = JSON.parse(d).choices[0]?.logprobs;
    if (l) for (const k of Object.keys(lp) as (keyof typeof lp)[]) (lp[k] as unknown[]).push(...l[k]);
  }
  assert.equal(lp.tokens.length, whole.tokens.length);
  const P = tok.encode(req.prompt).length;
  assert.deepEqual(lp.tokens.slice(0, P), whole.tokens.slice(0, P));
  assert.deepEqual(lp.text_offset.slice(0, P), whole.text_offset.slice(0, P));
  assert.equal(lp.token_logprobs[0], null);
  for (let i = 1; i < whole.token_logprobs.length; i++) assert.ok(Math.abs(lp.token_logprobs[i]! - whole.token_logprobs[i]) < 1e-5);
  assert.deepEqual(Object.keys(lp.top_logprobs[1] as object), Object.keys(whole.top_logprobs[1]));
  // n > 1 without streaming scores the prompt once and reports it on every choice.
  const two = (await json('/v1/completions', { ...req, n: 2 })).body.choices;
  assert.deepEqual(two[1].logprobs.token_logprobs.slice(0, 5), two[0].logprobs.token_logprobs.slice(0, 5));
});

test('GET /v1/models/{id}', async () => {
  const r = await fetch(server.url + '/v1/models/tiny');
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { id: 'tiny', object: 'model', created: 0, owned_by: 'hcx', max_model_len: model.config.maxSeqLen });
  const missing = await fetch(server.url + '/v1/models/gpt-4');
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error.code, 'model_not_found');
});

test("vLLM's /tokenize, /detokenize and /tokenizer_info", async () => {
  const text = 'The quick brown fox 안녕하세요<|endoftext|>';
  const t = (await json('/tokenize', { prompt: text, add_special_tokens: false, return_token_strs: true })).body;
  assert.deepEqual(t.tokens, tok.encode(text, { allowSpecial: true }));
  assert.equal(t.count, t.tokens.length);
  assert.equal(t.max_model_len, model.config.maxSeqLen);
  assert.equal(t.token_strs.length, t.count);
  assert.equal(t.tokens.at(-1), tok.special.eot);
  assert.deepEqual((await json('/detokenize', { tokens: t.tokens })).body, { prompt: text });
  const messages = [{ role: 'developer', content: 'Be brief.' }, { role: 'user', content: [{ type: 'text', text: 'Hi' }, { type: 'text', text: ' there' }] }];
  const m = (await json('/tokenize', { messages })).body;
  assert.deepEqual(m.tokens, tok.renderChat([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi there' }], { addGenerationPrompt: true }));
  const info = await (await fetch(server.url + '/tokenizer_info')).json();
  assert.equal(info.eos_token, '<|endofturn|>');
  assert.equal(typeof info.chat_template, 'string');
  assert.equal((await json('/detokenize', { tokens: [V + 100] })).status, 400);
  assert.equal((await json('/tokenize', { prompt: 'x', model: 'other' })).status, 404);
});

test('request limits: a 400 naming the limit and its value', async () => {
  const cases: [string, object, RegExp][] = [
    ['/v1/completions', { prompt: ['a', 'b', 'c', 'd', 'e'], n: 16 }, /max_choices = 64/],
    ['/v1/completions', { prompt: 'a', logprobs: 21 }, /max_logprobs = 20/],
    ['/v1/completions', { prompt: 'a', max_tokens: 1000 }, /max_tokens = 256/],
    ['/v1/completions', { prompt: 'word '.repeat(20), echo: true, logprobs: 1, max_tokens: 1 }, /max_echo_tokens = 64/],
    ['/v1/completions', { prompt: ['a b', 'c d'], n: 16, max_tokens: 200 }, /max_request_tokens = 4000/],
    ['/v1/chat/completions', { messages: [{ role: 'user', content: 'a' }], logprobs: true, top_logprobs: 50 }, /max_logprobs = 20/],
  ];
  for (const [path, body, re] of cases) {
    const r = await json(path, body);
    assert.equal(r.status, 400, JSON.stringify(body).slice(0, 80));
    assert.match(r.body.error.message, re);
    assert.match(r.body.error.message, /hcx serve --max-/);
    assert.equal(r.body.error.code, 'limit_exceeded');
  }
});

test('a 1 MB prompt is tokenized off the event loop: /health answers meanwhile', async () => {
  const big = 'The quick brown fox jumps over the lazy dog. 안녕하세요. '.repeat(20_000).slice(0, 1 << 20);
  let tokenized = false;
  const pending = post('/v1/completions', { prompt: big, max_tokens: 1 }).then(async (r) => { tokenized = true; return { status: r.status, body: await r.json() }; });
  // Wait until the request is with the tokenizer thread, then ask for /health.
  while (server.ctx.asyncTok.offloaded === 0) await new Promise((r) => setImmediate(r));
  const h = await fetch(server.url + '/health');
  assert.equal(h.status, 200);
  assert.equal(tokenized, false, '/health was answered while the prompt was still being tokenized');
  const r = await pending;
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'context_length_exceeded');
});

test('the served name is the run\'s: runs/demo/checkpoints/step-600 -> demo', async () => {
  const { copyFileSync, mkdirSync, mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const { saveCheckpoint } = await import('../../src/model/checkpoint.js');
  const { openModel, describeModel } = await import('../../src/model/load.js');
  const dir = mkdtempSync(path.join(tmpdir(), 'hcx-name-'));
  try {
    const run = path.join(dir, 'demo');
    const ck = saveCheckpoint(run, { model, state: { step: 600, tokensSeen: 0 } });
    tok.save(path.join(run, 'tokenizer.json'));
    assert.equal(openModel(run, { dtype: 'f32' }).displayName, 'demo');
    assert.equal(openModel(ck, { dtype: 'f32' }).displayName, 'demo');
    assert.equal(openModel(path.join(ck, 'model.safetensors'), { dtype: 'f32' }).displayName, 'demo');
    mkdirSync(path.join(dir, 'exports'));
    copyFileSync(path.join(ck, 'model.safetensors'), path.join(dir, 'exports', 'my-model.safetensors'));
    assert.equal(describeModel(path.join(dir, 'exports', 'my-model.safetensors')).displayName, 'my-model');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

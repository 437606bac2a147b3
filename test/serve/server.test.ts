import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { tiny, tinyEngine, greedyChat } from './fixture.js';
import { startServer, type HcxServer } from '../../src/serve/server.js';
import { sseEvents } from '../../src/serve/chat.js';
import { OpenAIModel } from '../../src/eval/backends/openai.js';
import { generate } from '../../src/model/generate.js';
import type { Engine } from '../../src/serve/engine.js';

let server: HcxServer;
let engine: Engine;
const { tok, model } = await tiny();

before(async () => {
  engine = tinyEngine(tok, model);
  server = await startServer(engine, tok, { modelName: 'tiny', maxBodyBytes: 64 * 1024 });
});
after(() => server.close(0));

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(server.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

async function streamed(path: string, body: object): Promise<{ events: any[]; done: boolean }> {
  const res = await post(path, { ...body, stream: true });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const events: any[] = [];
  let done = false;
  for await (const d of sseEvents(res.body!)) {
    if (d === '[DONE]') { done = true; continue; }
    events.push(JSON.parse(d));
  }
  return { events, done };
}

test('GET routes: models, health, metrics, the web page', async () => {
  const models = await (await fetch(server.url + '/v1/models')).json();
  assert.deepEqual(models.data.map((m: any) => m.id), ['tiny']);
  assert.equal(models.object, 'list');
  const health = await (await fetch(server.url + '/health')).json();
  assert.equal(health.status, 'ok');
  const metrics = await (await fetch(server.url + '/metrics')).text();
  for (const m of ['hcx_queue_length', 'hcx_running_sequences', 'hcx_kv_blocks_used', 'hcx_generation_tokens_per_second', 'hcx_time_to_first_token_seconds_bucket']) {
    assert.ok(metrics.includes(m), `metrics lack ${m}`);
  }
  const page = await fetch(server.url + '/');
  assert.match(page.headers.get('content-type')!, /text\/html/);
  assert.match(await page.text(), /hcx chat/);
  const stats = await (await fetch(server.url + '/v1/stats')).json();
  assert.equal(typeof stats.kvBlocksTotal, 'number');
});

test('completions: greedy text, usage, streaming equals non-streaming', async () => {
  const prompt = 'The quick brown fox';
  const ids = tok.encode(prompt);
  const ref = tok.decode(generate(model, ids, { maxNewTokens: 10, stopTokens: [tok.special.eot] }).ids, { skipSpecial: true });
  const res = await post('/v1/completions', { model: 'tiny', prompt, max_tokens: 10, temperature: 0 });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.object, 'text_completion');
  assert.equal(body.choices[0].text, ref);
  assert.equal(body.choices[0].finish_reason, 'length');
  assert.deepEqual(body.usage, { prompt_tokens: ids.length, completion_tokens: 10, total_tokens: ids.length + 10 });
  const s = await streamed('/v1/completions', { prompt, max_tokens: 10, temperature: 0, stream_options: { include_usage: true } });
  assert.ok(s.done);
  const text = s.events.filter((e) => e.choices.length).map((e) => e.choices[0].text).join('');
  assert.equal(text, ref);
  assert.equal(s.events.filter((e) => e.choices[0]?.finish_reason).at(-1).choices[0].finish_reason, 'length');
  assert.equal(s.events.at(-1).usage.completion_tokens, 10);
  // Several prompts and n: one choice each, indexed prompt-major.
  const multi = await (await post('/v1/completions', { prompt: ['a b', 'c d'], n: 2, max_tokens: 3, temperature: 0 })).json();
  assert.deepEqual(multi.choices.map((c: any) => c.index), [0, 1, 2, 3]);
  assert.equal(multi.choices[0].text, multi.choices[1].text);
  // Token-id prompts work too.
  const byIds = await (await post('/v1/completions', { prompt: ids, max_tokens: 10, temperature: 0 })).json();
  assert.equal(byIds.choices[0].text, ref);
});

test('completions echo + logprobs: the eval harness\'s OpenAI backend scores through it', async () => {
  const lm = new OpenAIModel({ baseUrl: server.url, model: 'tiny', retries: 0 });
  // The Korean continuation starts with a character split over several byte tokens (this tiny vocabulary
  // has few Hangul merges): the character's tokens all count to the continuation. The third ends the prompt
  // inside such a character: the trailing byte tokens share the prompt's end offset with the generated token.
  const reqs = [{ context: 'The quick brown', continuation: ' fox jumps' }, { context: '안녕하세요,', continuation: ' 만나서.' }, { context: '안녕하세요,', continuation: ' 만나서' }];
  const got = await lm.loglikelihood(reqs);
  for (const [i, r] of reqs.entries()) {
    // Reference: sum of log-softmax of a full forward over context+continuation tokens after the context.
    const ctx = tok.encode(r.context), all = tok.encode(r.context + r.continuation);
    const logits = model.infer(Int32Array.from(all), 1, all.length);
    const V = model.config.vocabSize;
    let want = 0;
    for (let p = ctx.length; p < all.length; p++) {
      const row = logits.data.subarray((p - 1) * V, p * V);
      const mx = Math.max(...row);
      want += row[all[p]] - mx - Math.log(row.reduce((a, x) => a + Math.exp(x - mx), 0));
    }
    assert.ok(Math.abs(got[i].logprob - want) < 1e-3, `request ${i}: ${got[i].logprob} vs ${want}`);
  }
  const body = await (await post('/v1/completions', { prompt: 'The quick brown', echo: true, logprobs: 2, max_tokens: 2, temperature: 0 })).json();
  const lp = body.choices[0].logprobs;
  assert.ok(body.choices[0].text.startsWith('The quick brown'));
  assert.equal(lp.tokens.join(''), body.choices[0].text);
  assert.equal(lp.token_logprobs[0], null);
  assert.equal(lp.tokens.length, tok.encode('The quick brown').length + 2);
  assert.ok(Object.keys(lp.top_logprobs[1]).length >= 1);
});

test('chat completions: non-streaming and streaming agree, template and stop token', async () => {
  const content = 'What is continuous batching?';
  const ref = greedyChat(tok, model, content, 12);
  const body = await (await post('/v1/chat/completions', { messages: [{ role: 'user', content }], max_tokens: 12, temperature: 0, logprobs: true, top_logprobs: 2 })).json();
  assert.equal(body.object, 'chat.completion');
  assert.equal(body.choices[0].message.role, 'assistant');
  assert.equal(body.choices[0].message.content, ref);
  assert.equal(body.choices[0].logprobs.content.length, 12);
  assert.equal(body.choices[0].logprobs.content[0].top_logprobs.length, 2);
  assert.equal(body.usage.prompt_tokens, tok.renderChat([{ role: 'user', content }], { addGenerationPrompt: true }).length);
  const s = await streamed('/v1/chat/completions', { messages: [{ role: 'user', content }], max_tokens: 12, temperature: 0 });
  assert.equal(s.events[0].choices[0].delta.role, 'assistant');
  assert.equal(s.events.map((e) => e.choices[0].delta.content ?? '').join(''), ref);
  assert.equal(s.events.at(-1).choices[0].finish_reason, 'length');
  assert.equal(s.events[0].object, 'chat.completion.chunk');
});

test('infill: prefix + suffix -> middle with the FIM tokens', async () => {
  const prefix = 'function add(a, b) {', suffix = '}';
  const body = await (await post('/v1/infill', { input_prefix: prefix, input_suffix: suffix, max_tokens: 6, temperature: 0 })).json();
  const ids = [tok.special.fimPrefix, ...tok.encode(prefix), tok.special.fimSuffix, ...tok.encode(suffix), tok.special.fimMiddle];
  const ref = tok.decode(generate(model, ids, { maxNewTokens: 6, stopTokens: [tok.special.eot] }).ids, { skipSpecial: true });
  assert.equal(body.choices[0].text, ref);
  assert.equal(body.usage.prompt_tokens, ids.length);
  // The completions route's `suffix` does the same.
  const viaSuffix = await (await post('/v1/completions', { prompt: prefix, suffix, max_tokens: 6, temperature: 0 })).json();
  assert.equal(viaSuffix.choices[0].text, ref);
});

test('malformed requests get OpenAI-shaped JSON errors', async () => {
  const cases: [string, unknown, number, RegExp, string?][] = [
    ['/v1/completions', '{"prompt": ', 400, /parse the JSON/],
    ['/v1/completions', { max_tokens: 3 }, 400, /prompt/, 'prompt'],
    ['/v1/completions', { prompt: 'x', temperature: 5 }, 400, /temperature/, 'temperature'],
    ['/v1/completions', { prompt: 'x', stop: ['a', 'b', 'c', 'd', 'e'] }, 400, /stop/, 'stop'],
    ['/v1/completions', { prompt: [1, 99999] }, 400, /outside the vocabulary/],
    ['/v1/completions', { prompt: 'x', model: 'gpt-9' }, 404, /does not exist/, 'model'],
    ['/v1/completions', { prompt: 'word '.repeat(400) }, 400, /maximum context length/],
    ['/v1/chat/completions', { messages: [{ role: 'robot', content: 'x' }] }, 400, /role/, 'messages[0].role'],
    ['/v1/chat/completions', { messages: [] }, 400, /messages/],
    ['/v1/chat/completions', [1, 2], 400, /JSON object/],
    ['/v1/nope', {}, 404, /no route/],
  ];
  for (const [path, body, status, re, param] of cases) {
    const res = await post(path, body);
    assert.equal(res.status, status, `${path} ${JSON.stringify(body).slice(0, 60)}`);
    const j = await res.json();
    assert.match(j.error.message, re);
    assert.equal(typeof j.error.type, 'string');
    if (param) assert.equal(j.error.param, param);
  }
  const get = await fetch(server.url + '/v1/completions');
  assert.equal(get.status, 405);
  const big = await post('/v1/completions', { prompt: 'x'.repeat(70 * 1024) });
  assert.equal(big.status, 413);
  assert.match((await big.json()).error.message, /exceeds the limit/);
});

test('API key and rate limit', async () => {
  const e2 = tinyEngine(tok, model);
  const s2 = await startServer(e2, tok, { apiKey: 'sekret', rateLimitPerMinute: 3 });
  try {
    const noKey = await fetch(s2.url + '/v1/models');
    assert.equal(noKey.status, 401);
    assert.equal((await noKey.json()).error.code, 'invalid_api_key');
    assert.equal((await fetch(s2.url + '/v1/models', { headers: { authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await fetch(s2.url + '/health')).status, 200, 'health needs no key');
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(s2.url + '/v1/models', { headers: { authorization: 'Bearer sekret' } })).status);
    assert.deepEqual(statuses.slice(0, 2), [200, 200]);
    assert.equal(statuses[3], 429);
  } finally {
    await s2.close(0);
  }
});

test('a client that disconnects mid-stream frees its KV blocks', async () => {
  const ac = new AbortController();
  const res = await fetch(server.url + '/v1/completions', {
    method: 'POST', headers: { 'content-type': 'application/json' }, signal: ac.signal,
    body: JSON.stringify({ prompt: 'Serving a language model', max_tokens: 200, temperature: 0, stream: true }),
  });
  const reader = res.body!.getReader();
  await reader.read();
  assert.ok(engine.numRunning === 1 && engine.blocks.used > 0);
  ac.abort();
  for (let i = 0; i < 200 && (engine.numRunning > 0 || engine.blocks.used > 0); i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(engine.numRunning, 0);
  assert.equal(engine.blocks.used, 0);
  const m = await (await fetch(server.url + '/metrics')).text();
  assert.match(m, /hcx_requests_finished_total\{reason="abort"\} [1-9]/);
});

/**
 * Resolves as soon as the engine accepts a request: the continuation runs in that same turn of the event
 * loop, before the engine's first step (scheduled with setImmediate), so the request is surely in flight.
 * (Polling numRunning on a timer could miss a short request that started and finished between two polls.)
 */
function submitted(e: Engine): Promise<void> {
  const orig = e.submit.bind(e);
  return new Promise((resolve) => {
    e.submit = (...args: Parameters<Engine['submit']>) => {
      const h = orig(...args);
      e.submit = orig;
      resolve();
      return h;
    };
  });
}

test('graceful shutdown: in-flight requests finish, later ones are refused, a short drain cancels streams', async () => {
  const e3 = tinyEngine(tok, model);
  const s3 = await startServer(e3, tok);
  const accepted = submitted(e3);
  const inflight = fetch(s3.url + '/v1/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'a', max_tokens: 40, temperature: 0, ignore_eos: true }) });
  await accepted;
  assert.equal(e3.numRunning + e3.numWaiting, 1);
  const closing = s3.close(30_000);
  const r = await inflight;
  assert.equal(r.status, 200);
  assert.equal((await r.json()).choices[0].finish_reason, 'length');
  await closing;
  await assert.rejects(fetch(s3.url + '/health'));
  // Drain 0: a stream in flight gets an in-band error event and [DONE].
  const e4 = tinyEngine(tok, model, { maxTokensPerStep: 1 });
  const s4 = await startServer(e4, tok);
  const accepted4 = submitted(e4);
  const res = await fetch(s4.url + '/v1/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'The quick brown fox jumps', max_tokens: 200, stream: true, ignore_eos: true }) });
  const events: string[] = [];
  const reading = (async () => { for await (const d of sseEvents(res.body!)) events.push(d); })();
  await accepted4;
  await s4.close(0);
  await reading;
  assert.equal(events.at(-1), '[DONE]');
  assert.match(events.at(-2)!, /cancelled/);
});

// Raw socket: a request without content-length that streams past the limit is cut off with 413.
test('chunked body over the limit gets 413', async () => {
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(server.url + '/v1/completions', { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => { res.resume(); resolve(res.statusCode!); });
    req.on('error', reject);
    for (let i = 0; i < 80; i++) req.write('x'.repeat(1024));
    req.end();
  });
  assert.equal(status, 413);
});

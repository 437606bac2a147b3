// The openai SDK (v6) against a live `hcx serve` process (test/serve/live_server.ts): models.retrieve/list,
// completions and chat equal to the reference generator's greedy output, streaming (with usage), logprobs
// equal to the model's own log-softmax, 400s surfacing as the SDK's BadRequestError with hcx's message and
// param, an aborted stream freeing its slot on the server, tool calls (required / named, streamed through
// the SDK's own delta accumulator) and json_schema output that parses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { Ajv } from 'ajv';
import { generate } from '../../src/model/generate.js';
import { greedyChat, greedyText, nextTokenLogprobs } from './fixture.js';
import { closingBias, startLiveServer, until, type LiveServer } from './live_server.js';

let live: LiveServer;
let client: OpenAI;
const closers = () => closingBias(live.tok);
before(async () => {
  live = await startLiveServer({ name: 'tiny-openai' });
  client = new OpenAI({ baseURL: live.url + '/v1', apiKey: 'unused', maxRetries: 0 });
});
after(() => live.stop());

const ADD = { type: 'function' as const, function: { name: 'add', description: 'Adds two integers', parameters: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } }, required: ['a', 'b'], additionalProperties: false } } };
const WEATHER = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false } } };
const ajv = new Ajv({ strict: false });
/** The reference generator's greedy continuation of `ids`. */
const greedyIds = (ids: number[], n: number) => generate(live.model, ids, { maxNewTokens: n, stopTokens: [live.tok.special.eot, live.tok.special.endofturn] }).ids;

test('openai: models.retrieve and models.list; an unknown model is a NotFoundError', async () => {
  const m = await client.models.retrieve('tiny-openai');
  assert.equal(m.id, 'tiny-openai');
  assert.equal(m.object, 'model');
  const list = await client.models.list();
  assert.deepEqual(list.data.map((x) => x.id), ['tiny-openai']);
  await assert.rejects(client.models.retrieve('gpt-4o'), (e: unknown) => e instanceof OpenAI.NotFoundError && e.status === 404 && /gpt-4o/.test(e.message));
});

test('openai: completions and chat equal the reference greedy output', async () => {
  const c = await client.completions.create({ model: 'tiny-openai', prompt: 'The quick brown', max_tokens: 12, temperature: 0 });
  assert.equal(c.choices[0].text, greedyText(live.tok, live.model, 'The quick brown', 12));
  assert.equal(c.usage!.prompt_tokens, live.tok.encode('The quick brown').length);
  const r = await client.chat.completions.create({ model: 'tiny-openai', messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 10, temperature: 0 });
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(r.choices[0].message.content, greedyChat(live.tok, live.model, 'Hello there', 10));
  assert.equal(r.model, 'tiny-openai');
  // developer role and list-of-parts content are read as system and joined text.
  const parts = await client.chat.completions.create({ model: 'tiny-openai', messages: [{ role: 'developer', content: 'Be brief.' }, { role: 'user', content: [{ type: 'text', text: 'Hello' }, { type: 'text', text: ' there' }] }], max_tokens: 1 });
  assert.equal(parts.usage!.prompt_tokens, live.tok.renderChat([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello there' }], { addGenerationPrompt: true }).length);
});

test('openai: streaming chat and completions, with usage in the last chunk', async () => {
  const stream = await client.chat.completions.create({ model: 'tiny-openai', messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 10, temperature: 0, stream: true, stream_options: { include_usage: true } });
  let text = '', finish: string | null = null, usage: OpenAI.CompletionUsage | undefined, chunks = 0;
  for await (const ch of stream) {
    chunks++;
    text += ch.choices[0]?.delta.content ?? '';
    finish = ch.choices[0]?.finish_reason ?? finish;
    if (ch.usage) usage = ch.usage;
  }
  assert.ok(chunks > 3, 'the reply came in pieces');
  assert.equal(text, greedyChat(live.tok, live.model, 'Hello there', 10));
  assert.equal(finish, 'length');
  assert.equal(usage!.completion_tokens, 10);
  const cs = await client.completions.create({ model: 'tiny-openai', prompt: 'The quick brown', max_tokens: 12, temperature: 0, stream: true });
  let ctext = '';
  for await (const ch of cs) ctext += ch.choices[0]?.text ?? '';
  assert.equal(ctext, greedyText(live.tok, live.model, 'The quick brown', 12));
});

test("openai: logprobs equal the model's log-softmax (completions with echo, chat with top_logprobs)", async () => {
  const { tok, model } = live;
  const prompt = 'Serving a language model';
  const c = await client.completions.create({ model: 'tiny-openai', prompt, max_tokens: 4, temperature: 0, echo: true, logprobs: 2 });
  const lp = c.choices[0].logprobs!;
  const P = tok.encode(prompt);
  const ids = [...P, ...greedyIds(P, 4)];
  assert.equal(c.choices[0].text, tok.decode(ids, { skipSpecial: true }));
  assert.equal(lp.tokens!.length, ids.length);
  assert.equal(lp.token_logprobs![0], null);
  const ref = nextTokenLogprobs(model, ids);
  for (let i = 1; i < ids.length; i++) assert.ok(Math.abs(lp.token_logprobs![i]! - ref[i - 1][ids[i]]) < 1e-3, `token ${i}: ${lp.token_logprobs![i]} vs ${ref[i - 1][ids[i]]}`);
  const messages = [{ role: 'user' as const, content: 'Hello there' }];
  const r = await client.chat.completions.create({ model: 'tiny-openai', messages, max_tokens: 6, temperature: 0, logprobs: true, top_logprobs: 3 });
  const content = r.choices[0].logprobs!.content!;
  assert.equal(content.length, 6);
  assert.equal(content.map((t) => t.token).join(''), r.choices[0].message.content);
  const chatIds = tok.renderChat(messages, { addGenerationPrompt: true });
  const out = greedyIds(chatIds, 6);
  const cref = nextTokenLogprobs(model, [...chatIds, ...out]);
  content.forEach((t, i) => {
    assert.ok(Math.abs(t.logprob - cref[chatIds.length - 1 + i][out[i]]) < 1e-3, `chat token ${i}`);
    assert.equal(t.top_logprobs.length, 3);
    assert.equal(t.top_logprobs[0].logprob, t.logprob, 'greedy: the chosen token is the most likely');
    assert.ok(t.top_logprobs[1].logprob <= t.top_logprobs[0].logprob && t.top_logprobs[2].logprob <= t.top_logprobs[1].logprob);
    assert.deepEqual(t.bytes, Array.from(tok.tokenBytes(out[i])));
  });
});

test("openai: a 400 is the SDK's BadRequestError carrying hcx's message, param and code", async () => {
  await assert.rejects(client.completions.create({ model: 'tiny-openai', prompt: 'a', best_of: 3 }), (e: unknown) =>
    e instanceof OpenAI.BadRequestError && e.status === 400 && e.param === 'best_of' && /'best_of' is supported only equal to 'n'/.test(e.message));
  await assert.rejects(client.chat.completions.create({ model: 'tiny-openai', messages: [{ role: 'user', content: 'word '.repeat(2000) }] }), (e: unknown) =>
    e instanceof OpenAI.BadRequestError && e.code === 'context_length_exceeded' && /maximum context length is 1024 tokens/.test(e.message));
  await assert.rejects(client.chat.completions.create({ model: 'tiny-openai', messages: [{ role: 'user', content: 'a' }], temperature: 3 }), (e: unknown) =>
    e instanceof OpenAI.BadRequestError && e.param === 'temperature' && /between 0 and 2/.test(e.message));
});

test('openai: aborting a stream cancels the request on the server and frees its KV blocks', async () => {
  const before = await live.stats();
  const aborted = await live.finished('abort');
  const ac = new AbortController();
  const stream = await client.chat.completions.create({ model: 'tiny-openai', messages: [{ role: 'user', content: 'Tell me a long story' }], max_tokens: 900, stream: true, seed: 1, ...{ ignore_eos: true } }, { signal: ac.signal });
  let pieces = 0, finish: string | null = null;
  // The SDK ends the iteration quietly when its signal aborts.
  for await (const ch of stream) {
    if (ch.choices[0]?.delta.content) pieces++;
    finish = ch.choices[0]?.finish_reason ?? finish;
    if (pieces === 3) ac.abort();
  }
  assert.ok(pieces >= 3 && pieces < 900, `${pieces} pieces`);
  assert.equal(finish, null, 'the stream was cut before the reply finished');
  await until(async () => (await live.finished('abort')) === aborted + 1, 'the server to record the abort');
  const after = await live.stats();
  assert.equal(after.running, 0);
  assert.equal(after.waiting, 0);
  assert.equal(after.kvBlocksUsed, before.kvBlocksUsed, 'the sequence\'s KV blocks were released');
});

test('openai: tool calls (required, named, streamed through the SDK accumulator) parse and validate', async () => {
  const messages = [{ role: 'user' as const, content: 'What is 2 plus 3?' }];
  const validate = { add: ajv.compile(ADD.function.parameters), get_weather: ajv.compile(WEATHER.function.parameters) };
  for (const seed of [0, 1, 2]) {
    const r = await client.chat.completions.create({ model: 'tiny-openai', messages, tools: [ADD, WEATHER], tool_choice: 'required', parallel_tool_calls: false, temperature: 1, seed, max_tokens: 200, logit_bias: closers() });
    const c = r.choices[0];
    assert.equal(c.finish_reason, 'tool_calls', JSON.stringify(c.message));
    assert.equal(c.message.tool_calls!.length, 1);
    const call = c.message.tool_calls![0];
    assert.equal(call.type, 'function');
    if (call.type !== 'function') continue;
    const v = validate[call.function.name as keyof typeof validate];
    assert.ok(v, call.function.name);
    assert.ok(v(JSON.parse(call.function.arguments)), call.function.arguments);
  }
  const named = await client.chat.completions.create({ model: 'tiny-openai', messages, tools: [ADD, WEATHER], tool_choice: { type: 'function', function: { name: 'get_weather' } }, temperature: 1, seed: 3, max_tokens: 200, logit_bias: closers() });
  const nc = named.choices[0].message.tool_calls![0];
  assert.ok(nc.type === 'function' && nc.function.name === 'get_weather' && validate.get_weather(JSON.parse(nc.function.arguments)));
  // The SDK's stream helper assembles tool_call deltas into the final message.
  const stream = client.chat.completions.stream({ model: 'tiny-openai', messages, tools: [ADD], tool_choice: 'required', parallel_tool_calls: false, temperature: 1, seed: 4, max_tokens: 200, logit_bias: closers() });
  const final = await stream.finalChatCompletion();
  const sc = final.choices[0];
  assert.equal(sc.finish_reason, 'tool_calls');
  const call = sc.message.tool_calls![0];
  assert.ok(call.type === 'function' && call.function.name === 'add' && validate.add(JSON.parse(call.function.arguments)), JSON.stringify(call));
  assert.match(call.id, /^call_/);
  // A conversation carrying the call and its result renders and answers.
  const next = await client.chat.completions.create({ model: 'tiny-openai', tools: [ADD], max_tokens: 4, messages: [...messages, sc.message, { role: 'tool', tool_call_id: call.id, content: '5' }] });
  assert.equal(typeof next.choices[0].message.content, 'string');
});

test('openai: response_format json_schema gives output that parses and validates', async () => {
  const schema = { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' }, kind: { enum: ['adult', 'child'] } }, required: ['name', 'age', 'kind'], additionalProperties: false };
  const v = ajv.compile(schema);
  for (const seed of [0, 1]) {
    const r = await client.chat.completions.create({ model: 'tiny-openai', messages: [{ role: 'user', content: 'A person as JSON' }], response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } }, temperature: 1, seed, max_tokens: 200, logit_bias: closers() });
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.ok(v(JSON.parse(r.choices[0].message.content!)), r.choices[0].message.content!);
  }
});

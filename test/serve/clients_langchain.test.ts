// LangChain.js (@langchain/openai 0.6) against a live `hcx serve` process: ChatOpenAI invoke and stream
// equal to the reference greedy reply, the completions LLM (OpenAI), logprobs in response_metadata equal to
// the model's log-softmax, a 400 surfacing with status and hcx's message, an AbortSignal cancelling the
// request on the server, and bindTools with tool_choice required giving a parsed tool call.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ChatOpenAI, OpenAI as LangChainOpenAI } from '@langchain/openai';
import { greedyChat, greedyText } from './fixture.js';
import { checkChatLogprobs, closingBias, startLiveServer, until, type ChatTokenLogprob, type LiveServer } from './live_server.js';

let live: LiveServer;
before(async () => { live = await startLiveServer({ name: 'tiny-lc' }); });
after(() => live.stop());

const chat = (extra: Record<string, unknown> = {}) => new ChatOpenAI({ model: 'tiny-lc', apiKey: 'unused', configuration: { baseURL: live.url + '/v1' }, maxRetries: 0, ...extra });

test('langchain: ChatOpenAI invoke and stream equal the reference greedy reply; the OpenAI LLM completes', async () => {
  const m = chat({ temperature: 0, maxTokens: 10 });
  const r = await m.invoke('Hello there');
  assert.equal(r.content, greedyChat(live.tok, live.model, 'Hello there', 10));
  assert.equal(r.usage_metadata?.output_tokens, 10);
  let text = '', chunks = 0;
  for await (const ch of await m.stream('Hello there')) { text += String(ch.content); chunks++; }
  assert.ok(chunks > 3);
  assert.equal(text, greedyChat(live.tok, live.model, 'Hello there', 10));
  const llm = new LangChainOpenAI({ model: 'tiny-lc', apiKey: 'unused', configuration: { baseURL: live.url + '/v1' }, temperature: 0, maxTokens: 12, maxRetries: 0 });
  assert.equal(await llm.invoke('The quick brown'), greedyText(live.tok, live.model, 'The quick brown', 12));
});

test("langchain: logprobs in response_metadata equal the model's log-softmax", async () => {
  const r = await chat({ temperature: 0, maxTokens: 5, logprobs: true, topLogprobs: 2 }).invoke('Hello there');
  const content = (r.response_metadata.logprobs as { content: ChatTokenLogprob[] }).content;
  assert.equal(content.length, 5);
  checkChatLogprobs(live, 'Hello there', content, String(r.content), 2);
});

test("langchain: a 400 surfaces with status 400 and hcx's message", async () => {
  await assert.rejects(chat().invoke('word '.repeat(2000)), (e: unknown) =>
    (e as { status?: number }).status === 400 && /maximum context length is 1024 tokens/.test((e as Error).message));
  await assert.rejects(chat({ temperature: 0, modelKwargs: { best_of: 2 } }).invoke('a'), (e: unknown) =>
    (e as { status?: number }).status === 400 && /'best_of'/.test((e as Error).message));
});

test('langchain: an AbortSignal cancels the stream on the server and frees its KV blocks', async () => {
  const before = await live.stats();
  const aborted = await live.finished('abort');
  const ac = new AbortController();
  let pieces = 0;
  await assert.rejects((async () => {
    for await (const ch of await chat({ maxTokens: 900, modelKwargs: { ignore_eos: true, seed: 3 } }).stream('Tell me a long story', { signal: ac.signal })) {
      if (ch.content && ++pieces === 3) ac.abort();
    }
  })(), (e: unknown) => /abort/i.test(String((e as Error).name) + String((e as Error).message)));
  assert.ok(pieces >= 3 && pieces < 900);
  await until(async () => (await live.finished('abort')) === aborted + 1, 'the server to record the abort');
  const after = await live.stats();
  assert.equal(after.running, 0);
  assert.equal(after.kvBlocksUsed, before.kvBlocksUsed);
});

test('langchain: bindTools with tool_choice required gives a parsed tool call', async () => {
  const closers = closingBias(live.tok);
  const add = { type: 'function' as const, function: { name: 'add', description: 'Adds two integers', parameters: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } }, required: ['a', 'b'], additionalProperties: false } } };
  const m = chat({ temperature: 1, maxTokens: 200, modelKwargs: { seed: 6, logit_bias: closers } }).bindTools([add], { tool_choice: 'required', parallel_tool_calls: false });
  const r = await m.invoke('What is 2 plus 3?');
  assert.equal(r.tool_calls?.length, 1, JSON.stringify(r));
  const call = r.tool_calls![0];
  assert.equal(call.name, 'add');
  assert.ok(Number.isInteger(call.args.a) && Number.isInteger(call.args.b), JSON.stringify(call.args));
  assert.match(call.id!, /^call_/);
  assert.equal(r.response_metadata.finish_reason, 'tool_calls');
});

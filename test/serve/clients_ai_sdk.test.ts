// The Vercel AI SDK (ai 6 with @ai-sdk/openai-compatible 2) against a live `hcx serve` process: generateText
// on the chat and completion models equal to the reference greedy output, streamText, logprobs (asked for
// through providerOptions, read from the raw response), a 400 surfacing as APICallError with hcx's message,
// abortSignal cancelling the request on the server, tools with toolChoice required, and structured output.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { APICallError, generateText, jsonSchema, Output, streamText, tool } from 'ai';
import { createOpenAICompatible, type OpenAICompatibleProvider } from '@ai-sdk/openai-compatible';
import { greedyChat, greedyText } from './fixture.js';
import { checkChatLogprobs, closingBias, startLiveServer, until, type ChatTokenLogprob, type LiveServer } from './live_server.js';

let live: LiveServer;
let hcx: OpenAICompatibleProvider;
before(async () => {
  live = await startLiveServer({ name: 'tiny-ai' });
  hcx = createOpenAICompatible({ name: 'hcx', baseURL: live.url + '/v1', includeUsage: true, supportsStructuredOutputs: true });
});
after(() => live.stop());

const closers = () => closingBias(live.tok);

test('ai-sdk: generateText on the chat and the completion model equals the reference greedy output', async () => {
  const r = await generateText({ model: hcx.chatModel('tiny-ai'), prompt: 'Hello there', maxOutputTokens: 10, temperature: 0, maxRetries: 0 });
  assert.equal(r.text, greedyChat(live.tok, live.model, 'Hello there', 10));
  assert.equal(r.finishReason, 'length');
  assert.equal(r.usage.outputTokens, 10);
  assert.equal(r.usage.inputTokens, live.tok.renderChat([{ role: 'user', content: 'Hello there' }], { addGenerationPrompt: true }).length);
  const sys = await generateText({ model: hcx.chatModel('tiny-ai'), system: 'Be brief.', prompt: 'Hello there', maxOutputTokens: 1, temperature: 0, maxRetries: 0 });
  assert.equal(sys.usage.inputTokens, live.tok.renderChat([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello there' }], { addGenerationPrompt: true }).length);
  const c = await generateText({ model: hcx.completionModel('tiny-ai'), prompt: 'The quick brown', maxOutputTokens: 12, temperature: 0, maxRetries: 0 });
  // The SDK writes a user prompt for a completion model as a transcript and stops at the next user line.
  const rawBody = c.request.body;
  const sent = (typeof rawBody === 'string' ? JSON.parse(rawBody) : rawBody) as { prompt: string; stop: string[] };
  assert.equal(sent.prompt, 'user:\nThe quick brown\n\nassistant:\n');
  assert.equal(c.text, greedyText(live.tok, live.model, sent.prompt, 12).split(sent.stop[0])[0]);
});

test('ai-sdk: streamText streams the same reply in pieces, with usage', async () => {
  const r = streamText({ model: hcx.chatModel('tiny-ai'), prompt: 'Hello there', maxOutputTokens: 10, temperature: 0, maxRetries: 0 });
  const pieces: string[] = [];
  for await (const p of r.textStream) pieces.push(p);
  assert.ok(pieces.length > 3);
  assert.equal(pieces.join(''), greedyChat(live.tok, live.model, 'Hello there', 10));
  assert.equal((await r.usage).outputTokens, 10);
  assert.equal(await r.finishReason, 'length');
});

test("ai-sdk: logprobs through providerOptions equal the model's log-softmax", async () => {
  const r = await generateText({ model: hcx.chatModel('tiny-ai'), prompt: 'Hello there', maxOutputTokens: 5, temperature: 0, maxRetries: 0, providerOptions: { hcx: { logprobs: true, top_logprobs: 2 } } });
  const body = r.response.body as { choices: { logprobs: { content: ChatTokenLogprob[] } }[] };
  assert.equal(body.choices[0].logprobs.content.length, 5);
  checkChatLogprobs(live, 'Hello there', body.choices[0].logprobs.content, r.text, 2);
});

test("ai-sdk: a 400 is an APICallError with status 400 and hcx's message", async () => {
  await assert.rejects(generateText({ model: hcx.chatModel('tiny-ai'), prompt: 'word '.repeat(2000), maxRetries: 0 }), (e: unknown) =>
    APICallError.isInstance(e) && e.statusCode === 400 && /maximum context length is 1024 tokens/.test(e.message) && e.isRetryable === false);
  await assert.rejects(generateText({ model: hcx.chatModel('tiny-ai'), prompt: 'a', maxRetries: 0, providerOptions: { hcx: { best_of: 2 } } }), (e: unknown) =>
    APICallError.isInstance(e) && e.statusCode === 400 && /'best_of' is supported only equal to 'n'/.test(e.message));
  // streamText reports the error in-band (an 'error' part), not as a throw.
  const s = streamText({ model: hcx.chatModel('tiny-ai'), prompt: 'a', temperature: 5, maxRetries: 0, onError: () => {} });
  let err: unknown;
  for await (const p of s.fullStream) if (p.type === 'error') err = p.error;
  assert.ok(APICallError.isInstance(err) && err.statusCode === 400 && /'temperature' must be a number between 0 and 2/.test(err.message), String(err));
});

test('ai-sdk: abortSignal cancels the request on the server and frees its KV blocks', async () => {
  const before = await live.stats();
  const aborted = await live.finished('abort');
  const ac = new AbortController();
  const r = streamText({ model: hcx.chatModel('tiny-ai'), prompt: 'Tell me a long story', maxOutputTokens: 900, seed: 2, abortSignal: ac.signal, maxRetries: 0, providerOptions: { hcx: { ignore_eos: true } }, onError: () => {} });
  let pieces = 0, finished = false;
  try {
    for await (const p of r.fullStream) {
      if (p.type === 'text-delta' && ++pieces === 3) ac.abort();
      if (p.type === 'finish') finished = true;
    }
  } catch (e) {
    assert.equal((e as Error).name, 'AbortError');
  }
  assert.ok(pieces >= 3 && pieces < 900);
  assert.ok(!finished || (await r.finishReason) !== 'length');
  await until(async () => (await live.finished('abort')) === aborted + 1, 'the server to record the abort');
  const after = await live.stats();
  assert.equal(after.running, 0);
  assert.equal(after.kvBlocksUsed, before.kvBlocksUsed);
});

test('ai-sdk: tools with toolChoice required give a call whose input validates, and executing it feeds the result back', async () => {
  let executed: { a: number; b: number } | null = null;
  const add = tool({
    description: 'Adds two integers',
    inputSchema: jsonSchema<{ a: number; b: number }>({ type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } }, required: ['a', 'b'], additionalProperties: false }),
    execute: async (input) => { executed = input; return input.a + input.b; },
  });
  const r = await generateText({
    model: hcx.chatModel('tiny-ai'), prompt: 'What is 2 plus 3?', tools: { add }, toolChoice: 'required', temperature: 1, seed: 5, maxOutputTokens: 200, maxRetries: 0,
    providerOptions: { hcx: { logit_bias: closers(), parallel_tool_calls: false } },
  });
  assert.equal(r.finishReason, 'tool-calls');
  assert.equal(r.toolCalls.length, 1);
  assert.equal(r.toolCalls[0].toolName, 'add');
  const input = r.toolCalls[0].input as { a: number; b: number };
  assert.ok(Number.isInteger(input.a) && Number.isInteger(input.b), JSON.stringify(input));
  assert.deepEqual(executed, input, 'the SDK validated the input against the schema and ran the tool');
  assert.equal(r.toolResults[0].output, input.a + input.b);
});

test('ai-sdk: structured output (json_schema) parses and validates', async () => {
  const schema = jsonSchema<{ name: string; kind: 'adult' | 'child' }>({ type: 'object', properties: { name: { type: 'string' }, kind: { enum: ['adult', 'child'] } }, required: ['name', 'kind'], additionalProperties: false });
  const r = await generateText({
    model: hcx.chatModel('tiny-ai'), prompt: 'A person as JSON', output: Output.object({ schema }), temperature: 1, seed: 1, maxOutputTokens: 200, maxRetries: 0,
    providerOptions: { hcx: { logit_bias: closers() } },
  });
  const raw = r.request.body;
  const body = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { response_format?: { type: string } };
  assert.equal(body.response_format?.type, 'json_schema');
  assert.ok(typeof r.output.name === 'string' && ['adult', 'child'].includes(r.output.kind), JSON.stringify(r.output));
});

// Tool calls: the template's tool format, the streaming parser against the whole-text one, and
// tool_choice through the server on a random-weight model (named / required are enforced by
// constrained decoding, so every call parses and its arguments validate against the tool's schema).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import { parseToolCalls, pyJson, ToolCallParser, toTemplateMessages, callText } from '../../src/serve/tool_format.js';
import { parseMessages } from '../../src/serve/request_chat.js';
import { tiny, tinyEngine } from './fixture.js';
import { startServer, type HcxServer } from '../../src/serve/server.js';
import { sseEvents } from '../../src/serve/chat.js';
import { Rng } from '../../src/tensor/index.js';

const WEATHER = { type: 'function', function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { enum: ['c', 'f'] } }, required: ['city', 'unit'], additionalProperties: false } } };
const ADD = { type: 'function', function: { name: 'add', parameters: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } }, required: ['a', 'b'], additionalProperties: false } } };

test('tools, calls and results in the template', () => {
  const msgs = parseMessages([
    { role: 'developer', content: 'Be brief.' },
    { role: 'user', content: 'Weather in Seoul?' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Seoul", "unit": "c"}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: '21 C' },
  ]);
  const t = toTemplateMessages(msgs, [WEATHER]);
  assert.equal(t.length, 4);
  assert.equal(t[0].role, 'system');
  assert.ok(t[0].content.startsWith('Be brief.\n\n# Tools\n'));
  assert.ok(t[0].content.includes(pyJson(WEATHER) + '\n</tools>'));
  assert.equal(t[2].content, '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Seoul", "unit": "c"}}\n</tool_call>');
  assert.deepEqual(t[3], { role: 'user', content: '<tool_response>\n21 C\n</tool_response>' });
  // Without a system message one is added for the tools.
  assert.equal(toTemplateMessages(parseMessages([{ role: 'user', content: 'x' }]), [ADD])[0].role, 'system');
});

test('the streaming tool-call parser agrees with the whole-text one, split anywhere', () => {
  const texts = [
    'Let me check.\n' + callText('get_weather', '{"city": "Seoul", "unit": "c"}') + '\n' + callText('add', '{"a": 1, "b": 2}'),
    callText('add', '{"a": 1, "b": 2}'),
    'no calls here, just <tool text and a < sign',
    'broken <tool_call>\n{"name": oops}\n</tool_call> after',
    'unterminated <tool_call>\n{"name": "add", "arguments": {',
  ];
  const rng = new Rng(3);
  for (const text of texts) {
    const whole = parseToolCalls(text);
    for (let trial = 0; trial < 20; trial++) {
      const p = new ToolCallParser();
      let content = '';
      const calls: unknown[] = [];
      let i = 0;
      while (i < text.length) {
        const n = 1 + Math.floor(rng.next() * 7);
        for (const e of p.push(text.slice(i, i + n))) 'call' in e ? calls.push(e.call) : (content += e.content);
        i += n;
      }
      for (const e of p.finish()) 'call' in e ? calls.push(e.call) : (content += e.content);
      assert.equal(content, whole.content, text);
      assert.deepEqual(calls, whole.calls, text);
    }
  }
  const a = parseToolCalls(texts[0]);
  assert.equal(a.content, 'Let me check.');
  assert.deepEqual(a.calls, [{ name: 'get_weather', arguments: '{"city":"Seoul","unit":"c"}' }, { name: 'add', arguments: '{"a":1,"b":2}' }]);
  assert.deepEqual(parseToolCalls(texts[3]).calls, []);
  assert.equal(parseToolCalls(texts[4]).content, texts[4]);
});

let server: HcxServer;
const { tok, model } = await tiny(1024); // the tools block alone is ~450 tokens
before(async () => { server = await startServer(tinyEngine(tok, model), tok, { modelName: 'tiny' }); });
after(() => server.close(0));
const post = (body: unknown) => fetch(server.url + '/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const quote = tok.encode('"')[0];
const ajv = new Ajv({ strict: false });
const validators = { get_weather: ajv.compile(WEATHER.function.parameters), add: ajv.compile(ADD.function.parameters) };

test('tool_choice named / required: calls parse and their arguments validate (constrained decoding)', async () => {
  const base = { messages: [{ role: 'user', content: 'What is the weather in Seoul?' }], tools: [WEATHER, ADD], temperature: 1, max_tokens: 200, logit_bias: { [quote]: 4 } };
  for (let seed = 0; seed < 5; seed++) {
    for (const choice of [{ type: 'function', function: { name: 'get_weather' } }, 'required'] as const) {
      const body = await (await post({ ...base, seed, tool_choice: choice, parallel_tool_calls: choice === 'required' })).json();
      const c = body.choices[0];
      assert.equal(c.finish_reason, 'tool_calls', JSON.stringify(c));
      assert.ok(c.message.tool_calls.length >= 1);
      for (const call of c.message.tool_calls) {
        assert.match(call.id, /^call_/);
        assert.equal(call.type, 'function');
        if (typeof choice === 'object') assert.equal(call.function.name, 'get_weather');
        const v = validators[call.function.name as keyof typeof validators];
        assert.ok(v(JSON.parse(call.function.arguments)), `${call.function.arguments} ${JSON.stringify(v.errors)}`);
      }
    }
  }
  // auto on this random model answers in text; none does not show the tools.
  const auto = await (await post({ ...base, seed: 1, tool_choice: 'auto', max_tokens: 8 })).json();
  assert.equal(typeof auto.choices[0].message.content, 'string');
  const none = await (await post({ ...base, tool_choice: 'none', max_tokens: 1 })).json();
  const noneTokens = tok.renderChat([{ role: 'user', content: 'What is the weather in Seoul?' }], { addGenerationPrompt: true }).length;
  assert.equal(none.usage.prompt_tokens, noneTokens);
  assert.ok(auto.usage.prompt_tokens > noneTokens);
});

test('streamed tool calls: a delta with id, type and name, then the arguments, then finish_reason tool_calls', async () => {
  const res = await post({ messages: [{ role: 'user', content: 'add 1 and 2' }], tools: [ADD], tool_choice: 'required', parallel_tool_calls: false, temperature: 1, seed: 4, max_tokens: 120, stream: true });
  const deltas: any[] = [];
  let finish = null;
  for await (const d of sseEvents(res.body!)) {
    if (d === '[DONE]') continue;
    const ch = JSON.parse(d).choices[0];
    if (ch?.delta?.tool_calls) deltas.push(...ch.delta.tool_calls);
    if (ch?.finish_reason) finish = ch.finish_reason;
  }
  assert.equal(finish, 'tool_calls');
  assert.equal(deltas[0].index, 0);
  assert.match(deltas[0].id, /^call_/);
  assert.equal(deltas[0].function.name, 'add');
  assert.equal(deltas[0].function.arguments, '');
  const args = deltas.filter((d) => d.index === 0).map((d) => d.function.arguments).join('');
  assert.ok(validators.add(JSON.parse(args)), args);
  assert.ok(deltas.every((d) => d.index === 0), 'parallel_tool_calls false: one call');
});

test('bad tools and tool_choice are 400s naming the field', async () => {
  const m = [{ role: 'user', content: 'x' }];
  const cases: [object, string][] = [
    [{ tools: [{ type: 'function', function: { name: 'bad name!' } }] }, 'tools[0].function.name'],
    [{ tools: [WEATHER], tool_choice: { type: 'function', function: { name: 'nope' } } }, 'tool_choice'],
    [{ tool_choice: 'required' }, 'tool_choice'],
    [{ tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { x: { type: 'string', pattern: 'a+' } } } } }] }, 'tools[0].function.parameters'],
    [{ tools: [WEATHER], tool_choice: 'required', response_format: { type: 'json_object' } }, 'response_format'],
  ];
  for (const [extra, param] of cases) {
    const r = await post({ messages: m, ...extra });
    assert.equal(r.status, 400, JSON.stringify(extra));
    assert.equal((await r.json()).error.param, param);
  }
});

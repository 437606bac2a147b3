// Serving imported models: a Qwen 3-style Hugging Face directory (Qwen 3's real tokenizer.json and ChatML
// template), a GGUF export, and a HyperCLOVA X SEED-shaped directory, each through startServer as `hcx serve
// --model` opens them. Chat prompts are the model's own template (the ids transformers' apply_chat_template
// gives), greedy replies equal the reference generator's, replies stop at the template's stop tokens,
// json_schema output parses, tool calls come back in Qwen's <tool_call> format, long prompts tokenize on the
// worker thread, which re-opens the imported tokenizer from its file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openModel, type OpenedModel } from '../../src/model/load.js';
import { exportGguf } from '../../src/model/gguf.js';
import { generate } from '../../src/model/generate.js';
import { Engine } from '../../src/serve/engine.js';
import { startServer, type HcxServer } from '../../src/serve/server.js';
import { parseMessages } from '../../src/serve/request_chat.js';
import { pyJson, templateTurns } from '../../src/serve/tool_format.js';
import type { ChatTurn, TextTokenizer } from '../../src/tokenizer/index.js';
import { hfModelDir } from '../helpers/imported.js';
import { hfMissing } from '../helpers/hf_tokenizers.js';
import { pythonMissing, runPython } from '../helpers/python.js';
import { byteLevelJson } from '../tokenizer/hf/tiny.js';
import { tiny } from './fixture.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SEED_TEMPLATE = readFileSync(path.join(root, 'test/tokenizer/fixtures/hyperclovax_seed.jinja'), 'utf8');
const qwenMissing = hfMissing(['qwen3']);

let dir = '';
before(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'hcx-serve-imported-')); });
after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

async function serve(spec: string, opts: { inline?: number } = {}): Promise<{ o: OpenedModel; server: HcxServer }> {
  const o = openModel(spec);
  const tok = o.tokenizer;
  const engine = new Engine(o.model, { blockSize: 8, decode: (ids) => tok.decode(ids, { skipSpecial: true }) });
  const server = await startServer(engine, tok, { modelName: 'm', inlineTokenizeChars: opts.inline });
  return { o, server };
}

async function post(server: HcxServer, route: string, body: unknown): Promise<any> {
  const res = await fetch(server.url + route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const j = await res.json();
  assert.equal(res.status, 200, JSON.stringify(j));
  return j;
}

/** The reference greedy reply: the prompt's ids through generate(), until a stop token. */
function greedy(o: OpenedModel, ids: number[], maxTokens: number): { text: string; stopped: boolean } {
  const tok = o.tokenizer;
  const g = generate(o.model, ids, { maxNewTokens: maxTokens, stopTokens: [...tok.specialIds.stop] });
  return { text: tok.decode(g.ids, { skipSpecial: true }), stopped: g.finishReason === 'stop' };
}

const id = (tok: TextTokenizer, s: string): number => {
  const i = tok.tokenToId(s);
  assert.ok(i !== undefined, `${s} is in the vocabulary`);
  return i;
};

const MESSAGES: ChatTurn[] = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: '서울의 날씨는 어때? <|im_start|>' }];

test('a Qwen 3-style HF directory: template ids, greedy chat, stop at <|im_end|>, json_schema, tool calls, worker tokenizing', { skip: qwenMissing }, async () => {
  const spec = hfModelDir(path.join(dir, 'Qwen3-tiny'), { from: 'qwen3' }, 'Qwen3ForCausalLM');
  const { o, server } = await serve(spec, { inline: 64 });
  try {
    const tok = o.tokenizer;
    assert.equal(tok.kind, 'hf');
    const imEnd = id(tok, '<|im_end|>');
    assert.ok(tok.specialIds.stop.includes(imEnd), 'a chat reply stops at <|im_end|>');
    // The prompt is Qwen's ChatML, the content's "<|im_start|>" plain text: /tokenize renders as chat does.
    const want = tok.encodeChat(MESSAGES, { addGenerationPrompt: true });
    assert.match(want.text, /<\|im_start\|>user\n서울의 날씨는 어때\? <\|im_start\|><\|im_end\|>\n<\|im_start\|>assistant\n$/);
    const t = await post(server, '/tokenize', { messages: MESSAGES });
    assert.deepEqual(t.tokens, want.ids);
    assert.ok(want.ids.filter((x) => x === id(tok, '<|im_start|>')).length === 3, 'the content\'s <|im_start|> stays text');
    assert.ok(server.ctx.asyncTok.offloaded > 0, 'the long conversation went to the worker thread, which re-opened the tokenizer.json');
    if (!pythonMissing(['transformers'])) {
      // transformers renders the same text; its ids differ only where content spells a special token.
      const plain = [MESSAGES[0], { role: 'user', content: '서울의 날씨는 어때?' }];
      const py = JSON.parse(runPython(['-c', `import json,sys\nfrom transformers import AutoTokenizer\nt=AutoTokenizer.from_pretrained(sys.argv[1])\nprint(json.dumps(t.apply_chat_template(json.loads(sys.argv[2]), add_generation_prompt=True, tokenize=True, return_dict=False)))`, spec, JSON.stringify(plain)]));
      assert.deepEqual(tok.encodeChat(plain, { addGenerationPrompt: true }).ids, py, "transformers' apply_chat_template ids");
    }
    // Greedy chat equals the reference generator on the same ids.
    const ref = greedy(o, want.ids, 6);
    const c = await post(server, '/v1/chat/completions', { messages: MESSAGES, max_tokens: 6, temperature: 0 });
    assert.equal(c.choices[0].message.content, ref.text);
    assert.equal(c.usage.prompt_tokens, want.ids.length);
    // Stop at the template's stop token: <|im_end|> made likeliest ends the reply at once, not in the text.
    const s = await post(server, '/v1/chat/completions', { messages: MESSAGES, max_tokens: 6, temperature: 0, logit_bias: { [imEnd]: 100 } });
    assert.equal(s.choices[0].finish_reason, 'stop');
    assert.equal(s.choices[0].message.content, '');
    assert.equal(s.usage.completion_tokens, 1);
    // json_schema: the constrained reply parses and fits the schema.
    const schema = { type: 'object', properties: { ok: { type: 'boolean' }, city: { type: 'string', enum: ['Seoul', 'Busan'] } }, required: ['ok', 'city'], additionalProperties: false };
    const j = await post(server, '/v1/chat/completions', { messages: MESSAGES, max_tokens: 60, temperature: 0, response_format: { type: 'json_schema', json_schema: { name: 'w', schema } } });
    const v = JSON.parse(j.choices[0].message.content);
    assert.equal(typeof v.ok, 'boolean');
    assert.ok(['Seoul', 'Busan'].includes(v.city), j.choices[0].message.content);
    assert.equal(j.choices[0].finish_reason, 'stop');
    // Tools in Qwen's own template, the required call in its <tool_call> format, parsed back.
    const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather of a city', parameters: { type: 'object', properties: { city: { type: 'string', enum: ['Seoul', 'Busan'] } }, required: ['city'], additionalProperties: false } } }];
    const k = await post(server, '/v1/chat/completions', { messages: MESSAGES, tools, tool_choice: 'required', max_tokens: 60, temperature: 0 });
    const call = k.choices[0].message.tool_calls?.[0];
    assert.equal(call?.function.name, 'get_weather', JSON.stringify(k.choices[0]));
    assert.ok(['Seoul', 'Busan'].includes(JSON.parse(call.function.arguments).city));
    assert.equal(k.choices[0].finish_reason, 'tool_calls');
    // The call and its result rendered back by Qwen's template (<tool_response> in a user turn).
    const turn2 = [...MESSAGES, { role: 'assistant', content: null, tool_calls: [call] }, { role: 'tool', tool_call_id: call.id, content: '{"temp": 3}' }];
    const t2 = await post(server, '/v1/chat/completions', { messages: turn2, tools, max_tokens: 2, temperature: 0 });
    const r2 = templateTurns(tok, parseMessages(turn2), tools);
    const e2 = tok.encodeChat(r2.turns, { ...r2.opts, addGenerationPrompt: true });
    assert.equal(t2.usage.prompt_tokens, e2.ids.length);
    assert.ok(e2.text.includes(`<tool_call>\n{"name": "get_weather", "arguments": ${pyJson(JSON.parse(call.function.arguments))}}\n</tool_call>`), e2.text);
    assert.ok(e2.text.includes('<|im_start|>user\n<tool_response>\n{"temp": 3}\n</tool_response><|im_end|>'), e2.text);
    // /tokenizer_info: Qwen's template and stop tokens.
    const info = await (await fetch(server.url + '/tokenizer_info')).json();
    assert.equal(info.chat_template, tok.chatTemplate);
    assert.equal(info.eos_token, '<|im_end|>');
  } finally {
    await server.close(0);
  }
});

test('a GGUF export serves with the tokenizer in its metadata: hcx\'s template, greedy chat, stop at <|endofturn|>, worker tokenizing', async () => {
  const { tok: hcxTok, model } = await tiny();
  const file = path.join(dir, 'tiny.gguf');
  exportGguf(model, hcxTok, file, { dtype: 'F32', name: 'tiny' });
  const { o, server } = await serve(file, { inline: 16 });
  try {
    const tok = o.tokenizer;
    assert.equal(tok.kind, 'gguf');
    const msgs = [{ role: 'user' as const, content: 'The quick brown fox jumps over the lazy dog' }];
    const ids = tok.encodeChat(msgs, { addGenerationPrompt: true }).ids;
    assert.deepEqual(ids, hcxTok.renderChat(msgs, { addGenerationPrompt: true }), 'the GGUF\'s template gives hcx\'s prompt ids');
    const ref = greedy(o, ids, 8);
    const c = await post(server, '/v1/chat/completions', { messages: msgs, max_tokens: 8, temperature: 0 });
    assert.equal(c.choices[0].message.content, ref.text);
    assert.ok(server.ctx.asyncTok.offloaded > 0, 'tokenized on the worker, which re-read the GGUF\'s metadata');
    const eot = hcxTok.special.endofturn;
    const s = await post(server, '/v1/chat/completions', { messages: msgs, max_tokens: 8, temperature: 0, logit_bias: { [eot]: 100 } });
    assert.equal(s.choices[0].finish_reason, 'stop');
    assert.equal(s.choices[0].message.content, '');
    const p = await post(server, '/v1/completions', { prompt: 'The quick', max_tokens: 5, temperature: 0 });
    assert.equal(p.choices[0].text, greedy(o, tok.encode('The quick', { addSpecialTokens: true }), 5).text);
  } finally {
    await server.close(0);
  }
});

test('a HyperCLOVA X SEED-shaped HF directory: its ChatML template, replies stop at <|endofturn|> and at <|stop|>', async () => {
  const special = ['<|im_start|>', '<|im_end|>', '<|endofturn|>', '<|stop|>', '<|endoftext|>'];
  const json = byteLevelJson(special, [['Ġ', 't'], ['h', 'e'], ['Ġt', 'he']]);
  const spec = hfModelDir(path.join(dir, 'HyperCLOVAX-SEED-tiny'), { json, config: { eos_token: '<|endofturn|>', pad_token: '<|endoftext|>', bos_token: null, chat_template: SEED_TEMPLATE } }, 'LlamaForCausalLM');
  const { o, server } = await serve(spec);
  try {
    const tok = o.tokenizer;
    const msgs = [{ role: 'user', content: 'the' }];
    const ids = tok.encodeChat(msgs, { addGenerationPrompt: true }).ids;
    const c = await post(server, '/v1/chat/completions', { messages: msgs, max_tokens: 5, temperature: 0 });
    assert.equal(c.choices[0].message.content, greedy(o, ids, 5).text);
    for (const stop of ['<|endofturn|>', '<|stop|>']) {
      const s = await post(server, '/v1/chat/completions', { messages: msgs, max_tokens: 5, temperature: 0, logit_bias: { [id(tok, stop)]: 100 } });
      assert.equal(s.choices[0].finish_reason, 'stop', stop);
      assert.equal(s.usage.completion_tokens, 1, stop);
    }
    // <|im_end|> closes a turn in the text but is no stop token of SEED: the reply goes on past it.
    const go = await post(server, '/v1/chat/completions', { messages: msgs, max_tokens: 3, temperature: 0, logit_bias: { [id(tok, '<|im_end|>')]: 100 } });
    assert.equal(go.choices[0].finish_reason, 'length');
  } finally {
    await server.close(0);
  }
});

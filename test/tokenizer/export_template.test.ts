// The exported chat template renders what hcx serve renders (developer turns, list-of-parts content, tools, tool
// calls and results), through hcx's own Jinja renderer and through transformers; its {% generation %} markers
// give transformers' assistant-token mask (TRL's assistant_only_loss) equal to hcx's SFT mask; and the
// exported generation_config.json keeps transformers' generate from warning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportHf, trainTokenizer, chatText, CHAT_TEMPLATE_JINJA, CHAT_TEMPLATE_JINJA_PLAIN, type Tokenizer } from '../../src/tokenizer/index.js';
import { openTokenizer } from '../../src/tokenizer/open.js';
import { packageRoot } from '../../src/tokenizer/default-segmenter.js';
import { parseMessages } from '../../src/serve/request_chat.js';
import { toTemplateMessages } from '../../src/serve/tool_format.js';
import { exportHfModel } from '../../src/model/export_hf.js';
import type { ChatTurn } from '../../src/tokenizer/types.js';
import { pythonMissing, runPython } from '../helpers/python.js';
import { CORPUS } from './corpus.js';
import { tiny } from '../serve/fixture.js';

const WEATHER = { type: 'function', function: { name: 'get_weather', description: '도시의 날씨', parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { enum: ['c', 'f'] } }, required: ['city'] } } };
const ADD = { type: 'function', function: { name: 'add', parameters: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'number' } } } } };

/** OpenAI-style conversations, as clients send them. */
const CASES: { messages: unknown[]; tools?: unknown[] }[] = [
  { messages: [{ role: 'user', content: '안녕하세요!' }, { role: 'assistant', content: '반갑습니다.' }, { role: 'user', content: 'Thanks' }, { role: 'assistant', content: ' Sure!\n' }] },
  { messages: [{ role: 'developer', content: 'Be brief.' }, { role: 'user', content: [{ type: 'text', text: 'Hi' }, { type: 'text', text: ' there' }] }, { role: 'assistant', content: [{ type: 'text', text: 'Hello!' }] }] },
  {
    messages: [
      { role: 'user', content: 'Weather in Seoul?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Seoul", "unit": "c"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '21 C' },
      { role: 'assistant', content: 'It is 21 C in Seoul.' },
    ],
    tools: [WEATHER],
  },
  {
    messages: [
      { role: 'system', content: 'You are hcx.' },
      { role: 'user', content: 'add 1 and 2, then the weather in 부산' },
      { role: 'assistant', content: 'Both at once.', tool_calls: [
        { id: 'a', type: 'function', function: { name: 'add', arguments: '{"a": 1, "b": 2}' } },
        { id: 'b', type: 'function', function: { name: 'get_weather', arguments: '{"city": "부산"}' } },
      ] },
      { role: 'tool', tool_call_id: 'a', content: '3' },
      { role: 'tool', tool_call_id: 'b', content: 'sunny' },
      { role: 'assistant', content: '3, and sunny.' },
    ],
    tools: [ADD, WEATHER],
  },
];

/** What hcx serve renders for a request: its messages through tool_format.ts and hcx's template. */
const serveText = (c: (typeof CASES)[number]) => chatText(toTemplateMessages(parseMessages(c.messages), c.tools ?? null));

async function exported(): Promise<{ tok: Tokenizer; dir: string }> {
  const tok = await trainTokenizer({ texts: CORPUS, vocabSize: 400, split: 'rules' });
  const dir = mkdtempSync(path.join(tmpdir(), 'hcx-export-tpl-'));
  exportHf(tok, dir);
  return { tok, dir };
}

test('the exported template renders developer turns, text parts, tools, calls and results as hcx serve does (hcx Jinja renderer)', async () => {
  const { tok, dir } = await exported();
  try {
    const config = JSON.parse(readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
    assert.equal(config.chat_template, CHAT_TEMPLATE_JINJA);
    assert.match(config.chat_template, /\{%- generation -%\}/);
    assert.doesNotMatch(CHAT_TEMPLATE_JINJA_PLAIN, /generation -?%\}/, 'the GGUF copy has no generation markers');
    const hf = openTokenizer(dir);
    for (const c of CASES) {
      assert.equal(hf.renderChatText(c.messages as ChatTurn[], { tools: c.tools }), serveText(c));
      assert.equal(hf.renderChatText(c.messages as ChatTurn[], { tools: c.tools, addGenerationPrompt: true }), serveText(c) + '<|assistant|>');
    }
    assert.throws(() => hf.renderChatText([{ role: 'user', content: [{ type: 'image' }] }] as ChatTurn[]), /only text content parts/);
    assert.throws(() => hf.renderChatText([{ role: 'narrator', content: 'x' }]), /unknown role narrator/);
    // Plain conversations still render as hcx's own template does.
    assert.equal(hf.renderChatText(CASES[0].messages as ChatTurn[]), tok.renderChatText(CASES[0].messages as ChatTurn[]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("transformers renders the export as hcx serve does, and its assistant-token mask (TRL's assistant_only_loss) is hcx's SFT mask",
  { skip: pythonMissing(['transformers', 'jinja2']) }, async () => {
    const { tok, dir } = await exported();
    try {
      const ref = JSON.parse(runPython([path.join(packageRoot(), 'test/tokenizer/export_mask.py'), dir], { input: JSON.stringify(CASES) })) as { text: string; ids: number[]; mask: number[]; error?: string }[];
      CASES.forEach((c, i) => {
        assert.equal(ref[i].error, undefined, ref[i].error);
        assert.equal(ref[i].text, serveText(c), `case ${i}: text`);
        const turns = toTemplateMessages(parseMessages(c.messages), c.tools ?? null);
        assert.deepEqual(ref[i].ids, tok.renderChat(turns), `case ${i}: ids`);
        const enc = tok.encodeChat(turns.map((t) => ({ ...t })));
        assert.ok(enc.assistantMask);
        assert.deepEqual(ref[i].mask, [...enc.assistantMask], `case ${i}: assistant mask`);
        assert.ok(ref[i].mask.some((m) => m === 1));
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

test("transformers' generate on an hcx export emits no warnings (generation_config.json)", { skip: pythonMissing(['torch', 'transformers']) }, async () => {
  const { tok, model } = await tiny();
  const dir = mkdtempSync(path.join(tmpdir(), 'hcx-export-gen-'));
  try {
    exportHfModel(model, tok, dir);
    const gen = JSON.parse(readFileSync(path.join(dir, 'generation_config.json'), 'utf8'));
    assert.deepEqual(gen.eos_token_id, [tok.special.endofturn, tok.special.eot]);
    const r = JSON.parse(runPython([path.join(packageRoot(), 'test/model/py/generate_warnings.py'), dir], { env: { TRANSFORMERS_VERBOSITY: 'warning' } })) as { warnings: string[]; ids: number[] };
    assert.deepEqual(r.warnings, []);
    assert.ok(r.ids.length > tok.renderChat([{ role: 'user', content: 'Hello there' }], { addGenerationPrompt: true }).length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

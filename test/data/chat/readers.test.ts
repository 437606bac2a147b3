import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadChatData } from '../../../src/data/chat/dataset.js';
import { readConversations, type Conversation, type ChatReadOptions } from '../../../src/data/chat/readers.js';
import { hcxTemplate } from '../../../src/data/chat/template.js';
import type { BadInput } from '../../../src/data/types.js';
import { byteChatTokenizer } from '../../helpers/chat.js';

const dir = mkdtempSync(path.join(tmpdir(), 'hcx-chat-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function read(name: string, body: string, opts: ChatReadOptions = {}): Promise<{ convs: Conversation[]; bad: BadInput[] }> {
  const f = path.join(dir, name);
  writeFileSync(f, body);
  const bad: BadInput[] = [];
  const convs: Conversation[] = [];
  for await (const c of readConversations(f, opts, (b) => bad.push(b))) convs.push(c);
  return { convs, bad };
}

test('OpenAI messages JSONL: system, user, assistant, tool turns; text parts; tool calls as text', async () => {
  const { convs, bad } = await read('m.jsonl', [
    JSON.stringify({ messages: [{ role: 'system', content: 'S' }, { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] },
      { role: 'assistant', content: null, tool_calls: [{ id: '1', type: 'function', function: { name: 'f', arguments: '{"x":1}' } }] },
      { role: 'tool', content: '2' }, { role: 'assistant', content: 'done' }] }),
  ].join('\n') + '\n');
  assert.deepEqual(bad, []);
  assert.deepEqual(convs[0].messages, [
    { role: 'system', content: 'S' }, { role: 'user', content: 'ab' },
    { role: 'assistant', content: '<tool_call>{"name":"f","arguments":"{\\"x\\":1}"}</tool_call>' },
    { role: 'tool', content: '2' }, { role: 'assistant', content: 'done' }]);
  assert.equal(convs[0].line, 1);
});

test('ShareGPT, Alpaca and self-instruct records (auto-detected per line)', async () => {
  const { convs, bad } = await read('mixed.jsonl', [
    JSON.stringify({ conversations: [{ from: 'human', value: 'q' }, { from: 'gpt', value: 'r' }] }),
    JSON.stringify({ instruction: 'Translate', input: '안녕', output: 'Hello' }),
    JSON.stringify({ instruction: 'Add', instances: [{ input: '1 1', output: '2' }, { input: '', output: '0' }] }),
  ].join('\n'));
  assert.deepEqual(bad, []);
  assert.deepEqual(convs.map((c) => c.messages), [
    [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'r' }],
    [{ role: 'user', content: 'Translate\n\n안녕' }, { role: 'assistant', content: 'Hello' }],
    [{ role: 'user', content: 'Add\n\n1 1' }, { role: 'assistant', content: '2' }],
    [{ role: 'user', content: 'Add' }, { role: 'assistant', content: '0' }],
  ]);
  assert.deepEqual(convs.map((c) => c.line), [1, 2, 3, 3]);
});

test('Q/A CSV: header names found, quoted multi-line cells, an optional system prompt', async () => {
  const { convs, bad } = await read('qa.csv', 'Q,A,label\n안녕,"반가워요,\n정말",0\nwhy?,because,1\n', { system: 'Friendly.' });
  assert.deepEqual(bad, []);
  assert.deepEqual(convs.map((c) => c.messages), [
    [{ role: 'system', content: 'Friendly.' }, { role: 'user', content: '안녕' }, { role: 'assistant', content: '반가워요,\n정말' }],
    [{ role: 'system', content: 'Friendly.' }, { role: 'user', content: 'why?' }, { role: 'assistant', content: 'because' }],
  ]);
  assert.deepEqual(convs.map((c) => c.line), [2, 4]);
});

test('broken records are reported with file and line, then skipped; fatal when configured', async () => {
  const body = [
    JSON.stringify({ messages: [{ role: 'user', content: 'ok' }, { role: 'assistant', content: 'fine' }] }),
    '{"messages": [',
    JSON.stringify({ messages: [{ role: 'wizard', content: 'x' }] }),
    JSON.stringify({ text: 'not chat' }),
    JSON.stringify({ conversations: [{ from: 'human', value: 3 }] }),
    JSON.stringify({ messages: [{ role: 'user', content: 'again' }, { role: 'assistant', content: 'yes' }] }),
  ].join('\n');
  const { convs, bad } = await read('bad.jsonl', body);
  assert.equal(convs.length, 2);
  const f = path.join(dir, 'bad.jsonl');
  assert.deepEqual(bad.map((b) => `${path.basename(b.file)}:${b.line}`), ['bad.jsonl:2', 'bad.jsonl:3', 'bad.jsonl:4', 'bad.jsonl:5']);
  assert.match(bad[0].reason, /broken JSON/);
  assert.match(bad[1].reason, /role "wizard"/);
  assert.match(bad[2].reason, /not a chat record/);
  assert.match(bad[3].reason, /conversations\[0\]\.value must be a string/);
  const tpl = hcxTemplate(byteChatTokenizer());
  const opts = { sources: [{ path: f }], template: tpl, seqLen: 64, truncation: 'cut' as const, heldout: 0, seed: 1 };
  const skipped = await loadChatData({ ...opts, onBadLine: 'skip' });
  assert.equal(skipped.train.length, 2);
  assert.equal(skipped.stats.badRecords, 4);
  await assert.rejects(loadChatData({ ...opts, onBadLine: 'fatal' }), new RegExp(`${f.replace(/[.]/g, '\\.')}:2: broken JSON`));
});

test('dataset: cutting long conversations, counting cut tokens, a seeded held-out split', async () => {
  const f = path.join(dir, 'long.jsonl');
  writeFileSync(f, Array.from({ length: 20 }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: 'q'.repeat(i) }, { role: 'assistant', content: 'r'.repeat(10) }] })).join('\n'));
  const tpl = hcxTemplate(byteChatTokenizer());
  const base = { sources: [{ path: f }], template: tpl, seqLen: 20, heldout: 0.25, seed: 4, onBadLine: 'skip' as const };
  const d = await loadChatData({ ...base, truncation: 'cut' });
  // Lengths 1 + i + 1 + 1 + 10 + 1 = 14 + i: i > 6 are cut to 20.
  assert.equal(d.stats.truncatedConversations, 13);
  assert.equal(d.stats.truncatedTokens, Array.from({ length: 13 }, (_, k) => k + 7 + 14 - 20).reduce((a, b) => a + b));
  assert.equal(d.train.length + d.heldout.length, 20);
  assert.equal(d.heldout.length, 5);
  assert.ok([...d.train, ...d.heldout].every((e) => e.ids.length <= 20));
  const again = await loadChatData({ ...base, truncation: 'cut' });
  assert.deepEqual(again.heldout.map((e) => e.ids.length), d.heldout.map((e) => e.ids.length), 'the split is seeded');
  const dropped = await loadChatData({ ...base, truncation: 'drop' });
  assert.equal(dropped.stats.droppedConversations, 13);
  assert.equal(dropped.train.length + dropped.heldout.length, 7);
});

const chatbot = '/work/shared/data/korean-chatbot-data/ChatbotData.csv';
test('reads ../shared/data korean-chatbot-data ChatbotData.csv (Q,A,label) without a bad line', { skip: !existsSync(chatbot) && 'no ../shared/data' }, async () => {
  const bad: BadInput[] = [];
  let n = 0;
  let first: Conversation | undefined;
  for await (const c of readConversations(chatbot, {}, (b) => bad.push(b))) { n++; first ??= c; }
  assert.deepEqual(bad, []);
  assert.equal(n, 11823);
  assert.deepEqual(first!.messages, [{ role: 'user', content: '12시 땡!' }, { role: 'assistant', content: '하루가 또 가네요.' }]);
});

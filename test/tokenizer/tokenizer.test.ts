// Hermetic tests of the BPE tokenizer: lossless round trips, special tokens, chat template, files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CORPUS } from './corpus.js';
import { Tokenizer, trainTokenizer, wtf8Decode, wtf8Encode, pretokenize, BpeModel } from '../../src/tokenizer/index.js';

const tricky = [
  '', 'a', '  ', '\n\n\t', '한국어', 'e\u0301', '\u1112\u1161\u11ab\u1100\u1173\u11af', // decomposed 한글
  '\ud800', 'x\udc00y', '\udc00\ud800', '😀👍🏽', 'mixed 한국어 English 123456 ©®', '<|endoftext|>', '\u0000\u007f\u0080',
  'a'.repeat(300), '가'.repeat(200), ' '.repeat(100) + 'x',
];

test('WTF-8 is lossless for every code unit, including lone surrogates', () => {
  for (const s of tricky) assert.equal(wtf8Decode(wtf8Encode(s)), s);
  let all = '';
  for (let c = 0; c < 0x10000; c += 7) all += String.fromCharCode(c);
  assert.equal(wtf8Decode(wtf8Encode(all)), all);
  // Valid text gives the same bytes as TextEncoder.
  const t = 'abc 한국어 😀';
  assert.deepEqual(Uint8Array.from(wtf8Encode(t)), new TextEncoder().encode(t));
});

test('pre-tokens concatenate to the text; scripts are split', () => {
  for (const mode of ['none', 'rules'] as const) {
    for (const s of [...tricky, ...CORPUS.slice(0, 13)]) assert.equal(pretokenize(s, mode, null).join(''), s);
  }
  assert.deepEqual(pretokenize('GPT를', 'none', null), ['GPT', '를']);
  assert.deepEqual(pretokenize('학교에서 먹었다', 'rules', null), ['학교', '에서', ' 먹', '었다']);
});

test('train, encode/decode round trip, special tokens, save/load', async () => {
  for (const split of ['rules', 'none'] as const) {
    const tok = await trainTokenizer({ texts: CORPUS, vocabSize: 600, split });
    assert.ok(tok.vocabSize <= 600 && tok.vocabSize > 300);
    for (const s of [...tricky, ...CORPUS.slice(0, 13)]) assert.equal(tok.decode(tok.encode(s)), s, JSON.stringify(s));
    // Special strings are plain text unless allowed.
    const eot = tok.special.eot;
    assert.ok(!tok.encode('<|endoftext|>').includes(eot));
    assert.deepEqual(tok.encode('a<|endoftext|>b', { allowSpecial: true }).filter((x) => x === eot), [eot]);
    assert.equal(tok.decode(tok.encode('a<|endoftext|>b', { allowSpecial: true })), 'a<|endoftext|>b');
    assert.equal(tok.decode(tok.encode('a<|endoftext|>b', { allowSpecial: true }), { skipSpecial: true }), 'ab');
    const ids = Object.values(tok.special);
    assert.equal(new Set(ids).size, 9);
    assert.ok(ids.every((id) => id < tok.vocabSize));
    // Batch = one by one; cached = uncached.
    assert.deepEqual(tok.encodeBatch(CORPUS.slice(0, 5)), CORPUS.slice(0, 5).map((s) => tok.encode(s)));
    const dir = mkdtempSync(path.join(tmpdir(), 'hcx-tok-'));
    tok.save(path.join(dir, 't.json'));
    const t2 = Tokenizer.load(path.join(dir, 't.json'));
    assert.equal(t2.vocabSize, tok.vocabSize);
    for (const s of CORPUS.slice(0, 13)) assert.deepEqual(t2.encode(s), tok.encode(s));
  }
});

test('training is deterministic and compresses', async () => {
  const a = await trainTokenizer({ texts: CORPUS, vocabSize: 500, split: 'rules' });
  const b = await trainTokenizer({ texts: (async function* () { yield* CORPUS; })(), vocabSize: 500, split: 'rules' });
  assert.deepEqual(a.bpe.merges, b.bpe.merges);
  const text = CORPUS.join('');
  assert.ok(a.encode(text).length < new TextEncoder().encode(text).length / 3);
});

test('long pieces (heap path) encode exactly like short ones (scan path)', async () => {
  const tok = await trainTokenizer({ texts: CORPUS, vocabSize: 500, split: 'none' });
  const bpe: BpeModel = tok.bpe;
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296;
  for (let t = 0; t < 50; t++) {
    const len = 65 + Math.floor(rnd() * 100);
    const bytes: number[] = [];
    for (let i = 0; i < len; i++) bytes.push('abcdefghijklmnopqrstuvwxyz ert'.charCodeAt(Math.floor(rnd() * 30)));
    const long: number[] = [], short: number[] = [];
    bpe.encodeBytes(bytes.slice(), long);
    // Encode in the short path by calling the private scan through a tiny window trick: compare to pairwise greedy.
    (bpe as unknown as { encodeShort(b: number[], o: number[]): void }).encodeShort(bytes.slice(), short);
    assert.deepEqual(long, short);
  }
});

test('chat template', async () => {
  const tok = await trainTokenizer({ texts: CORPUS, vocabSize: 400, split: 'rules' });
  const msgs = [{ role: 'system' as const, content: '도움이 되는 비서' }, { role: 'user' as const, content: '<|assistant|>안녕?' }, { role: 'assistant' as const, content: '네!' }];
  const { ids, mask } = tok.renderChatWithMask(msgs, { addGenerationPrompt: true });
  assert.equal(ids.length, mask.length);
  assert.equal(tok.decode(ids), '<|system|>도움이 되는 비서<|endofturn|><|user|><|assistant|>안녕?<|endofturn|><|assistant|>네!<|endofturn|><|assistant|>');
  assert.equal(tok.renderChatText(msgs, { addGenerationPrompt: true }), tok.decode(ids));
  // Injected special text in content is not a special token: exactly 3 role tokens + 1 generation prompt.
  const s = tok.special;
  assert.equal(ids.filter((x) => x === s.assistant || x === s.user || x === s.system).length, 4);
  // Mask covers the assistant content and its end-of-turn only.
  assert.equal(tok.decode(ids.filter((_, i) => mask[i] === 1)), '네!<|endofturn|>');
  assert.throws(() => tok.renderChat([{ role: 'tool' as never, content: 'x' }]));
});

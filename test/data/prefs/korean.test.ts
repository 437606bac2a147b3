import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import test from 'node:test';
import { Rng } from '../../../src/data/hashing.js';
import { buildKoreanPairs, builtinKoreanQA, hangulShare, isKorean, paddedToLength, readKoreanQA, repetitive } from '../../../src/data/prefs/korean.js';
import { recordToPair } from '../../../src/data/prefs/readers.js';

const CHATBOT = '/work/shared/data/korean-chatbot-data/ChatbotData.csv';

test('hangulShare tells Korean from English', () => {
  assert.equal(hangulShare('안녕하세요'), 1);
  assert.equal(hangulShare('hello'), 0);
  assert.ok(isKorean('서울은 Korea의 수도입니다.'));
  assert.ok(!isKorean('The capital is 서울.'));
});

test('rejected replies: looped tails, padding of non-answers at least 3x long', () => {
  const r = new Rng(1);
  const rep = repetitive('여행은 언제나 좋죠.', r);
  assert.ok(rep.startsWith('여행은 언제나 좋죠.'));
  const tail = rep.slice('여행은 언제나 좋죠.'.length).trim();
  assert.ok(tail.split('좋죠.').length - 1 >= 4, rep);
  // A fixed count (the ppo-show policy's answers): the tail said exactly that many more times.
  const twice = repetitive('여행은 언제나 좋죠.', r, 2);
  const tail2 = twice.slice('여행은 언제나 좋죠.'.length).trim();
  assert.equal(tail2.split('좋죠.').length - 1, 2, twice);
  const pad = paddedToLength('12시 땡!', '하루가 또 가네요.', r);
  assert.ok(pad.length >= 60 && !pad.includes('하루가 또 가네요'), pad);
});

test('built-in pairs: the language pair rejects the same fact\'s English answer', () => {
  const qa = builtinKoreanQA(60);
  assert.ok(qa.length >= 30);
  const pairs = buildKoreanPairs(qa, { seed: 2 });
  assert.equal(pairs.length, qa.length * 3);
  const lang = pairs.filter((p) => p.kind === 'language');
  assert.ok(lang.every((p) => isKorean(p.chosen) && !isKorean(p.rejected) && isKorean(p.prompt[p.prompt.length - 1].content)));
  const cap = lang.find((p) => p.source === 'builtin:capital:France');
  if (cap) assert.match(cap.rejected, /Paris/);
  // Records read back through the pairs reader.
  const back = recordToPair(JSON.parse(JSON.stringify({ prompt: pairs[0].prompt, chosen: pairs[0].chosen, rejected: pairs[0].rejected })), 'auto');
  assert.equal(back.chosen[0].content, pairs[0].chosen);
});

test('pairs from korean-chatbot-data (shared data)', { skip: !existsSync(CHATBOT) && 'no ../shared/data/korean-chatbot-data' }, async () => {
  const bad: unknown[] = [];
  const qa = await readKoreanQA(CHATBOT, (b) => bad.push(b));
  assert.ok(qa.length > 11000, `${qa.length} Korean Q/A`);
  const pairs = buildKoreanPairs(qa, { limit: 100, seed: 3 });
  assert.equal(pairs.length, 300);
  assert.ok(pairs.every((p) => p.chosen !== p.rejected && p.source.startsWith(CHATBOT)));
  assert.ok(pairs.filter((p) => p.kind === 'language').every((p) => !isKorean(p.rejected)));
});

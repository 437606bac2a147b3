import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hangulShare, replyLanguage, scoreReplies, transferTable } from '../../src/eval/language.js';

test('hangulShare counts Hangul against Latin letters only', () => {
  assert.equal(hangulShare('서울입니다'), 1);
  assert.equal(hangulShare('Seoul'), 0);
  assert.equal(hangulShare('서울 is'), 2 / 4);
  assert.equal(hangulShare('ㅋㅋ ok'), 0.5); // compatibility jamo count as Hangul
  assert.equal(hangulShare('Ωμέγα 3.14 ...'), NaN); // Greek, digits, punctuation: neither
  assert.ok(Number.isNaN(hangulShare('')));
});

test('replyLanguage: a share of at least 0.5 is Korean, below is English, no letters is neither', () => {
  assert.equal(replyLanguage('대한민국의 수도는 서울입니다.'), 'ko');
  assert.equal(replyLanguage('The capital of Korea is Seoul.'), 'en');
  assert.equal(replyLanguage('수도 is Seoul'), 'en'); // 2 Hangul vs 7 Latin
  assert.equal(replyLanguage('ab가나'), 'ko'); // exactly half
  assert.equal(replyLanguage('42!'), null);
  assert.equal(replyLanguage('서울 Seoul', 0.7), 'en');
});

test('scoreReplies tallies language matches and turn ends per prompt language', () => {
  const s = scoreReplies([
    { promptLang: 'ko', reply: '서울입니다.', endedTurn: true },
    { promptLang: 'ko', reply: 'Seoul.', endedTurn: true },
    { promptLang: 'ko', reply: '...', endedTurn: false },
    { promptLang: 'en', reply: 'It is Seoul.', endedTurn: false },
  ]);
  assert.deepEqual(s, { ko: { prompts: 3, sameLanguage: 1, endedTurn: 2 }, en: { prompts: 1, sameLanguage: 1, endedTurn: 0 } });
});

test('transferTable writes one markdown row per model with shares, counts and losses', () => {
  const t = transferTable([
    { model: 'English only', scores: { ko: { prompts: 4, sameLanguage: 1, endedTurn: 3 }, en: { prompts: 2, sameLanguage: 2, endedTurn: 2 } }, heldoutLoss: { ko: 2.5, en: 1.25 } },
    { model: 'none', scores: { ko: { prompts: 0, sameLanguage: 0, endedTurn: 0 }, en: { prompts: 2, sameLanguage: 0, endedTurn: 0 } }, heldoutLoss: { ko: NaN, en: 3 } },
  ]);
  const lines = t.trim().split('\n');
  assert.equal(lines.length, 4);
  assert.match(lines[0], /^\| SFT data \| ko prompts: reply in Korean \| en prompts: reply in English \|/);
  assert.equal(lines[1], '|---|---:|---:|---:|---:|---:|---:|');
  assert.equal(lines[2], '| English only | 25% (1/4) | 100% (2/2) | 75% (3/4) | 100% (2/2) | 2.500 | 1.250 |');
  assert.equal(lines[3], '| none | n/a | 0% (0/2) | n/a | 0% (0/2) | n/a | 3.000 |');
});

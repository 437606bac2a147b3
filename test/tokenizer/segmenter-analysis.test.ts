// Error analysis of the segmenter: tagged CoNLL-U reading, the seen/unseen split, the most-frequent-split
// baseline and the error classes, on a small treebank written here whose answers can be counted by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { analyzeSegmenter, projectBoundaries, readConlluTagged } from '../../src/tokenizer/index.js';
import { projectBoundariesIndexed } from '../../src/tokenizer/morph-data.js';

test('indexed projection names the morpheme that starts at each boundary', () => {
  assert.deepEqual(projectBoundariesIndexed('서울입니다', ['서울', '이', 'ㅂ니다']), [[2, 1]]);
  assert.deepEqual(projectBoundariesIndexed('도와줬다', ['돕', '아', '주', '었', '다']), [[1, 1], [2, 2], [3, 4]]);
  assert.deepEqual(projectBoundaries('도와줬다', ['돕', '아', '주', '었', '다']), [1, 2, 3]);
});

const row = (id: number, form: string, lemma: string, xpos: string, misc = '_') => [id, form, lemma, 'X', xpos, '_', 0, 'dep', '_', misc].join('\t');

test('readConlluTagged keeps fully Hangul words whose lemma and tags line up, using OrigLemma', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hcx-seg-'));
  const f = path.join(dir, 't.conllu');
  writeFileSync(f, [
    '# text = x', row(1, '학교에서', '학교+에서', 'ncn+jca'), row(2, '있다', '있', 'px+ef', 'OrigLemma=있+다'),
    row(3, '2010년', '2010+년', 'nnc+nbu'), row(4, '학교', '학교+가', 'ncn'), '1-2\t_\t_', '',
  ].join('\n'));
  const ws = readConlluTagged(f);
  assert.deepEqual(ws.map((w) => [w.text, w.bounds, w.starts, w.tags]), [
    ['학교에서', [2], [1], ['ncn', 'jca']],
    ['있다', [1], [1], ['px', 'ef']],
  ]);
});

test('analysis: seen/unseen split, most-frequent-split baseline, error classes', () => {
  const stems = ['학교', '친구', '사람', '회사', '나라', '도시', '음식', '시간'];
  const parts = ['에서', '를', '은', '는', '이', '가', '와', '의', '에'];
  const words = stems.flatMap((s) => parts.map((p) => ({ text: s + p, bounds: [s.length], starts: [1], tags: ['ncn', 'jca'] })));
  // A word annotated two ways in the training folds: the baseline must answer with the majority (split) form.
  const noisy = [0, 1, 2].map((i) => ({ text: '가방을', bounds: i === 2 ? [] : [2], starts: i === 2 ? [] : [1], tags: i === 2 ? ['ncn'] : ['ncn', 'jco'] }));
  const target = [...noisy, ...words, { text: '가방을', bounds: [2], starts: [1], tags: ['ncn', 'jco'] }];
  const r = analyzeSegmenter(target, [], 4, { epochs: 3 });
  assert.equal(r.all.gold, r.seen.gold + r.unseen.gold);
  assert.equal(r.all.words, target.length);
  assert.equal(r.seen.words + r.unseen.words, target.length);
  // The last fold holds the final '가방을', seen three times in the other folds, twice split: baseline right.
  assert.ok(r.seen.words >= 1);
  assert.ok(r.seenMajority.correct >= 1);
  // Every miss is a noun|particle boundary; the error counts add up to the pooled score.
  const missed = r.missed.reduce((n, c) => n + c.errors, 0);
  assert.equal(missed, r.all.gold - r.all.correct);
  for (const c of r.missed) assert.match(c.kind, /^nc\|j[ac]$/);
  const spurious = r.spurious.reduce((n, c) => n + c.errors, 0);
  assert.equal(spurious, r.all.predicted - r.all.correct);
});

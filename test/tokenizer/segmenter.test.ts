// The Korean morpheme segmenter: boundary convention, model file round trip, shipped model, and (with
// ../shared) training and scoring on the UD Korean treebanks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  defaultSegmenter, projectBoundaries, readConllu, RuleSplitter, scoreBoundaries, Segmenter, sharedDataDir, trainSegmenter,
} from '../../src/tokenizer/index.js';

test('gold boundary convention: fused morphemes stay in their syllable', () => {
  assert.deepEqual(projectBoundaries('서울입니다', ['서울', '이', 'ㅂ니다']), [2]);
  assert.deepEqual(projectBoundaries('했다', ['하', '었', '다']), [1]);
  assert.deepEqual(projectBoundaries('가까운', ['가깝', 'ㄴ']), []);
  assert.deepEqual(projectBoundaries('도와줬다', ['돕', '아', '주', '었', '다']), [1, 2, 3]);
  assert.deepEqual(projectBoundaries('예전엔', ['예전', '에', 'ㄴ']), [2]);
});

test('train on a toy treebank, save/load gives the same decisions', () => {
  const stems = ['학교', '친구', '사람', '회사', '나라', '도시', '음식', '시간'];
  const parts = ['에서', '를', '은', '는', '이', '가', '와', '의', '에'];
  const words = stems.flatMap((s) => parts.map((p) => ({ text: s + p, bounds: [s.length] })));
  const seg = trainSegmenter(words, { epochs: 5 });
  const back = Segmenter.fromBytes(seg.toBytes());
  for (const w of words) assert.deepEqual(back.boundaries(w.text), seg.boundaries(w.text));
  assert.ok(scoreBoundaries(words, (w) => seg.boundaries(w)).f1 > 0.9);
  assert.deepEqual(seg.boundaries(''), []);
  assert.deepEqual(seg.boundaries('\u1100\u1161\u11a8'), []); // jamo are never split
  assert.throws(() => Segmenter.fromBytes(new Uint8Array(10)));
});

test('the rule splitter splits particles and endings', () => {
  const r = new RuleSplitter();
  assert.deepEqual(r.boundaries('학교에서'), [2]);
  assert.deepEqual(r.boundaries('먹었다'), [1]);
  assert.deepEqual(r.boundaries('사람'), []);
});

test('the shipped model loads and splits common words', () => {
  const seg = defaultSegmenter();
  assert.ok(seg, 'models/ko-segmenter.hseg is missing');
  assert.deepEqual(seg!.boundaries('학교에서'), [2]);
  assert.deepEqual(seg!.boundaries('서울입니다'), [2]);
});

const ud = path.join(sharedDataDir(), 'ud-korean');
test('shared: trained on UD dev, scored on UD Kaist test', { skip: !existsSync(ud) && 'no ../shared/data' }, () => {
  const seg = trainSegmenter([...readConllu(path.join(ud, 'kaist/ko_kaist-ud-dev.conllu')), ...readConllu(path.join(ud, 'gsd/ko_gsd-ud-dev.conllu'))], { epochs: 4 });
  const s = scoreBoundaries(readConllu(path.join(ud, 'kaist/ko_kaist-ud-test.conllu')), (w) => seg.boundaries(w));
  assert.ok(s.f1 > 0.93, `F1 ${s.f1}`);
});

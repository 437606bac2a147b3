// The Korean morpheme segmenter: boundary convention, model file round trip, shipped model, and (with
// ../shared) training and scoring on the UD Korean treebanks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  crossValidateSegmenter, defaultSegmenter, projectBoundaries, readConllu, reverseWord, RuleSplitter, scoreBoundaries, Segmenter,
  sharedDataDir, trainSegmenter,
} from '../../src/tokenizer/index.js';
import { mix, T } from '../../src/tokenizer/segmenter-features.js';

test('gold boundary convention: fused morphemes stay in their syllable', () => {
  assert.deepEqual(projectBoundaries('서울입니다', ['서울', '이', 'ㅂ니다']), [2]);
  assert.deepEqual(projectBoundaries('했다', ['하', '었', '다']), [1]);
  assert.deepEqual(projectBoundaries('가까운', ['가깝', 'ㄴ']), []);
  assert.deepEqual(projectBoundaries('도와줬다', ['돕', '아', '주', '었', '다']), [1, 2, 3]);
  assert.deepEqual(projectBoundaries('예전엔', ['예전', '에', 'ㄴ']), [2]);
});

const toyWords = () => {
  const stems = ['학교', '친구', '사람', '회사', '나라', '도시', '음식', '시간'];
  const parts = ['에서', '를', '은', '는', '이', '가', '와', '의', '에'];
  return stems.flatMap((s) => parts.map((p) => ({ text: s + p, bounds: [s.length] })));
};

test('train on a toy treebank (one and two directions), save/load gives the same decisions', () => {
  const words = toyWords();
  for (const directions of [1, 2] as const) {
    const seg = trainSegmenter(words, { epochs: 5, directions });
    assert.equal(seg.directions, directions);
    const back = Segmenter.fromBytes(seg.toBytes());
    assert.equal(back.directions, directions);
    assert.equal(back.size, seg.size);
    for (const w of words) assert.deepEqual(back.boundaries(w.text), seg.boundaries(w.text));
    assert.ok(scoreBoundaries(words, (w) => seg.boundaries(w)).f1 > 0.9);
    assert.deepEqual(seg.boundaries(''), []);
    assert.deepEqual(seg.boundaries('\u1100\u1161\u11a8'), []); // jamo are never split
  }
  assert.throws(() => Segmenter.fromBytes(new Uint8Array(10)));
});

test('reverseWord mirrors the text and the boundaries', () => {
  assert.deepEqual(reverseWord({ text: '학교에서', bounds: [2] }), { text: '서에교학', bounds: [2] });
  assert.deepEqual(reverseWord({ text: '먹었다', bounds: [1, 2] }), { text: '다었먹', bounds: [1, 2] });
  assert.deepEqual(reverseWord({ text: '사람들이', bounds: [2, 3] }), { text: '이들람사', bounds: [1, 2] });
});

test('two directions: each gap is decided on the sum of the forward and backward scores', () => {
  const w = (weights: Record<number, number>) => {
    const ks = Object.keys(weights).map(Number);
    return { features: Int32Array.from(ks), weights: Float32Array.from(ks.map((k) => weights[k])), lexicon: new Int32Array(0) };
  };
  const bias = mix(T.bias, 0);
  // Forward says "no boundary" everywhere (bias -1); a backward bias of +2 outweighs it, +0.5 does not.
  assert.deepEqual(new Segmenter(w({ [bias]: -1 })).boundaries('학교에서'), []);
  assert.deepEqual(new Segmenter(w({ [bias]: -1 }), w({ [bias]: 2 })).boundaries('학교에서'), [1, 2, 3]);
  assert.deepEqual(new Segmenter(w({ [bias]: -1 }), w({ [bias]: 0.5 })).boundaries('학교에서'), []);
  // Gaps next to a non-syllable are never decided, in either direction.
  assert.deepEqual(new Segmenter(w({ [bias]: 1 }), w({ [bias]: 1 })).boundaries('학ㄱ교'), []);
});

test('version-2 model files (one direction, no direction count) still load', () => {
  const seg = trainSegmenter(toyWords(), { epochs: 3, directions: 1 });
  const v3 = Buffer.from(seg.toBytes());
  assert.equal(v3.readUInt32LE(4), 3);
  assert.equal(v3.readUInt32LE(8), 1);
  const v2 = Buffer.concat([v3.subarray(0, 8), v3.subarray(12)]);
  v2.writeUInt32LE(2, 4);
  const old = Segmenter.fromBytes(v2);
  assert.equal(old.directions, 1);
  for (const x of toyWords()) assert.deepEqual(old.boundaries(x.text), seg.boundaries(x.text));
  const v9 = Buffer.from(v3); v9.writeUInt32LE(9, 4);
  assert.throws(() => Segmenter.fromBytes(v9), /version 9/);
  assert.throws(() => Segmenter.fromBytes(Buffer.concat([v3, Buffer.alloc(4)])), /trailing/);
});

test('cross-validation pools the folds: every target boundary is scored exactly once', () => {
  const words = toyWords();
  const s = crossValidateSegmenter(words, [], 4, { epochs: 3 });
  assert.equal(s.gold, words.length);
  assert.equal(s.words, words.length);
  assert.ok(s.correct <= s.predicted && s.correct <= s.gold);
  assert.ok(s.f1 > 0.5, `F1 ${s.f1}`); // held-out stems, seen particles
});

test('the rule splitter splits particles and endings', () => {
  const r = new RuleSplitter();
  assert.deepEqual(r.boundaries('학교에서'), [2]);
  assert.deepEqual(r.boundaries('먹었다'), [1]);
  assert.deepEqual(r.boundaries('사람'), []);
});

test('the shipped model loads (two directions) and splits common words', () => {
  const seg = defaultSegmenter();
  assert.ok(seg, 'models/ko-segmenter.hseg is missing');
  assert.equal(seg!.directions, 2);
  assert.deepEqual(seg!.boundaries('학교에서'), [2]);
  assert.deepEqual(seg!.boundaries('서울입니다'), [2]);
});

const ud = path.join(sharedDataDir(), 'ud-korean');
test('shared: trained on UD dev, scored on UD Kaist test', { skip: !existsSync(ud) && 'no ../shared/data' }, () => {
  const seg = trainSegmenter([...readConllu(path.join(ud, 'kaist/ko_kaist-ud-dev.conllu')), ...readConllu(path.join(ud, 'gsd/ko_gsd-ud-dev.conllu'))], { epochs: 4 });
  const s = scoreBoundaries(readConllu(path.join(ud, 'kaist/ko_kaist-ud-test.conllu')), (w) => seg.boundaries(w));
  assert.ok(s.f1 > 0.94, `F1 ${s.f1}`);
});

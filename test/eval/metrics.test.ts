// Metric functions against hand-computed cases and values printed by sacrebleu 2.6.0 / Python's random.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scoreChoices, mc2, exactMatch, f1Score, passAtK, majorityVote, meanStderr, argmax } from '../../src/eval/metrics.js';
import { corpusBleu, corpusChrf, tokenize13a } from '../../src/eval/translation.js';
import { regexExtract, applyPipeline, normalizeMath } from '../../src/eval/filters.js';
import { PyRandom } from '../../src/eval/pyrandom.js';

const close = (a: number, b: number, eps = 1e-9): void => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

test('acc, acc_norm (characters) and acc_bytes pick different answers when lengths differ', () => {
  // lls: choice 0 is most likely raw; per character choice 1 wins; per byte choice 2 (Korean: 3 bytes/char) wins.
  const choices = ['ab', 'abcdefgh', '가나'];
  const lls = [-2, -4, -3];
  // per char: -1, -0.5, -1.5 -> 1; per byte: -1, -0.5, -0.5 -> first max = 1 ... make byte differ:
  const r = scoreChoices(lls, [true, false, false], choices, 1);
  assert.equal(r.pred, 0);
  assert.equal(r.pred_norm, 1);
  assert.equal(r.acc, 0);
  assert.equal(r.acc_norm, 1);
  assert.equal(r.exact_match, 0);
  const r2 = scoreChoices([-6, -7.5], [false, false], ['가나', 'abcde'], 0);
  // chars: -3 vs -1.5 -> 1 ; bytes: -1 vs -1.5 -> 0
  assert.equal(r2.pred_norm, 1);
  assert.equal(r2.pred_bytes, 0);
  assert.equal(r2.acc_bytes, 1);
  assert.equal(argmax([1, 3, 3]), 1, 'ties go to the first, like numpy');
});

test('MC2 is the normalised probability mass of the true answers', () => {
  const lls = [Math.log(0.2), Math.log(0.1), Math.log(0.3), Math.log(0.1)];
  close(mc2(lls, [1, 1, 0, 0]), 0.3 / 0.7);
});

test('exact match options follow HF evaluate (regexes, case, punctuation)', () => {
  assert.equal(exactMatch('The Answer!', 'the answer', { ignore_case: true, ignore_punctuation: true }), 1);
  assert.equal(exactMatch('The Answer!', 'the answer', { ignore_case: true }), 0);
  const gsm = { ignore_case: true, regexes_to_ignore: [',', '\\$', '(?s).*#### ', '\\.$'] };
  assert.equal(exactMatch('1,234', 'Step one\nso 1234 total.\n#### 1234', gsm), 1);
  assert.equal(exactMatch('$18.', '18', gsm), 1);
});

test('SQuAD F1', () => {
  close(f1Score('the cat sat', 'a cat sat down'), (2 * (2 / 2) * (2 / 3)) / (1 + 2 / 3));
  assert.equal(f1Score('', ''), 1);
  assert.equal(f1Score('dog', 'cat'), 0);
});

test('pass@k unbiased estimator', () => {
  assert.equal(passAtK(1, 1, 1), 1);
  assert.equal(passAtK(1, 0, 1), 0);
  close(passAtK(10, 3, 1), 0.3);
  // 1 - C(7,5)/C(10,5) = 1 - 21/252
  close(passAtK(10, 3, 5), 1 - 21 / 252);
  assert.equal(passAtK(10, 6, 5), 1);
});

test('majority vote breaks ties by first occurrence', () => {
  assert.equal(majorityVote(['3', '5', '5', '3', '7']), '3');
  assert.equal(majorityVote(['1', '2', '2']), '2');
  close(meanStderr([0, 1, 1, 0]), Math.sqrt(1 / 3 / 4));
});

test('BLEU and chrF++ equal sacrebleu 2.6.0', () => {
  const hyps = ['The cat sat on the mat.', "It is raining, isn't it?", 'Numbers like 1,000.50 and 3-4 appear here.'];
  const refs = [['The cat is sitting on the mat.', "It rains, doesn't it?", 'Numbers such as 1,000.50 and 3-4 appear.']];
  close(corpusBleu(hyps, refs).score, 42.21068126374528, 1e-9);
  close(corpusChrf(hyps, refs), 57.288753574122396, 1e-9);
  close(corpusChrf(hyps, refs, { wordOrder: 0 }), 57.24430698013754, 1e-9);
  close(corpusBleu(['我爱北京天安门。'], [['我喜欢北京天安门。']], { tokenize: 'zh' }).score, 62.401954419369176, 1e-9);
  close(corpusBleu(['今日は良い天気です'], [['今日はいい天気です']], { tokenize: 'char' }).score, 59.694917920196445, 1e-9);
  close(corpusChrf(['나는 학교에 간다.'], [['나는 학교에 갑니다.']]), 43.96181903279514, 1e-9);
  assert.equal(corpusBleu(['xyz'], [['abc def']]).score, 0);
  close(corpusBleu(['the quick brown fox jumps'], [['the quick brown fox jumped'], ['a quick brown fox jumps over']]).score, 100, 1e-9);
  assert.equal(tokenize13a('Hello, world. 1,000.5 costs $3-4!'), 'Hello , world . 1,000.5 costs $ 3 - 4 !');
});

test('regex filter, majority vote pipeline and MATH normalisation', () => {
  assert.equal(regexExtract('so 3 + 4 = 7. #### 7', '#### (\\-?[0-9\\.\\,]+)'), '7');
  assert.equal(regexExtract('got 12 then 15 apples', '(-?[$0-9.,]{2,})|(-?[0-9]+)', -1), '15');
  assert.equal(regexExtract('nothing', '#### (\\d+)'), '[invalid]');
  assert.equal(regexExtract('So the answer is (B).', '(?<=the answer is )(.*)(?=.)'), '(B)');
  const steps = [{ fn: 'regex' as const, pattern: 'The answer is (\\-?[0-9\\.\\,]*[0-9]+)' }, { fn: 'majority_vote' as const }, { fn: 'take_first' as const }];
  assert.deepEqual(applyPipeline(['The answer is 4.', 'The answer is 5.', 'The answer is 5.'], steps), ['5']);
  assert.equal(normalizeMath('$\\dfrac12$.'), normalizeMath('\\frac{1}{2}'));
  assert.equal(normalizeMath('0.5'), '\\frac{1}{2}');
  assert.equal(normalizeMath('x = 3'), '3');
});

test('PyRandom reproduces Python random.Random(1234)', () => {
  const r = new PyRandom(1234);
  assert.deepEqual([r.genrandUint32(), r.genrandUint32(), r.genrandUint32()], [4150886329, 3342196574, 1892932127]);
  const s = new PyRandom(1234);
  assert.deepEqual(s.sample([0, 1, 2, 3, 4], 5), [3, 0, 4, 2, 1]);
  assert.deepEqual(s.sample(Array.from({ length: 100 }, (_, i) => i), 6), [85, 88, 10, 12, 98, 45]);
  close(s.random(), 0.23680977536311776, 1e-15);
});

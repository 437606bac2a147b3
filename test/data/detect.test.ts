import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectCategory, detectLang, countScripts } from '../../src/data/detect.js';

test('script counts', () => {
  const c = countScripts('한국어 abc 日本語 ひらがな 123!');
  assert.equal(c.hangul, 3);
  assert.equal(c.latin, 3);
  assert.equal(c.han, 3);
  assert.equal(c.kana, 4);
  assert.equal(c.digit, 3);
  assert.equal(c.symbol, 1);
});

test('language and category routing', () => {
  assert.equal(detectLang('서울은 대한민국의 수도이며 인구가 가장 많은 도시이다.'), 'ko');
  assert.equal(detectLang('The capital of the country is the largest city and the seat of government.'), 'en');
  assert.equal(detectLang('東京は日本の首都であり、最も人口の多い都市です。'), 'ja');
  assert.equal(detectLang('北京是中华人民共和国的首都，也是政治和文化中心。'), 'zh');
  assert.equal(detectLang('Der schnelle braune Fuchs springt über den faulen Hund.'), 'latin');
  assert.deepEqual(detectCategory('print(1)', '.py'), { category: 'code', lang: 'code' });
  const js = 'import x from "y";\nfunction f(a) {\n  const b = a + 1;\n  return b;\n}\nexport default f;\n';
  assert.equal(detectCategory(js, '.txt').category, 'code');
  assert.equal(detectCategory('안녕하세요. 오늘은 날씨가 맑습니다.', '.txt').category, 'korean');
  assert.equal(detectCategory('Hello there, this is the text of a letter.', '').category, 'multilingual');
});

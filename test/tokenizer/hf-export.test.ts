// The Hugging Face export, loaded with tokenizers.js (@huggingface/tokenizers), must give hcx's ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { trainTokenizer, toHfTokenizerJson, toHfTokenizerConfig, trainSegmenter } from '../../src/tokenizer/index.js';
import { CORPUS } from './corpus.js';

const MIXED = [
  '서울에서 친구를 만났습니다. 학교에서는 한국어를 배웁니다!', "The quick brown fox — I'll be there at 10:30, won't you?",
  'function add(a, b) {\n  return a + b; // 합계\n}\n\n', 'GPT를 쓰는 사람들은 12345개의 토큰을 셉니다.', '😀 emoji, é, e\u0301, 한\u1100\u1161 jamo',
  '   leading spaces and\ttabs\r\n', '고양이가 밥을 먹었다. 그는 회사에서 일하고 있다.',
];

const hfIds = (hf: HfTokenizer, s: string): number[] => hf.encode(s, { add_special_tokens: false }).ids;

test('tokenizer.json export gives identical ids in tokenizers.js (rules and none split)', async () => {
  for (const split of ['rules', 'none'] as const) {
    const tok = await trainTokenizer({ texts: [...CORPUS, ...MIXED], vocabSize: 700, split });
    const hf = new HfTokenizer(toHfTokenizerJson(tok), toHfTokenizerConfig(tok));
    for (const s of [...MIXED, ...CORPUS.slice(0, 13)]) {
      assert.deepEqual(hfIds(hf, s), tok.encode(s), `${split}: ${JSON.stringify(s)}`);
      assert.equal(hf.decode(tok.encode(s)), s);
    }
    // Special tokens are added tokens with the same ids.
    assert.deepEqual(hfIds(hf, '<|user|>hi<|endofturn|>'), tok.encode('<|user|>hi<|endofturn|>', { allowSpecial: true }));
    // The documented difference: HF turns a lone surrogate into U+FFFD.
    assert.notDeepEqual(hfIds(hf, 'a\ud800b'), tok.encode('a\ud800b'));
  }
});

test('model split: export uses the rule regex; non-Korean text is still identical', async () => {
  // A tiny segmenter, enough to exercise the 'model' path hermetically.
  const seg = trainSegmenter([
    { text: '학교에서', bounds: [2] }, { text: '친구를', bounds: [2] }, { text: '먹었다', bounds: [1, 2] }, { text: '사람들은', bounds: [2, 3] },
  ], { epochs: 3 });
  const tok = await trainTokenizer({ texts: [...CORPUS, ...MIXED], vocabSize: 700, split: 'model', segmenter: seg });
  const hf = new HfTokenizer(toHfTokenizerJson(tok), toHfTokenizerConfig(tok));
  for (const s of [MIXED[1], MIXED[2].replace('합계', ''), MIXED[5]]) assert.deepEqual(hfIds(hf, s), tok.encode(s));
  for (const s of MIXED) assert.equal(hf.decode(hfIds(hf, s)), s); // still lossless, just other ids on some Korean
});

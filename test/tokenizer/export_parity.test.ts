// The exports reproduce the default tokenizer's ids: hcx's encode against tokenizers.js (@huggingface/tokenizers)
// and transformers on the exported tokenizer.json, and llama.cpp (node-llama-cpp) on the exported GGUF.
// The default split 'guided' must give 0 mismatches on Korean, English, code and stress texts; split 'model'
// (the default before it) is run through the same harness to show the check catches the inexact mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { kmmluPrompts, koreanDocs, splitDocs } from '../../src/bench/tokenizer_heldout.js';
import { exportDifference, sharedDataDir, trainTokenizer, type Tokenizer } from '../../src/tokenizer/index.js';
import { CORPUS } from './corpus.js';
import { codePointSweep, STRESS_TEXTS } from '../helpers/parity-texts.js';
import { exportTokenizer, llamaCppIds, mismatches, tokenizersJsIds, transformersIds, type Ids } from '../helpers/tokenizer-parity.js';
import { pythonMissing } from '../helpers/python.js';

const KOREAN = [
  '서울특별시는 대한민국의 수도이며, 인구는 약 940만 명입니다.', '어제 먹었던 떡볶이가 너무 맛있어서 오늘도 먹으러 갔어요',
  '학생들이 도서관에서 공부하고 있었습니다.', '하늘이 맑고 바람이 시원하니까 산책하기 좋겠네요.', '그렇지만 우리는 포기하지 않았다.',
  '선생님께서는 학생들에게 숙제를 내주셨습니다.', '컴퓨터를 사용한 프로그래밍은 재미있다', 'ㅋㅋㅋㅋ 진짜 웃기다ㅠㅠ',
];
const TEXTS = [...CORPUS, ...KOREAN, ...STRESS_TEXTS];
// Training text: the corpus repeated with Korean words in several contexts, so that merges span whole words.
const TRAIN = [...CORPUS, ...KOREAN, ...KOREAN.map((s) => s.replace(/ /g, '\n')), ...CORPUS.map((s) => ` ${s}`)];

function ids(tok: Tokenizer, texts: readonly string[]): Ids { return texts.map((s) => tok.encode(s)); }

async function check(t: { diagnostic(s: string): void }, tok: Tokenizer, texts: readonly string[], opts: { python: boolean }) {
  const { hfDir, gguf } = exportTokenizer(tok, mkdtempSync(path.join(tmpdir(), 'hcx-parity-')));
  const ours = ids(tok, texts);
  const res = {
    tokenizersJs: mismatches(texts, ours, tokenizersJsIds(tok, texts)),
    llamaCpp: mismatches(texts, ours, await llamaCppIds(gguf, texts)),
    ...(opts.python ? { transformers: mismatches(texts, ours, transformersIds(hfDir, texts)) } : {}),
  };
  for (const [k, m] of Object.entries(res)) t.diagnostic(`split ${tok.split}, ${k}: ${m.count}/${m.total} texts differ ${m.examples.join(' | ')}`);
  return res;
}

const noPython = pythonMissing(['transformers']);

test('the default split is guided and its tokenizer.json and GGUF exports give hcx\'s ids on Korean, English, code and stress texts', async (t) => {
  const tok = await trainTokenizer({ texts: TRAIN, vocabSize: 700 });
  assert.equal(tok.split, 'guided');
  assert.equal(exportDifference(tok.split, 'hf'), null);
  assert.equal(exportDifference(tok.split, 'gguf'), null);
  // The merges must reach whole Korean words, or the check would pass on byte soup.
  assert.ok(tok.encode('학생들이').length <= 4, `학생들이 -> ${tok.encode('학생들이').length} tokens`);
  const r = await check(t, tok, [...TEXTS, ...codePointSweep()], { python: !noPython });
  for (const [k, m] of Object.entries(r)) assert.equal(m.count, 0, `${k}: ${m.examples.join('\n')}`);
});

test('the check catches an inexact export: split model (statistical segmenter, the old default) differs in tokenizers.js on Korean', async (t) => {
  const tok = await trainTokenizer({ texts: TRAIN, vocabSize: 700, split: 'model' });
  assert.notEqual(exportDifference('model', 'hf'), null);
  const r = await check(t, tok, KOREAN, { python: false });
  assert.ok(r.tokenizersJs.count > 0, 'split model should differ in tokenizers.js on Korean');
});

const KO_DATA = path.join(sharedDataDir(), 'korquad/dataset/KorQuAD_v1.0_dev.json');

test('reads ../shared/data: a guided tokenizer trained on KorQuAD gives the same ids in all three on 300 KMMLU prompts and held-out KorQuAD',
  { skip: existsSync(KO_DATA) ? false : `no ${KO_DATA}` }, async (t) => {
    const docs = splitDocs(koreanDocs(sharedDataDir()).slice(0, 600));
    const tok = await trainTokenizer({ texts: [...docs.train, ...CORPUS], vocabSize: 4000 });
    const prompts = kmmluPrompts(sharedDataDir()).filter((_, i) => i % 97 === 0).slice(0, 300);
    const texts = [...prompts, ...docs.held.slice(0, 40)];
    assert.ok(texts.length > 100, `only ${texts.length} texts`);
    const r = await check(t, tok, texts, { python: !noPython });
    for (const [k, m] of Object.entries(r)) assert.equal(m.count, 0, `${k}: ${m.examples.join('\n')}`);
    // The same data through the old default: its export is not exact on these prompts.
    const old = await trainTokenizer({ texts: [...docs.train, ...CORPUS], vocabSize: 4000, split: 'model' });
    const o = await check(t, old, texts, { python: false });
    assert.ok(o.tokenizersJs.count > 0 && o.llamaCpp.count > 0, 'split model should differ on KMMLU prompts');
  });

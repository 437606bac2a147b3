// tokenizer.json components against Hugging Face tokenizers itself: small BPE tokenizers trained by the Python
// package (components.py), one per combination of normalizers (NFC/NFD/NFKC/NFKD, Lowercase, Strip,
// StripAccents, Replace, Prepend, BertNormalizer), pre-tokenizers (ByteLevel with prefix space and regex,
// Metaspace "first", Digits, Punctuation, BertPreTokenizer, Whitespace, WhitespaceSplit, CharDelimiterSplit,
// Split with every behavior and invert), models (byte fallback, unk with and without fuse_unk, continuing-subword
// prefix, end-of-word suffix), post-processors (TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel),
// decoders (ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace, WordPiece, BPEDecoder, none) and added
// tokens (single_word, lstrip, rstrip, normalized). Ids with and without special tokens, decode, skip_special.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { HARD_CASES } from '../../../src/bench/tokenizer_corpus.js';
import { packageRoot } from '../../../src/tokenizer/default-segmenter.js';
import { buildHfTokenizer } from '../../../src/tokenizer/hf/load.js';
import { CORPUS } from '../corpus.js';
import { pythonMissing, runPython } from '../../helpers/python.js';

const TRAIN = [...CORPUS, ...HARD_CASES, 'Hello World hello world wor world Zz zz [NEW] ÀÉÎÕÜ ñ 42 3.14 x-q-y', '카페 café Ｆｕｌｌ'];
const TEXTS = [
  ...HARD_CASES.filter((t) => !/[\ud800-\udfff]/.test(t) || /[\ud800-\udbff][\udc00-\udfff]/.test(t)),
  ...CORPUS.slice(0, 13),
  'hello there, sayhello hello! hellohello', '  wor  world wor', '[NEW][NEW] [new]', 'ZZ Zz zz', 'a <sep> b<sep>c   <sep>', '<s>x</s> <|im_start|>y<|im_end|>',
  'Ａ１ ﬁ Ⅻ é É', 'qxqx aeiou xaxex', '123abc456 7.8', 'unknown chars: ✈ ☃ 𝔘𝔫𝔦', '',
];

test('tokenizer.json components: ids, plain-text ids, decode and skip-special decode equal Hugging Face tokenizers', { skip: pythonMissing(['tokenizers']) }, (t) => {
  const out = JSON.parse(runPython([path.join(packageRoot(), 'test/tokenizer/hf/components.py')], { input: JSON.stringify({ texts: TEXTS, train: TRAIN }) })) as
    { name: string; json: string; special: number[][]; plain: number[][]; decoded: string[]; skipped: string[] }[];
  assert.equal(out.length, 6);
  for (const r of out) {
    const tok = buildHfTokenizer({ tokenizer: JSON.parse(r.json), tokenizerFile: `${r.name}.json` });
    let n = 0;
    TEXTS.forEach((text, i) => {
      const where = `${r.name}: ${JSON.stringify(text.slice(0, 60))}`;
      assert.deepEqual(tok.encode(text, { allowSpecial: true, addSpecialTokens: true }), r.special[i], `${where} (special)`);
      assert.deepEqual(tok.encode(text), r.plain[i], `${where} (plain)`);
      const ids = tok.encode(text, { allowSpecial: true });
      assert.equal(tok.decode(ids), r.decoded[i], `${where} (decode)`);
      assert.equal(tok.decode(r.special[i], { skipSpecial: true }), r.skipped[i], `${where} (decode, skip special)`);
      // Offsets cover the input in order.
      const { ids: oid, offsets } = tok.encodeWithOffsets(text, () => true);
      assert.deepEqual(oid, ids, `${where} (ids with offsets)`);
      for (let k = 0; k < oid.length; k++) assert.ok(offsets[2 * k] <= offsets[2 * k + 1] && offsets[2 * k + 1] <= text.length && (k === 0 || offsets[2 * k] >= offsets[2 * k - 2]), `${where} offsets ${k}`);
      n += r.special[i].length;
    });
    t.diagnostic(`${r.name}: ${TEXTS.length} texts, ${n} tokens equal`);
  }
});

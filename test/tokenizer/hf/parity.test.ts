// Imported tokenizer.json tokenizers against the references on a mixed corpus (reads ../shared/data): ids equal
// tokenizers.js (@huggingface/tokenizers 0.2.0), Hugging Face's Rust tokenizers and transformers' AutoTokenizer,
// for Llama 3, Qwen 3 and Gemma 3, with special-token strings read as special tokens and as plain text; decode
// equals the references' decode. The corpus: KorQuAD, NSMC, KMMLU, WikiText-2, this repository's code, hard cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Tokenizer as TjsTokenizer } from '@huggingface/tokenizers';
import { corpusAvailable, mixedCorpus } from '../../../src/bench/tokenizer_corpus.js';
import { packageRoot } from '../../../src/tokenizer/default-segmenter.js';
import { openTokenizer } from '../../../src/tokenizer/open.js';
import type { HfTokenizer } from '../../../src/tokenizer/hf/tokenizer.js';
import { HF_TOKENIZERS, hfDir, hfMissing } from '../../helpers/hf_tokenizers.js';
import { pythonMissing, runPython } from '../../helpers/python.js';

const CHARS = Number(process.env.HCX_PARITY_CHARS ?? 1_200_000);
const skipData = corpusAvailable() ? false : 'needs ../shared/data (KorQuAD, WikiText-2)';
const docs = skipData ? [] : mixedCorpus(CHARS).map((d) => d.text);

interface Tally { docs: number; tokens: number; mismatches: number; first?: string }
function compare(name: string, ours: number[][], ref: number[][], texts: string[]): Tally {
  const t: Tally = { docs: texts.length, tokens: 0, mismatches: 0 };
  for (let i = 0; i < texts.length; i++) {
    const a = ours[i], b = ref[i];
    t.tokens += b.length;
    if (a.length === b.length && a.every((x, k) => x === b[k])) continue;
    t.mismatches++;
    if (!t.first) {
      let k = 0;
      while (a[k] === b[k]) k++;
      t.first = `${name}: text ${i} ${JSON.stringify(texts[i].slice(0, 80))} differs at token ${k}: ours ${a.slice(k, k + 5)} ref ${b.slice(k, k + 5)}`;
    }
  }
  return t;
}

const report = (t: { diagnostic(s: string): void }, what: string, x: Tally) =>
  t.diagnostic(`${what}: ${x.docs} texts, ${x.tokens} tokens compared, ${x.mismatches} mismatches${x.first ? ` (first: ${x.first})` : ''}`);

for (const name of HF_TOKENIZERS) {
  test(`${name} tokenizer.json: ids and decode equal tokenizers.js on the mixed corpus (reads ../shared/data)`, { skip: skipData || hfMissing([name]) }, (t) => {
    const dir = hfDir(name);
    const ours = openTokenizer(dir) as HfTokenizer;
    const json = JSON.parse(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
    const config = JSON.parse(readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
    const ref = new TjsTokenizer(json, config);
    // Plain text for tokenizers.js: its tokenizer without the special added tokens (they then are ordinary text).
    const plainRef = new TjsTokenizer({ ...json, added_tokens: json.added_tokens.filter((a: { special: boolean }) => !a.special) }, config);
    const special = compare('special', docs.map((d) => ours.encode(d, { allowSpecial: true })), docs.map((d) => ref.encode(d, { add_special_tokens: false }).ids), docs);
    const plain = compare('plain', docs.map((d) => ours.encode(d)), docs.map((d) => plainRef.encode(d, { add_special_tokens: false }).ids), docs);
    let decodeBad = 0, firstBad = '';
    for (const d of docs) {
      const ids = ours.encode(d, { allowSpecial: true });
      const a = ours.decode(ids), b = ids.length ? ref.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }) : '';
      if (a !== b) { decodeBad++; firstBad ||= `${JSON.stringify(a.slice(0, 60))} vs ${JSON.stringify(b.slice(0, 60))}`; }
    }
    report(t, `${name} vs tokenizers.js, special tokens parsed`, special);
    report(t, `${name} vs tokenizers.js, plain text`, plain);
    t.diagnostic(`${name} vs tokenizers.js decode: ${docs.length} texts, ${decodeBad} mismatches`);
    assert.ok(special.tokens > 100_000, 'the corpus is large');
    assert.equal(special.mismatches, 0, special.first);
    assert.equal(plain.mismatches, 0, plain.first);
    assert.equal(decodeBad, 0, firstBad);
  });

  test(`${name} tokenizer.json: ids equal Hugging Face tokenizers (Rust) and transformers on the mixed corpus (reads ../shared/data)`,
    { skip: skipData || hfMissing([name]) || pythonMissing(['tokenizers', 'transformers']) }, (t) => {
      const dir = hfDir(name);
      const ours = openTokenizer(dir) as HfTokenizer;
      const out = JSON.parse(runPython([path.join(packageRoot(), 'test/tokenizer/hf/hf_reference.py')], { input: JSON.stringify({ dir, texts: docs }) })) as
        { plain: number[][]; special: number[][]; transformers: number[][]; decoded: string[] };
      const specialIds = docs.map((d) => ours.encode(d, { allowSpecial: true }));
      const special = compare('special', specialIds, out.special, docs);
      const plain = compare('plain', docs.map((d) => ours.encode(d)), out.plain, docs);
      const tf = compare('transformers', specialIds, out.transformers, docs);
      const decodeBad = docs.filter((_, i) => ours.decode(specialIds[i]) !== out.decoded[i]).length;
      report(t, `${name} vs tokenizers (Rust), special tokens parsed`, special);
      report(t, `${name} vs tokenizers (Rust), plain text (encode_special_tokens)`, plain);
      report(t, `${name} vs transformers AutoTokenizer`, tf);
      t.diagnostic(`${name} vs tokenizers (Rust) decode: ${docs.length} texts, ${decodeBad} mismatches`);
      assert.equal(special.mismatches, 0, special.first);
      assert.equal(plain.mismatches, 0, plain.first);
      assert.equal(tf.mismatches, 0, tf.first);
      assert.equal(decodeBad, 0);
    });
}

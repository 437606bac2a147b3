import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteEncoder } from '../../src/data/byte-encoder.js';
import { encodeFim, fimSplit, chooseFim } from '../../src/data/fim.js';
import { Packer } from '../../src/data/packer.js';
import { Rng } from '../../src/data/hashing.js';
import type { Cursor } from '../../src/data/shards.js';

const enc = new ByteEncoder();
const { fimPrefix: P, fimSuffix: S, fimMiddle: M } = enc.special;

test('FIM split points are per character and never split a surrogate pair', () => {
  const text = 'a😀b😀c한글';
  for (let s = 0; s < 200; s++) {
    const parts = fimSplit(text, new Rng(s));
    assert.equal(parts.join(''), text);
    for (const p of parts) assert.ok(!/^[\udc00-\udfff]|[\ud800-\udbff]$/.test(p), JSON.stringify(parts));
  }
});

test('PSM and SPM layouts with the tokenizer sentinels', () => {
  const text = 'def f(x):\n    return x + 1\n';
  for (const mode of ['psm', 'spm'] as const) {
    const ids = encodeFim(text, mode, new Rng(3), enc);
    const [pre, mid, suf] = fimSplit(text, new Rng(3));
    const b = (s: string) => enc.encode(s);
    const want = mode === 'psm' ? [P, ...b(pre), S, ...b(suf), M, ...b(mid)] : [P, S, ...b(suf), M, ...b(pre), ...b(mid)];
    assert.deepEqual(ids, want);
  }
  assert.deepEqual(encodeFim(text, 'none', new Rng(3), enc), enc.encode(text));
});

test('FIM rates are honoured', () => {
  const rng = new Rng(11);
  const n = { psm: 0, spm: 0, none: 0 };
  for (let i = 0; i < 20000; i++) n[chooseFim(rng, 0.3, 0.2)]++;
  assert.ok(Math.abs(n.psm / 20000 - 0.3) < 0.02 && Math.abs(n.spm / 20000 - 0.2) < 0.02, JSON.stringify(n));
});

test('packing concatenates documents into full records and reports resume cursors', () => {
  const recs: number[][] = [], cursors: Cursor[] = [];
  const p = new Packer(4, (r, c) => { recs.push([...r]); cursors.push(c); });
  p.push([1, 2, 3, 0], 0);
  p.push([4, 5, 6, 7, 8, 0], 1);
  p.push([9, 0], 2);
  assert.deepEqual(recs, [[1, 2, 3, 0], [4, 5, 6, 7], [8, 0, 9, 0]]);
  assert.deepEqual(cursors, [{ instance: 1, consumed: 0 }, { instance: 1, consumed: 4 }, { instance: 3, consumed: 0 }]);
  p.push([10, 11], 3);
  assert.equal(p.pending, 2);
});

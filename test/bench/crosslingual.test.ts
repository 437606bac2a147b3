import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitByFact } from '../../src/bench/crosslingual.js';
import { chatSamples } from '../../src/data/corpus/chat.js';

test('splitByFact holds out whole facts in both languages and never trains on a held-out fact', () => {
  const samples = chatSamples(300, 7);
  const { train, heldout } = splitByFact(samples, 0.2);
  assert.ok(heldout.length > 20 && train.length > 300, `${train.length} train, ${heldout.length} held out`);
  const heldKeys = new Set(heldout.map((s) => s.key));
  for (const s of train) for (const k of s.key.split('+')) assert.ok(!heldKeys.has(k), `training conversation uses held-out fact ${k}`);
  for (const s of heldout) assert.equal(s.key.split('+').length, 1, 'held-out prompts are single exchanges');
  assert.ok(heldout.some((s) => s.lang === 'ko') && heldout.some((s) => s.lang === 'en'));
  // A fact held out in one language is held out in the other too (the split is by key, not by language).
  const koKeys = new Set(samples.filter((s) => s.lang === 'ko').map((s) => s.key.split('+')[0]));
  for (const s of heldout) if (s.lang === 'en' && koKeys.has(s.key)) assert.ok(!train.some((t) => t.lang === 'ko' && t.key.split('+').includes(s.key)));
});

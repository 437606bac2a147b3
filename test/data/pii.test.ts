import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findPii, scrubPii, rrnValid, luhnValid, ibanValid, type PiiType } from '../../src/data/pii.js';
import { PII_CASES, PII_HELDOUT, parseCase } from './pii-cases.js';

function score(cases: string[]): { precision: number; recall: number; perType: Map<PiiType, { tp: number; fp: number; fn: number }>; errors: string[] } {
  let tp = 0, fp = 0, fn = 0;
  const perType = new Map<PiiType, { tp: number; fp: number; fn: number }>();
  const errors: string[] = [];
  const bump = (t: PiiType, k: 'tp' | 'fp' | 'fn') => {
    const e = perType.get(t) ?? { tp: 0, fp: 0, fn: 0 };
    e[k]++; perType.set(t, e);
  };
  for (const c of cases) {
    const { text, spans } = parseCase(c);
    const key = (s: { type: PiiType; start: number; value: string }) => `${s.type}@${s.start}:${s.value}`;
    const expected = new Set(spans.map(key));
    const got = findPii(text);
    const gotKeys = new Set(got.map(key));
    for (const s of got) {
      if (expected.has(key(s))) { tp++; bump(s.type, 'tp'); } else { fp++; bump(s.type, 'fp'); errors.push(`FP ${key(s)} in ${text}`); }
    }
    for (const s of spans) if (!gotKeys.has(key(s))) { fn++; bump(s.type, 'fn'); errors.push(`FN ${key(s)} in ${text}`); }
  }
  return { precision: tp / Math.max(1, tp + fp), recall: tp / Math.max(1, tp + fn), perType, errors };
}

test('check digits: RRN, Luhn, IBAN', () => {
  assert.equal(luhnValid('4111111111111111'), true);
  assert.equal(luhnValid('4111111111111112'), false);
  assert.equal(ibanValid('GB82 WEST 1234 5698 7654 32'), true);
  assert.equal(ibanValid('GB82 WEST 1234 5698 7654 33'), false);
  assert.equal(rrnValid('0000000000000'), false);
});

test('PII precision and recall on the labelled set (tuning set and held-out set)', () => {
  for (const [name, cases] of [['tuning', PII_CASES], ['held-out', PII_HELDOUT]] as const) {
    const r = score(cases);
    const perType = [...r.perType].map(([t, e]) => `${t} ${e.tp}/${e.tp + e.fn} fp=${e.fp}`).join(', ');
    console.log(`# PII ${name}: ${cases.length} cases, precision ${r.precision.toFixed(3)} recall ${r.recall.toFixed(3)} (${perType})`);
    assert.ok(r.precision >= 0.95, `${name} precision ${r.precision}\n${r.errors.join('\n')}`);
    assert.ok(r.recall >= 0.9, `${name} recall ${r.recall}\n${r.errors.join('\n')}`);
  }
});

test('every PII type is covered by the labelled set', () => {
  const types = new Set(PII_CASES.flatMap((c) => parseCase(c).spans.map((s) => s.type)));
  for (const t of ['rrn', 'mobile', 'landline', 'intl_phone', 'email', 'card', 'account', 'ipv4', 'ipv6', 'passport']) assert.ok(types.has(t as PiiType), t);
});

test('scrubbing writes typed placeholders and counts each type', () => {
  const r = scrubPii('메일 a.b@example.com, 전화 010-1234-5678, 서버 192.0.2.1.');
  assert.equal(r.text, '메일 [EMAIL], 전화 [PHONE], 서버 [IP].');
  assert.deepEqual(r.counts, { email: 1, mobile: 1, ipv4: 1 });
  assert.deepEqual(scrubPii('no digits here').counts, {});
});

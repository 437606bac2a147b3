import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/data/config.js';

test('defaults fill a minimal config', () => {
  const c = validateConfig({ outDir: 'out', sources: [{ path: 'data/*.jsonl' }] });
  assert.equal(c.sources[0].category, 'auto');
  assert.equal(c.mixture.shares.korean, 1 / 3);
  assert.equal(c.packing.longFactor, 8);
  assert.equal(c.packing.longShare, 0.1);
  assert.equal(c.dedup.threshold, 0.8);
  assert.equal(c.filters.thresholds.minWords, 50);
});

test('errors name the offending field', () => {
  const bad: [unknown, RegExp][] = [
    [{ sources: [{ path: 'x' }] }, /config\.outDir: is required/],
    [{ outDir: 'o', sources: [] }, /config\.sources: must be a non-empty array/],
    [{ outDir: 'o', sources: [{}] }, /config\.sources\[0\]\.path: is required/],
    [{ outDir: 'o', sources: [{ path: 'x', weight: -1 }] }, /config\.sources\[0\]\.weight: must be a number/],
    [{ outDir: 'o', sources: [{ path: 'x', category: 'english' }] }, /config\.sources\[0\]\.category: must be one of/],
    [{ outDir: 'o', sources: [{ path: 'x', wieght: 2 }] }, /config\.sources\[0\]\.wieght: unknown field/],
    [{ outDir: 'o', sources: [{ path: 'x' }], dedup: { threshold: 2 } }, /config\.dedup\.threshold: must be a number in/],
    [{ outDir: 'o', sources: [{ path: 'x' }], dedup: { numPerm: 100 } }, /config\.dedup\.numPerm: must be a power of two/],
    [{ outDir: 'o', sources: [{ path: 'x' }], fim: { psmRate: 0.7, spmRate: 0.5 } }, /config\.fim: psmRate \+ spmRate/],
    [{ outDir: 'o', sources: [{ path: 'x' }], packing: { seqLen: 1.5 } }, /config\.packing\.seqLen: must be an integer/],
    [{ outDir: 'o', sources: [{ path: 'x' }], filters: { thresholds: { minWordz: 3 } } }, /config\.filters\.thresholds\.minWordz: unknown field/],
    [{ outDir: 'o', sources: [{ path: 'x' }], pii: { types: ['ssn'] } }, /config\.pii\.types\[0\]: must be one of/],
    [{ outDir: 'o', sources: [{ path: 'x' }], mixture: { shares: { korean: 0, multilingual: 0, code: 0 } } }, /config\.mixture\.shares: at least one/],
  ];
  for (const [cfg, re] of bad) assert.throws(() => validateConfig(cfg), re, JSON.stringify(cfg));
});

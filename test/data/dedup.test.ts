import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Deduplicator, MinHasher, jaccardEstimate, optimalBands, collisionProb, exactHash } from '../../src/data/dedup.js';
import { Rng } from '../../src/data/hashing.js';

const rng = new Rng(7);
const vocab = Array.from({ length: 5000 }, (_, i) => `w${i.toString(36)}`);
const doc = (n: number): string[] => Array.from({ length: n }, () => vocab[rng.int(vocab.length)]);
/** replaces a fraction p of words at random */
const perturb = (ws: string[], p: number): string[] => ws.map((w) => (rng.next() < p ? vocab[rng.int(vocab.length)] : w));
function jaccard(a: string[], b: string[], k = 5): number {
  const sh = (ws: string[]) => new Set(ws.slice(0, ws.length - k + 1).map((_, i) => ws.slice(i, i + k).join(' ')));
  const A = sh(a), B = sh(b);
  let inter = 0;
  for (const x of A) if (B.has(x)) inter++;
  return inter / (A.size + B.size - inter);
}

test('exact hash ignores case, whitespace and punctuation only', () => {
  assert.deepEqual(exactHash('Hello,  World!\n'), exactHash('hello world'));
  assert.notDeepEqual(exactHash('hello world'), exactHash('hello word'));
  assert.deepEqual(exactHash('안녕 하세요'), exactHash('안녕하세요.'));
});

test('MinHash estimates Jaccard within 0.1', () => {
  const mh = new MinHasher(128, 5);
  for (const p of [0.01, 0.05, 0.1]) {
    const a = doc(400), b = perturb(a, p);
    const est = jaccardEstimate(mh.signature(a.join(' ')), mh.signature(b.join(' ')));
    assert.ok(Math.abs(est - jaccard(a, b)) < 0.1, `p=${p} est=${est} true=${jaccard(a, b)}`);
  }
});

test('LSH band choice puts the S-curve at the threshold', () => {
  for (const t of [0.5, 0.7, 0.8, 0.9]) {
    const { bands, rows } = optimalBands(t, 128);
    assert.ok(bands * rows <= 128);
    assert.ok(collisionProb(t - 0.15, bands, rows) < 0.5 && collisionProb(Math.min(1, t + 0.1), bands, rows) > 0.5, `t=${t} b=${bands} r=${rows}`);
  }
});

test('near-duplicates above the threshold are caught, distinct documents are kept', () => {
  const d = new Deduplicator({ threshold: 0.7 });
  let caughtHigh = 0, keptLow = 0;
  const N = 60;
  const near: number[] = [], far: number[] = [];
  for (let i = 0; i < N; i++) {
    const a = doc(300);
    assert.equal(d.add(a.join(' ')), undefined);
    const hi = perturb(a, 0.01); // Jaccard ~0.9
    near.push(jaccard(a, hi));
    if (d.add(hi.join(' ')) === 'near') caughtHigh++;
    const lo = perturb(a, 0.15); // Jaccard ~0.3
    far.push(jaccard(a, lo));
    if (d.add(lo.join(' ')) === undefined) keptLow++;
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`# near-dup recall ${caughtHigh}/${N} at mean J=${mean(near).toFixed(2)}; distinct kept ${keptLow}/${N} at mean J=${mean(far).toFixed(2)}`);
  assert.ok(caughtHigh >= N * 0.95);
  assert.ok(keptLow >= N * 0.95);
  assert.equal(d.add(doc(300).join(' ').toUpperCase()), undefined);
  const x = doc(50).join(' ');
  assert.equal(d.add(x), undefined);
  assert.equal(d.add(x + ' '), 'exact');
});

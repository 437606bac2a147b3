import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bestFitDecreasing } from '../../../src/data/chat/packing.js';
import { Rng } from '../../../src/data/hashing.js';

/** Best-fit decreasing written the obvious way (scan every open row), to check the bitset version. */
function bfdReference(lengths: number[], cap: number): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[b] - lengths[a] || a - b);
  const rows: { items: number[]; free: number; opened: number }[] = [];
  let lastTouch = 0;
  for (const i of order) {
    if (lengths[i] === 0) continue;
    let best = -1;
    for (let r = 0; r < rows.length; r++) {
      if (rows[r].free < lengths[i]) continue;
      // Smallest free space; among equals, the row that reached that space last (the bitset keeps a stack).
      if (best < 0 || rows[r].free < rows[best].free || (rows[r].free === rows[best].free && rows[r].opened > rows[best].opened)) best = r;
    }
    if (best < 0) { rows.push({ items: [], free: cap, opened: 0 }); best = rows.length - 1; }
    rows[best].items.push(i);
    rows[best].free -= lengths[i];
    rows[best].opened = ++lastTouch;
  }
  return rows.map((r) => r.items);
}

test('best-fit decreasing: every example once, no row over capacity, same rows as the plain algorithm', () => {
  const rng = new Rng(3);
  for (const cap of [7, 64, 100, 1024]) {
    // Length-skewed like chat data: many short, a few long.
    const lengths = Array.from({ length: 500 }, () => Math.max(1, Math.min(cap, Math.round(cap * rng.next() ** 3))));
    const rows = bestFitDecreasing(lengths, cap);
    const seen = rows.flat().sort((a, b) => a - b);
    assert.deepEqual(seen, lengths.map((_, i) => i));
    for (const r of rows) assert.ok(r.reduce((s, i) => s + lengths[i], 0) <= cap);
    assert.deepEqual(rows, bfdReference(lengths, cap), `capacity ${cap}`);
    const total = lengths.reduce((a, b) => a + b, 0);
    assert.ok(rows.length <= Math.ceil(total / cap) * 1.25 + 1, `${rows.length} rows for ${total} tokens in rows of ${cap}`);
  }
});

test('best-fit decreasing: a known case, and an example longer than a row is an error', () => {
  // Rows of 10: 6 opens row 0, 5 opens row 1, 4 best fits row 0 (free 4 vs 5), 3 row 1, 2 row 1.
  assert.deepEqual(bestFitDecreasing([3, 6, 2, 5, 4], 10), [[1, 4], [3, 0, 2]]);
  assert.throws(() => bestFitDecreasing([11], 10), /example 0 has 11 tokens, rows hold 10/);
});

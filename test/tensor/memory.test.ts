import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdamW, backward, tidy } from '../../src/tensor/index.js';
import { PRESETS } from '../../src/model/config.js';
import { Transformer } from '../../src/model/transformer.js';

test('a 1,000-step training loop keeps RSS flat (buffers are reused, not reallocated)', () => {
  const m = new Transformer({ ...PRESETS.test, vocabSize: 128, dModel: 64, ffnHidden: 128 }, 1);
  const opt = new AdamW(m.parameters());
  const ids = Int32Array.from({ length: 64 }, (_, i) => (i * 13) % 128);
  const tgt = Int32Array.from({ length: 64 }, (_, i) => (i * 13 + 1) % 128);
  const step = () => {
    tidy(() => { backward(m.loss(ids, tgt, 2, 32)); });
    opt.update(1e-3);
    opt.zeroGrad();
  };
  for (let i = 0; i < 100; i++) step();
  global.gc?.();
  const rss100 = process.memoryUsage().rss;
  for (let i = 0; i < 900; i++) step();
  global.gc?.();
  const grown = (process.memoryUsage().rss - rss100) / 2 ** 20;
  // Each step allocates ~1 MiB of tensors; without reuse 900 steps would add hundreds of MiB before GC.
  assert.ok(grown < 8, `RSS grew by ${grown.toFixed(1)} MiB between step 100 and step 1000`);
});

test('the pool serves a request from a slightly larger free class, and the view returns to that class', async () => {
  const { allocF32, release, clearPool, poolStats } = await import('../../src/tensor/pool.js');
  clearPool();
  const big = allocF32(200_000); // class 212,992 (steps of 2^14 between 2^17 and 2^18)
  release(big);
  assert.equal(poolStats().pooledBytes, 212_992 * 4);
  const small = allocF32(181_000, false); // its own class (196,608) is empty: the next one up serves it
  assert.equal(small.length, 181_000);
  assert.equal(small.buffer, big.buffer);
  assert.equal(poolStats().pooledBytes, 0);
  release(small);
  assert.equal(poolStats().pooledBytes, 212_992 * 4, 'the view went back whole, to its buffer\'s class');
  const far = allocF32(100_000); // more than three classes below: a fresh buffer, the big one stays pooled
  assert.notEqual(far.buffer, big.buffer);
  release(new Float32Array(212_992).subarray(1)); // not one of ours (offset view): ignored
  assert.equal(poolStats().pooledBytes, 212_992 * 4);
  clearPool();
});

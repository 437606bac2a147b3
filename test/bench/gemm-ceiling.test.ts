// `hcx bench gemm --ceiling` plumbing: the child processes start, are released together and report rates.
// Sizes and durations are tiny; no timing is asserted beyond "a positive, finite rate came back".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureCeiling } from '../../src/bench/gemm_ceiling.js';

test('gemm ceiling: alone, paired and peak-beside-GEMM children all report', async () => {
  const c = await measureCeiling(64, 100, 1, 250);
  assert.equal(c.n, 64);
  for (const x of [c.alone_gflops, ...c.pair_gflops, c.two_thread_gflops, c.peak1_alone, c.peak1_beside_gemm]) assert.ok(Number.isFinite(x) && x > 0, String(x));
  assert.ok(c.pair_gflops[0] >= c.pair_gflops[1]);
  assert.ok(Math.abs(c.pair_pct_peak - (c.pair_gflops[0] + c.pair_gflops[1])) < 1e-9); // peak given as 100
  assert.ok(Math.abs(c.two_thread_pct_peak - c.two_thread_gflops) < 1e-9);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sftRatios, type SftBenchRow } from '../../src/bench/sft.js';
import { builtinConversations } from '../../src/bench/sft_data.js';

const row = (system: string, tokens_per_s: number, extra: Partial<SftBenchRow> = {}): SftBenchRow => ({ system, case: 'chat', threads: 2, dtype: 'f32', tokens_per_s, step_s: 1, ...extra });

test('sftRatios compares each system\'s best row and leaves unmeasured sides null', () => {
  const r = sftRatios([
    row('hcx-packed', 3000), row('hcx-packed', 3600, { threads: 1 }), row('hcx-padded', 200), row('trl-packed', 1200), row('trl-padded', NaN, { note: 'failed' }),
    row('hcx-full', 30, { case: 'seed-0.5b', peak_rss_mb: 10000 }), row('hcx-lora', 60, { case: 'seed-0.5b', peak_rss_mb: 4000 }),
  ]);
  assert.equal(r.packed_vs_padded, 18);
  assert.equal(r.hcx_vs_trl, 3);
  assert.equal(r.packed_vs_trl_packed, 3);
  assert.equal(r.padded_vs_trl_padded, null);
  assert.equal(r.lora_vs_full_memory, 0.4);
  assert.equal(r.lora_vs_full_speed, 2);
  assert.equal(sftRatios([]).hcx_vs_trl, null);
});

test('the built-in stand-in bench set is length-skewed: most chats short, one in eight long', () => {
  const convs = builtinConversations();
  assert.equal(convs.length, 2000);
  const turns = convs.map((c) => c.length).sort((a, b) => a - b);
  assert.ok(turns[1000] <= 5, `median ${turns[1000]} turns`);
  assert.ok(turns[1990] >= 14, `p99.5 ${turns[1990]} turns`);
  for (const c of convs) assert.equal(c.filter((m) => m.role === 'system').length <= 1, true);
});

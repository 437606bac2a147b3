// `hcx bench rlhf` at its smallest size with --json: the document's shape, and every measured number finite
// and positive (no timing thresholds: timings belong to the bench itself). The TRL rows join when the venv
// has torch and trl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rlhfRatios, type RlhfRow } from '../../src/bench/rlhf.js';
import { stopSet } from '../../src/bench/rlhf_rollout.js';
import { pythonMissing } from '../helpers/python.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, '../../../bin/hcx.js');

test('stopSet spaces ids below the special tokens to aim at the mean length', () => {
  // 110 ids, 100 below the specials, mean 10: every 9th (round(10 * 100 / 110)), about 110 / 10 ids.
  assert.deepEqual(stopSet(110, 100, 10), [8, 17, 26, 35, 44, 53, 62, 71, 80, 89, 98]);
  assert.equal(stopSet(1000, 1000, 1).length, 1000);
});

test('rlhfRatios: speed-ups and shares from the rows, null where a side is missing', () => {
  const rows: RlhfRow[] = [
    { system: 'hcx-continuous', case: 'rollout', tokens_per_s: 300, seconds: 1 }, { system: 'hcx-static-padded', case: 'rollout', tokens_per_s: 200, seconds: 1.5 },
    { system: 'hcx', case: 'ppo-iteration', seconds: 2, rollout_share: 0.4 }, { system: 'hcx', case: 'ppo-per-prompt', seconds: 0.25 },
    { system: 'hcx', case: 'sft-per-example', seconds: 0.05 }, { system: 'trl-ppo-pieces', case: 'ppo-iteration', seconds: NaN, note: 'failed' },
  ];
  assert.deepEqual(rlhfRatios(rows), { continuous_vs_static: 1.5, rollout_share: 0.4, ppo_prompt_vs_sft_example: 5, hcx_vs_trl_ppo: null, hcx_vs_trl_dpo: null });
});

test('hcx bench rlhf --json at the smallest size: rows name system and case, numbers finite and positive', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hcx-bench-rlhf-'));
  try {
    const withTrl = !pythonMissing(['torch', 'trl', 'transformers']);
    const r = spawnSync(process.execPath, [bin, 'bench', 'rlhf', '--json', '--size', 'tiny', '--threads', '1', '--repeat', '1', '--prompts', '6', '--batch', '3',
      '--max-new', '12', '--mean-len', '4', '--ppo-prompts', '2', '--ppo-new', '6', '--epochs', '1', '--sft-steps', '1', '--dpo-steps', '1', '--systems', withTrl ? 'hcx,trl,dpo' : 'hcx', '--dir', dir],
    { encoding: 'utf8', maxBuffer: 1 << 24 });
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as Record<string, unknown> & { rows: RlhfRow[] };
    const want = ['hcx-continuous/rollout', 'hcx-static-padded/rollout', 'hcx/ppo-iteration', 'hcx/ppo-per-prompt', 'hcx/sft-per-example', ...(withTrl ? ['trl-ppo-pieces/ppo-iteration', 'trl-ppo-pieces/ppo-per-prompt', 'hcx/dpo-step', 'trl-dpo/dpo-step'] : [])];
    assert.deepEqual(doc.rows.map((x) => `${x.system}/${x.case}`), want);
    for (const row of doc.rows) {
      for (const k of ['seconds', 'tokens_per_s', 'rollout_s', 'score_s', 'train_s', 'rollout_share'] as const) {
        if (row[k] === undefined) continue;
        assert.ok(Number.isFinite(row[k]) && (row[k] as number) > 0, `${row.system} ${row.case}: ${k} = ${row[k]}`);
      }
      if (row.case === 'rollout') assert.ok(row.tokens_per_s !== undefined && (row.mean_response as number) >= 1 && (row.max_response as number) <= 12, JSON.stringify(row));
    }
    const iter = doc.rows.find((x) => x.system === 'hcx' && x.case === 'ppo-iteration')!;
    assert.ok(iter.rollout_share! < 1, `rollout share ${iter.rollout_share}`);
    for (const k of ['continuous_vs_static', 'rollout_share', 'ppo_prompt_vs_sft_example', ...(withTrl ? ['hcx_vs_trl_ppo', 'hcx_vs_trl_dpo'] : [])]) {
      assert.ok(typeof doc[k] === 'number' && Number.isFinite(doc[k]) && (doc[k] as number) > 0, `${k} = ${doc[k]}`);
    }
    assert.equal((doc.model as { size: string }).size, 'tiny');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hcx bench rlhf refuses unknown flags and systems', () => {
  for (const args of [['--nope'], ['--systems', 'hcx,vllm']]) {
    const r = spawnSync(process.execPath, [bin, 'bench', 'rlhf', ...args], { encoding: 'utf8' });
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, /nope|vllm/);
  }
});

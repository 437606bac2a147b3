// PPO and GRPO arithmetic against TRL's code on fixed tensors (fp32, 1e-5): the k1/k3 non-score rewards,
// GAE advantages and returns, whitening over valid tokens, the clipped policy and value losses with their
// clip fractions and gradients, GRPO's group advantages and its token-normalised loss with the k3 term.
// Six responses of lengths 7, 3, 5, 1, 6, 2 padded to 7: padding enters neither side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { backward, fromData, Rng } from '../../src/tensor/index.js';
import { gae, groupAdvantages, grpoLoss, policyLoss, tokenKl, tokenRewards, valueLoss, whiten } from '../../src/train/ppo_losses.js';
import { pythonMissing, runPython } from '../helpers/python.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const script = path.resolve(here, '../../../test/train/py/trl_ppo.py');

const lengths = [7, 3, 5, 1, 6, 2];
const B = lengths.length, T = 7;

/** A [B][T] matrix: `f` on valid positions, 0 on padding. */
function matrix(f: () => number): number[][] {
  return lengths.map((L) => Array.from({ length: T }, (_, t) => (t < L ? Math.fround(f()) : 0)));
}
const rows = (m: number[][]): Float32Array[] => m.map((r, b) => Float32Array.from(r.slice(0, lengths[b])));
const flat = (m: number[][]): Float32Array => Float32Array.from(m.flat());
const mask = Float32Array.from(lengths.flatMap((L) => Array.from({ length: T }, (_, t) => +(t < L))));

function close(a: ArrayLike<number>, b: ArrayLike<number>, what: string, tol = 1e-5): void {
  assert.equal(a.length, b.length, `${what}: lengths`);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol * Math.max(1, Math.abs(b[i])), `${what}[${i}]: hcx ${a[i]}, TRL ${b[i]}`);
}

test('PPO rewards, GAE, whitening, policy and value losses, and GRPO advantages and loss equal TRL\'s (1e-5, fp32)', { skip: pythonMissing(['torch', 'trl']) }, () => {
  const rng = new Rng(7);
  const u = (lo: number, hi: number) => () => lo + (hi - lo) * rng.next();
  const d = {
    lengths, kl_coef: 0.04, gamma: 1, lam: 0.95, cliprange: 0.2, cliprange_value: 0.2, grpo_G: 3, grpo_beta: 0.04,
    logprobs: matrix(u(-4, -0.1)), ref_logprobs: matrix(u(-4, -0.1)), rewards: matrix(u(-1, 1)), values: matrix(u(-1, 1)),
    mb_advantage: matrix(u(-2, 2)), mb_logprobs: matrix(u(-3, -0.2)), mb_return: matrix(u(-1, 1)), mb_values: matrix(u(-1, 1)),
    new_logprobs: [] as number[][], vpred: [] as number[][], grpo_rewards: Array.from({ length: B }, u(0, 1)).map(Math.fround),
  };
  // New log-probs and values near the old ones, some beyond the clip range.
  d.new_logprobs = d.mb_logprobs.map((r, b) => r.map((x, t) => (t < lengths[b] ? Math.fround(x + (rng.next() - 0.5) * 0.6) : 0)));
  d.vpred = d.mb_values.map((r, b) => r.map((x, t) => (t < lengths[b] ? Math.fround(x + (rng.next() - 0.5) * 0.8) : 0)));
  const dir = mkdtempSync(path.join(tmpdir(), 'hcx-ppo-trl-'));
  try {
    writeFileSync(path.join(dir, 'in.json'), JSON.stringify(d));
    runPython([script, path.join(dir, 'in.json'), path.join(dir, 'out.json')]);
    const trl = JSON.parse(readFileSync(path.join(dir, 'out.json'), 'utf8')) as Record<string, number[][] & number>;
    const lp = rows(d.logprobs), ref = rows(d.ref_logprobs);
    for (const est of ['k1', 'k3'] as const) {
      const ours = lp.map((x, b) => tokenRewards(tokenKl(x, ref[b], est), 0, d.kl_coef));
      ours.forEach((r, b) => close(r, trl[`non_score_reward_${est}`][b].slice(0, lengths[b]), `${est} reward, response ${b}`));
    }
    const g = rows(d.rewards).map((r, b) => gae(r, rows(d.values)[b], d.gamma, d.lam));
    g.forEach((x, b) => {
      close(x.advantages, trl.raw_advantages[b].slice(0, lengths[b]), `GAE advantages, response ${b}`);
      close(x.returns, trl.returns[b].slice(0, lengths[b]), `returns, response ${b}`);
    });
    whiten(g.map((x) => x.advantages)).forEach((a, b) => close(a, trl.advantages[b].slice(0, lengths[b]), `whitened advantages, response ${b}`));

    const newLp = fromData(flat(d.new_logprobs), [B * T], true), vpred = fromData(flat(d.vpred), [B * T], true);
    const pg = policyLoss(newLp, flat(d.mb_logprobs), flat(d.mb_advantage), mask, { clip: d.cliprange, logRatioClamp: 20 });
    const vf = valueLoss(vpred, flat(d.mb_values), flat(d.mb_return), mask, d.cliprange_value);
    close([pg.loss.item(), vf.loss.item(), pg.clipfrac, vf.clipfrac], [trl.pg_loss, trl.vf_loss, trl.pg_clipfrac, trl.vf_clipfrac], 'pg_loss, vf_loss, clipfracs');
    assert.ok(pg.clipfrac > 0 && pg.clipfrac < 1 && vf.clipfrac > 0, `the fixture clips some tokens: ${pg.clipfrac}, ${vf.clipfrac}`);
    backward(pg.loss);
    backward(vf.loss);
    close(newLp.grad!.data, trl.pg_grad.flat(), 'policy loss gradient');
    close(vpred.grad!.data, trl.vf_grad.flat(), 'value loss gradient');

    const adv = groupAdvantages(d.grpo_rewards, d.grpo_G);
    close(adv, trl.grpo_advantages as unknown as number[], 'GRPO advantages');
    const perToken = Float32Array.from(lengths.flatMap((_, b) => Array.from({ length: T }, () => adv[b])));
    const newLp2 = fromData(flat(d.new_logprobs), [B * T], true);
    const gl = grpoLoss(newLp2, flat(d.mb_logprobs), flat(d.ref_logprobs), perToken, mask, { clip: d.cliprange, logRatioClamp: 20, beta: d.grpo_beta });
    close([gl.loss.item()], [trl.grpo_loss], 'GRPO loss');
    backward(gl.loss);
    close(newLp2.grad!.data, trl.grpo_grad.flat(), 'GRPO loss gradient');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

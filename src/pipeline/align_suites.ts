// Evaluation suites for the alignment stages' checkpoints, run by eval workers like the others:
//   - `pairs` (reward-model checkpoints): held-out pair accuracy, margin and Bradley-Terry loss on the
//     pairs the rm run held out, rebuilt from its recorded config (same files, seqLen, split seed);
//   - `ppo` (PPO policy checkpoints): greedy replies to the prompts the PPO run held out, scored by its
//     reward model with its normalisation: mean reward, response length, turn-end share, repeated 4-grams.
// Both read the run folder's config.json, so they evaluate what the run itself never trained on.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { SuiteContext, SuiteResult } from './eval_suites.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function runConfig(ctx: SuiteContext, suite: string): Record<string, unknown> {
  const f = path.join(ctx.runDir, 'config.json');
  if (!existsSync(f)) throw new Error(`suite ${suite}: ${f} is missing (the suite evaluates checkpoints of an hcx ${suite === 'pairs' ? 'rm' : 'ppo'} run)`);
  return JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>;
}

/** The run's tokenizer (hcx's, or the imported model's it saved: train/run_tokenizer.ts) and its training template. */
const runTokenizer = async (ctx: SuiteContext) => {
  const { openTokenizer } = await import('../tokenizer/index.js');
  const { runTokenizerPath } = await import('../train/run_tokenizer.js');
  const { padId, trainingTemplate } = await import('../data/chat/template.js');
  const file = runTokenizerPath(ctx.runDir);
  const tok = openTokenizer(file);
  return { tok, file, template: trainingTemplate(tok), pad: padId(tok) };
};

export async function pairs(ckDir: string, ctx: SuiteContext): Promise<SuiteResult> {
  const cfg = runConfig(ctx, 'pairs') as unknown as import('../train/pref_config.js').RmConfig;
  const { openScoreModel } = await import('../model/score_head.js');
  const { loadPreferenceData } = await import('../data/prefs/dataset.js');
  const { evaluatePairs } = await import('../train/reward.js');
  const { template, pad } = await runTokenizer(ctx);
  const sm = openScoreModel(ckDir);
  const data = await loadPreferenceData({ files: cfg.data, format: cfg.format, template, seqLen: cfg.seqLen, heldout: cfg.heldout, seed: cfg.seed, onBadLine: 'skip', limit: cfg.limit });
  if (!data.heldout.length) throw new Error(`suite pairs: the rm run ${ctx.runDir} holds out no pairs (heldout 0)`);
  // In chunks, so the worker's lease heartbeats run in between.
  const B = cfg.batchSize, chunk = 4 * B;
  let loss = 0, right = 0, margin = 0;
  for (let k = 0; k < data.heldout.length; k += chunk) {
    ctx.alive?.();
    const part = data.heldout.slice(k, k + chunk);
    const e = evaluatePairs(sm, part, B, pad, cfg.margin);
    loss += e.loss * e.pairs; right += e.accuracy * e.pairs; margin += e.margin * e.pairs;
    await tick();
  }
  const n = data.heldout.length;
  return { metrics: { accuracy: right / n, margin: margin / n, loss: loss / n, pairs: n } };
}

export async function ppo(ckDir: string, ctx: SuiteContext): Promise<SuiteResult> {
  const cfg = runConfig(ctx, 'ppo') as unknown as import('../train/ppo_config.js').PpoConfig;
  const { openModel } = await import('../model/load.js');
  const { openScoreModel } = await import('../model/score_head.js');
  const { loadPrompts, stratifiedSplit } = await import('../train/prompts.js');
  const { rolloutEngine } = await import('../train/rollout.js');
  const { heldoutEval } = await import('../train/ppo_eval.js');
  const { storedRewardStats } = await import('../train/ppo.js');
  const { file, template, pad } = await runTokenizer(ctx);
  const policy = openModel(ckDir, { tokenizer: file }).model;
  const rm = openScoreModel(cfg.reward);
  const rowLen = cfg.rowLen ?? Math.min(policy.config.maxSeqLen, rm.model.config.maxSeqLen);
  const maxPrompt = rowLen - cfg.maxNewTokens;
  // The run's own held-out prompts: its file, or the same stratified split of its prompts.
  const held = cfg.heldoutPrompts
    ? (await loadPrompts(cfg.heldoutPrompts, cfg.format, template, maxPrompt)).items
    : stratifiedSplit((await loadPrompts(cfg.prompts, cfg.format, template, maxPrompt)).items, cfg.heldout, cfg.seed).heldout;
  if (!held.length) throw new Error(`suite ppo: the ppo run ${ctx.runDir} holds out no prompts`);
  // The normalisation the trainer used, as its checkpoint records it (it may have come from the SFT
  // policy's first rollouts), so every checkpoint of the run is scored on one scale.
  const { readCheckpointFile } = await import('../model/checkpoint.js');
  const saved = (JSON.parse(readCheckpointFile(ckDir, 'state.json').toString('utf8')) as { ppo?: { norm?: { mean: number; std: number } | null } }).ppo?.norm;
  const norm = saved ?? cfg.rewardNorm ?? storedRewardStats(path.resolve(cfg.reward));
  const normalise = (s: number) => (norm ? (s - norm.mean) / norm.std : s);
  const engine = rolloutEngine(policy, { maxRunning: cfg.maxRunning, maxTokensPerStep: cfg.maxTokensPerStep });
  const o = { maxTokens: cfg.maxNewTokens, stopTokens: template.stopTokens, rowLen, batchRows: cfg.batchSize, pad, normalise, missingEosPenalty: cfg.missingEosPenalty };
  const sums = { reward: 0, length: 0, eos: 0, rep4: 0 };
  const chunk = 4;
  for (let k = 0; k < held.length; k += chunk) {
    ctx.alive?.();
    const part = held.slice(k, k + chunk);
    const r = await heldoutEval(engine, rm, part.map((p) => p.ids), o);
    sums.reward += r.reward * part.length; sums.length += r.length * part.length; sums.eos += r.eosFraction * part.length; sums.rep4 += r.rep4 * part.length;
    await tick();
  }
  const n = held.length;
  return { metrics: { reward: sums.reward / n, response_len: sums.length / n, eos_fraction: sums.eos / n, rep4: sums.rep4 / n, prompts: n, normalised: norm ? 1 : 0 } };
}

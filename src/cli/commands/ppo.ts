import { defineCommand } from '../args.js';

export const command = defineCommand({
  summary: 'PPO against a reward model (KL 0.04 to the SFT reference, unlikelihood, early stopping, engine rollouts)',
  options: {
    policy: { type: 'string', placeholder: 'SFT_MODEL', description: 'the SFT model: policy and reference start from it' },
    reward: { type: 'string', placeholder: 'RM_MODEL', description: 'the reward model (hcx rm); the value network starts from it' },
    prompts: { type: 'strings', placeholder: 'FILE', description: 'prompts as chat records (messages/ShareGPT/Alpaca JSONL, Q/A CSV); a trailing assistant turn is dropped' },
    out: { type: 'string', placeholder: 'RUNDIR', description: 'the run folder (checkpoints, metrics.jsonl, plots/, result.json)' },
    config: { type: 'string', placeholder: 'FILE', description: 'settings (JSON, or YAML as .yaml/.yml); the flags above override it' },
    quiet: { type: 'boolean', description: 'no progress lines' },
  },
  positionals: { name: 'FILE', description: 'more prompt files', usage: '[FILE ...]' },
  notes: 'config fields: policy, reward, prompts, heldoutPrompts, heldout, runDir, tokenizer, format, klCoef (0.04), klEstimator (k1|k3),\n' +
    'gamma (1), lambda (0.95), clipRange (0.2), clipRangeValue (0.2), vfCoef, logRatioClamp, missingEosPenalty, rewardNorm { mean, std },\n' +
    'unlikelihood (alpha), unlikelihoodN (4), targetKl, maxRatio (10), patience, maxLengthGrowth (%), heldoutEval (inline|pipeline), heldoutWaitS, promptsPerIteration, samplesPerPrompt,\n' +
    'maxNewTokens, temperature, rowLen, miniBatchSize, epochs, iterations, maxRunning, maxTokensPerStep, batchSize, lr, minLr,\n' +
    'warmupSteps, weightDecay, beta1, beta2, clip, seed, evalEvery, logEvery. See docs/training.md.',
  async run(o, more) {
    const { resolvePpoConfig } = await import('../../train/ppo_config.js');
    const { run } = await import('../../train/ppo.js');
    if (more.length && !o.prompts.length) throw new Error(`hcx ppo: ${more[0]}: prompt files go after --prompts`);
    const cfg = resolvePpoConfig({ policy: o.policy, reward: o.reward, prompts: [...o.prompts, ...more], out: o.out, config: o.config });
    const r = await run(cfg, { quiet: o.quiet });
    const last = r.metrics[r.metrics.length - 1];
    console.log(JSON.stringify({ runDir: r.runDir, checkpoint: r.finalCheckpoint, best: r.best, stop: r.stopReason, iterations: r.metrics.length, reward: last?.reward, kl: last?.kl }));
  },
});

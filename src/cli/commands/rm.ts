import { defineCommand } from '../args.js';

export const command = defineCommand({
  summary: 'train a reward model: the SFT model plus a score head, Bradley-Terry loss on preference pairs (--resume)',
  options: {
    from: { type: 'string', placeholder: 'SFT_MODEL', description: 'the SFT model: an hcx run or checkpoint, a Hugging Face model folder or a .gguf file' },
    data: { type: 'strings', placeholder: 'PAIRS', description: 'preference pairs (chosen/rejected, HH-RLHF or messages-style JSONL, .gz too); repeat or list more files after it' },
    out: { type: 'string', placeholder: 'RUNDIR', description: 'the run folder (checkpoints, metrics.jsonl, heldout.json, loss.svg)' },
    config: { type: 'string', placeholder: 'FILE', description: 'settings (JSON, or YAML as .yaml/.yml); the flags above override it' },
    resume: { type: 'boolean', description: 'continue from the run folder\'s latest checkpoint' },
    quiet: { type: 'boolean', description: 'no progress or summary lines' },
  },
  positionals: { name: 'PAIRS', description: 'more pair files', usage: '[PAIRS ...]' },
  notes: 'config fields: from, data, runDir, tokenizer, format (auto|pairs|hh|messages), seqLen, heldout, epochs, steps, limit,\n' +
    'onBadLine (skip|fatal), margin, normSamples, normMaxNewTokens, normTemperature, and the shared training settings\n' +
    'batchSize (pairs), gradAccum, lr, minLr, warmupSteps, weightDecay, beta1, beta2, clip, computeDtype, evalEvery, evalBatches,\n' +
    'saveEvery, keepCheckpoints, seed, logEvery. The checkpoint opens with openScoreModel; reward_stats.json holds the\n' +
    'mean/std of its rewards on the SFT policy\'s replies (PPO normalises by them).',
  async run(o, more) {
    const { resolvePrefConfig } = await import('../../train/pref_config.js');
    const { rm } = await import('../../train/reward.js');
    if (more.length && !o.data.length) throw new Error(`hcx rm: ${more[0]}: pair files go after --data`);
    const cfg = resolvePrefConfig<import('../../train/pref_config.js').RmConfig>('rm', { from: o.from, data: [...o.data, ...more], out: o.out, config: o.config });
    const r = await rm(cfg, { resume: o.resume, quiet: o.quiet });
    const last = r.metrics[r.metrics.length - 1];
    console.log(JSON.stringify({ runDir: r.runDir, checkpoint: r.finalCheckpoint, step: last?.step, loss: last?.loss, heldout_accuracy: r.heldout.accuracy, heldout_margin: r.heldout.margin, heldout_pairs: r.heldout.pairs, reward_mean: r.rewardStats?.mean, reward_std: r.rewardStats?.std }));
  },
});

import type { Command } from '../main.js';
import { parseArgs, flagBool, flagString } from '../args.js';

export const command: Command = {
  summary: 'pretrain a model on built shards (two-phase context curriculum, checkpoints, --resume)',
  usage: 'hcx pretrain --config FILE [--resume] [--quiet]\n\nconfig fields: runDir, data, model (preset or object), tokenizer, batchSize, gradAccum, steps, lr, minLr,\nwarmupSteps, weightDecay, beta1, beta2, clip, longShare, longRopeBase, evalEvery, evalBatches, heldoutRecords,\nsaveEvery, keepCheckpoints, seed, logEvery, computeDtype (f32|bf16). FILE is JSON or YAML (.yaml/.yml).',
  async run(argv) {
    const p = parseArgs(argv);
    const file = flagString(p, 'config');
    if (!file) throw new Error('hcx pretrain: --config FILE is required');
    const { loadPretrainConfig, pretrain } = await import('../../train/pretrain.js');
    const { cfg, baseDir } = loadPretrainConfig(file);
    const r = await pretrain(cfg, { resume: flagBool(p, 'resume'), quiet: flagBool(p, 'quiet'), baseDir });
    const last = r.metrics[r.metrics.length - 1];
    console.log(JSON.stringify({ runDir: r.runDir, checkpoint: r.finalCheckpoint, step: last?.step, loss: last?.loss, eval_loss: last?.eval_loss }));
  },
};

import { defineCommand } from '../args.js';

export const command = defineCommand({
  summary: 'pretrain a model on built shards (two-phase context curriculum, checkpoints, --resume)',
  options: {
    config: { type: 'string', placeholder: 'FILE', required: true, description: 'the run config (JSON, or YAML as .yaml/.yml)' },
    resume: { type: 'boolean', description: 'continue from the run folder\'s latest checkpoint' },
    quiet: { type: 'boolean', description: 'no per-step log lines' },
  },
  notes: 'config fields: runDir, data, model (preset or object), tokenizer, batchSize, gradAccum, steps, lr, minLr,\n' +
    'warmupSteps, weightDecay, beta1, beta2, clip, longShare, longRopeBase, evalEvery, evalBatches, heldoutRecords,\n' +
    'saveEvery, keepCheckpoints, seed, logEvery, computeDtype (f32|bf16)',
  async run(o) {
    const { loadPretrainConfig, pretrain } = await import('../../train/pretrain.js');
    const { cfg, baseDir } = loadPretrainConfig(o.config);
    const r = await pretrain(cfg, { resume: o.resume, quiet: o.quiet, baseDir });
    const last = r.metrics[r.metrics.length - 1];
    console.log(JSON.stringify({ runDir: r.runDir, checkpoint: r.finalCheckpoint, step: last?.step, loss: last?.loss, eval_loss: last?.eval_loss }));
  },
});

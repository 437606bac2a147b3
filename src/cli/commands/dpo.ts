import { defineCommand } from '../args.js';

export const command = defineCommand({
  summary: 'direct preference optimisation: the SFT model trained on preference pairs with the sigmoid DPO loss (--resume)',
  options: {
    from: { type: 'string', placeholder: 'SFT_MODEL', description: 'the SFT model: an hcx run or checkpoint, a Hugging Face model folder or a .gguf file (also the reference unless "ref" is set)' },
    data: { type: 'strings', placeholder: 'PAIRS', description: 'preference pairs (chosen/rejected, HH-RLHF or messages-style JSONL, .gz too); repeat or list more files after it' },
    out: { type: 'string', placeholder: 'RUNDIR', description: 'the run folder (checkpoints, reference/ log-probs, metrics.jsonl, heldout.json, loss.svg, rewards.svg)' },
    config: { type: 'string', placeholder: 'FILE', description: 'settings (JSON, or YAML as .yaml/.yml); the flags above override it' },
    resume: { type: 'boolean', description: 'continue from the run folder\'s latest checkpoint (the stored reference log-probs are reused)' },
    quiet: { type: 'boolean', description: 'no progress or summary lines' },
  },
  positionals: { name: 'PAIRS', description: 'more pair files', usage: '[PAIRS ...]' },
  notes: 'config fields: from, data, runDir, tokenizer, format (auto|pairs|hh|messages), seqLen, heldout, epochs, steps, limit,\n' +
    'onBadLine (skip|fatal), beta (0.1), ref (the reference model; default --from), reference (precomputed|live),\n' +
    'referenceCache (default RUNDIR/reference), lora { rank, alpha, dropout, targets }, and the shared training settings\n' +
    'batchSize (pairs), gradAccum, lr, minLr, warmupSteps, weightDecay, beta1, beta2, clip, computeDtype, evalEvery, evalBatches,\n' +
    'saveEvery, keepCheckpoints, seed, logEvery. Reference log-probs are computed once and stored under the reference\'s\n' +
    'weights hash; a resumed run reuses them, another reference recomputes.',
  async run(o, more) {
    const { resolvePrefConfig } = await import('../../train/pref_config.js');
    const { dpo } = await import('../../train/dpo.js');
    if (more.length && !o.data.length) throw new Error(`hcx dpo: ${more[0]}: pair files go after --data`);
    const cfg = resolvePrefConfig<import('../../train/pref_config.js').DpoConfig>('dpo', { from: o.from, data: [...o.data, ...more], out: o.out, config: o.config });
    const r = await dpo(cfg, { resume: o.resume, quiet: o.quiet });
    const last = r.metrics[r.metrics.length - 1];
    console.log(JSON.stringify({ runDir: r.runDir, checkpoint: r.finalCheckpoint, step: last?.step, loss: last?.loss, 'rewards/accuracies': last?.['rewards/accuracies'], 'rewards/margins': last?.['rewards/margins'], heldout_accuracy: r.heldout.accuracy, heldout_margin: r.heldout.margin, heldout_pairs: r.heldout.pairs, reference: r.reference }));
  },
});

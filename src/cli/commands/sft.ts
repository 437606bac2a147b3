import { defineCommand } from '../args.js';

export const command = defineCommand({
  summary: 'supervised fine-tuning on chat data (assistant-only loss, packed rows, LoRA, --resume)',
  options: {
    from: { type: 'string', placeholder: 'MODEL', description: 'the model to fine-tune: an hcx run or checkpoint, a Hugging Face model folder or a .gguf file' },
    data: { type: 'strings', placeholder: 'FILE', description: 'chat data (messages/ShareGPT/Alpaca JSONL, Q/A CSV); repeat the flag or list more files after it' },
    out: { type: 'string', placeholder: 'RUNDIR', description: 'the run folder (checkpoints, metrics.jsonl, loss.svg)' },
    config: { type: 'string', placeholder: 'FILE', description: 'settings (JSON, or YAML as .yaml/.yml); the flags above override it' },
    resume: { type: 'boolean', description: 'continue from the run folder\'s latest checkpoint' },
    quiet: { type: 'boolean', description: 'no progress or summary lines' },
  },
  positionals: { name: 'FILE', description: 'more data files', usage: '[FILE ...]' },
  notes: 'config fields: from, data, runDir, tokenizer, format (auto|messages|sharegpt|alpaca|qa-csv), columns, system,\n' +
    'template (auto|hcx|model; auto: the model\'s own for an imported model), seqLen, packing (bfd|none), truncation (cut|drop), epochs, steps, heldout, onBadLine (skip|fatal),\n' +
    'lora { rank, alpha, dropout, targets }, and the shared training settings batchSize, gradAccum, lr, minLr, warmupSteps,\n' +
    'weightDecay, beta1, beta2, clip, computeDtype (f32|bf16), evalEvery, evalBatches, saveEvery, keepCheckpoints, seed,\n' +
    'logEvery; those not given are inherited from the source checkpoint\'s training config (printed), else defaulted.',
  async run(o, more) {
    const { resolveSftConfig } = await import('../../train/sft_config.js');
    const { sft } = await import('../../train/sft.js');
    const data = [...o.data, ...more];
    if (more.length && !o.data.length) throw new Error(`hcx sft: ${more[0]}: data files go after --data`);
    const { cfg, provenance, inheritedFrom } = resolveSftConfig({ from: o.from, data, out: o.out, config: o.config });
    if (!o.quiet) {
      const inh = Object.entries(provenance).filter(([, v]) => v === 'inherited').map(([k]) => `${k}=${JSON.stringify((cfg as unknown as Record<string, unknown>)[k])}`);
      const def = Object.entries(provenance).filter(([, v]) => v === 'default').map(([k]) => `${k}=${JSON.stringify((cfg as unknown as Record<string, unknown>)[k])}`);
      if (inh.length) process.stderr.write(`inherited from ${inheritedFrom}: ${inh.join(' ')}\n`);
      if (def.length) process.stderr.write(`defaults: ${def.join(' ')}\n`);
    }
    const r = await sft(cfg, { resume: o.resume, quiet: o.quiet });
    const last = r.metrics[r.metrics.length - 1];
    console.log(JSON.stringify({ runDir: r.runDir, checkpoint: r.finalCheckpoint, step: last?.step, loss: last?.loss, eval_loss: last?.eval_loss }));
  },
});

import { defineCommand } from '../args.js';

export const command = defineCommand({
  summary: 'the main job: tokenizer, data, pretraining and generation on the embedded corpus',
  options: {
    out: { type: 'string', placeholder: 'DIR', default: 'runs/demo', description: 'run folder' },
    steps: { type: 'number', integer: true, min: 1, default: 600, description: 'pretraining steps' },
    vocab: { type: 'number', integer: true, min: 1, default: 4096, description: 'tokenizer vocabulary size' },
    fresh: { type: 'boolean', description: 'start over instead of resuming the run in --out' },
  },
  async run(o) {
    const { runDemo } = await import('../../demo.js');
    await runDemo({ out: o.out, steps: o.steps, vocabSize: o.vocab, fresh: o.fresh });
  },
});

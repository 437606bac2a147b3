import { defineCommand } from '../args.js';

export const command = defineCommand({
  summary: 'the main job as a pipeline: tokenizer, data, pretraining, SFT, reward model, PPO; each checkpoint evaluated on a worker',
  options: {
    out: { type: 'string', placeholder: 'DIR', default: 'runs/demo', description: 'run folder: the SFT\'d chat model, with the pipeline in DIR/pipeline' },
    steps: { type: 'number', integer: true, min: 1, default: 600, description: 'pretraining steps' },
    'sft-steps': { type: 'number', integer: true, min: 1, default: 150, description: 'SFT steps on the built-in chat data' },
    'ppo-iterations': { type: 'number', integer: true, min: 1, default: 4, description: 'PPO iterations (they start once the reward model\'s held-out pair accuracy is >= 0.6)' },
    vocab: { type: 'number', integer: true, min: 300, default: 4096, description: 'tokenizer vocabulary size' },
    fresh: { type: 'boolean', description: 'start over instead of reusing the finished stages in --out' },
  },
  notes: 'A rerun with the same settings does nothing (stage keys); changed settings rerun the stages they reach.',
  async run(o) {
    const { runDemo } = await import('../../demo.js');
    await runDemo({ out: o.out, steps: o.steps, sftSteps: o.sftSteps, ppoIterations: o.ppoIterations, vocabSize: o.vocab, fresh: o.fresh });
  },
});

import type { Command } from '../main.js';
import { parseArgs, flagBool, flagNumber, flagString } from '../args.js';

export const command: Command = {
  summary: 'the main job: tokenizer, data, pretraining and generation on the embedded corpus',
  usage: 'hcx demo [--out runs/demo] [--steps 600] [--vocab 4096] [--fresh]',
  async run(argv) {
    const p = parseArgs(argv);
    const { runDemo } = await import('../../demo.js');
    await runDemo({ out: flagString(p, 'out'), steps: flagNumber(p, 'steps', 600), vocabSize: flagNumber(p, 'vocab', 4096), fresh: flagBool(p, 'fresh') });
  },
};

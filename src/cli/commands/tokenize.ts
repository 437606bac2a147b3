import type { Command } from '../main.js';
import { flagBool, flagString, parseArgs } from '../args.js';
import { Tokenizer } from '../../tokenizer/index.js';

export const command: Command = {
  summary: 'tokenize standard input: print the ids, or only how many',
  usage: 'hcx tokenize --tokenizer FILE [--count] [--allow-special] < text',
  async run(argv) {
    const a = parseArgs(argv);
    const file = flagString(a, 'tokenizer');
    if (!file) throw new Error('hcx tokenize: needs --tokenizer FILE');
    const tok = Tokenizer.load(file);
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    const ids = tok.encode(Buffer.concat(chunks).toString('utf8'), { allowSpecial: flagBool(a, 'allow-special') });
    console.log(flagBool(a, 'count') ? String(ids.length) : ids.join(' '));
  },
};

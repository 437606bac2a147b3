import { defineCommand } from '../args.js';
import { Tokenizer } from '../../tokenizer/index.js';

export const command = defineCommand({
  summary: 'tokenize standard input: print the ids, or only how many',
  options: {
    tokenizer: { type: 'string', placeholder: 'FILE', required: true, description: 'an hcx tokenizer.json' },
    count: { type: 'boolean', description: 'print only the number of tokens' },
    'allow-special': { type: 'boolean', description: 'encode special-token text (<|endoftext|> ...) as the special tokens' },
  },
  notes: 'reads the text from standard input: hcx tokenize --tokenizer FILE < text',
  async run(o) {
    const tok = Tokenizer.load(o.tokenizer);
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    const ids = tok.encode(Buffer.concat(chunks).toString('utf8'), { allowSpecial: o.allowSpecial });
    console.log(o.count ? String(ids.length) : ids.join(' '));
  },
});

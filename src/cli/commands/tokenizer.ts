import type { Command } from '../main.js';
import { readFileSync } from 'node:fs';
import { flagNumber, flagString, parseArgs } from '../args.js';
import { exportHf, readTexts, Segmenter, Tokenizer, trainTokenizer, type SplitMode } from '../../tokenizer/index.js';

export const command: Command = {
  summary: 'train a morpheme-aware byte-level BPE tokenizer; export it to Hugging Face tokenizer.json',
  usage: 'hcx tokenizer train --vocab-size N --out FILE [--split model|rules|none] [--segmenter FILE] [--hf DIR] INPUT...\n' +
    '       hcx tokenizer export --tokenizer FILE --out DIR\n' +
    'INPUT: text files, JSONL (field "text") or directories.',
  async run(argv) {
    const [sub, ...rest] = argv;
    const a = parseArgs(rest);
    if (sub === 'train') {
      const out = flagString(a, 'out');
      if (!out || a.positional.length === 0) throw new Error('hcx tokenizer train: needs --out FILE and at least one INPUT');
      const seg = flagString(a, 'segmenter');
      const t0 = performance.now();
      const tty = process.stderr.isTTY;
      const tok = await trainTokenizer({
        texts: readTexts(a.positional),
        vocabSize: flagNumber(a, 'vocab-size', 32000),
        split: flagString(a, 'split') as SplitMode | undefined,
        segmenter: seg ? Segmenter.fromBytes(readFileSync(seg)) : undefined,
        onProgress: (p) => {
          const line = p.phase === 'count' ? `counting: ${(p.bytes! / 1e6).toFixed(0)} M chars, ${p.chunks} distinct chunks` : `merges: ${p.merges}/${p.target}`;
          if (tty) process.stderr.write(`\r${line}   `); else console.error(JSON.stringify(p));
        },
      });
      if (tty) process.stderr.write('\n');
      tok.save(out);
      const hf = flagString(a, 'hf');
      if (hf) exportHf(tok, hf);
      const ru = process.resourceUsage();
      console.log(`vocabulary ${tok.vocabSize} (split ${tok.split}) in ${((performance.now() - t0) / 1000).toFixed(1)} s ` +
        `(CPU ${((ru.userCPUTime + ru.systemCPUTime) / 1e6).toFixed(1)} s, peak RSS ${(ru.maxRSS / 1024).toFixed(0)} MiB) -> ${out}${hf ? ` and ${hf}/tokenizer.json` : ''}`);
      return;
    }
    if (sub === 'export') {
      const file = flagString(a, 'tokenizer'), out = flagString(a, 'out');
      if (!file || !out) throw new Error('hcx tokenizer export: needs --tokenizer FILE --out DIR');
      const tok = Tokenizer.load(file);
      exportHf(tok, out);
      console.log(`${out}/tokenizer.json, ${out}/tokenizer_config.json` +
        (tok.split === 'model' ? ' (morpheme splitting written as the rule regex: Korean ids may differ, see README)' : ''));
      return;
    }
    throw new Error('hcx tokenizer: train or export (hcx tokenizer --help)');
  },
};

import type { Command } from '../main.js';
import { readFileSync } from 'node:fs';
import { flagNumber, flagString, parseArgs } from '../args.js';
import { exportHf, exportWarning, readTexts, Segmenter, SPLIT_MODES, Tokenizer, trainTokenizer, type SplitMode } from '../../tokenizer/index.js';

export const command: Command = {
  summary: 'train a morpheme-aware byte-level BPE tokenizer; export it to Hugging Face tokenizer.json',
  usage: 'hcx tokenizer train --vocab-size N --out FILE [--split guided|model|rules|none] [--segmenter FILE] [--hf DIR] INPUT...\n' +
    '       hcx tokenizer export --tokenizer FILE --out DIR\n' +
    'INPUT: text files, JSONL (field "text") or directories.\n' +
    '--split guided (default): encodes with Llama 3\'s pre-tokenizer, so tokenizer.json and GGUF exports give the same\n' +
    '  ids; merges are learned within morphemes (the segmenter, --segmenter FILE or the shipped model, cuts training text).\n' +
    '--split model: the segmenter also cuts Hangul words when encoding; exports then tokenize some Korean differently.',
  async run(argv) {
    const [sub, ...rest] = argv;
    const a = parseArgs(rest);
    if (sub === 'train') {
      const out = flagString(a, 'out');
      if (!out || a.positional.length === 0) throw new Error('hcx tokenizer train: needs --out FILE and at least one INPUT');
      const seg = flagString(a, 'segmenter');
      const split = flagString(a, 'split') as SplitMode | undefined;
      if (split !== undefined && !SPLIT_MODES.includes(split)) throw new Error(`hcx tokenizer train: --split must be one of ${SPLIT_MODES.join(', ')}, got "${split}"`);
      const t0 = performance.now();
      const tty = process.stderr.isTTY;
      const tok = await trainTokenizer({
        texts: readTexts(a.positional),
        vocabSize: flagNumber(a, 'vocab-size', 32000),
        split,
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
      else { const w = exportWarning(tok.split, 'hf') ?? exportWarning(tok.split, 'gguf'); if (w) console.error(w); }
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
      console.log(`${out}/tokenizer.json, ${out}/tokenizer_config.json (split ${tok.split})`);
      return;
    }
    throw new Error('hcx tokenizer: train or export (hcx tokenizer --help)');
  },
};

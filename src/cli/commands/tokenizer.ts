import { readFileSync } from 'node:fs';
import { defineCommand, defineGroup } from '../args.js';
import { exportHf, exportWarning, readTexts, Segmenter, SPLIT_MODES, Tokenizer, trainTokenizer } from '../../tokenizer/index.js';

const train = defineCommand({
  summary: 'train a morpheme-aware byte-level BPE tokenizer on text files, JSONL (field "text") or folders',
  options: {
    'vocab-size': { type: 'number', integer: true, min: 1, default: 32000, description: 'vocabulary size' },
    out: { type: 'string', placeholder: 'FILE', required: true, description: 'the tokenizer file to write (hcx format)' },
    split: {
      type: 'string', choices: SPLIT_MODES, default: 'guided',
      description: "guided: encode with Llama 3's pre-tokenizer, so tokenizer.json and GGUF exports give hcx's ids exactly; merges are learned " +
        'within morphemes (the segmenter cuts training text). model: the segmenter also cuts Hangul words when encoding (fewer Korean ' +
        'tokens, but exports tokenize some Korean differently). rules, none: see README',
    },
    segmenter: { type: 'string', placeholder: 'FILE', description: 'the morpheme segmenter model (.hseg)' },
    hf: { type: 'string', placeholder: 'DIR', description: 'also write the Hugging Face tokenizer.json here' },
  },
  positionals: { name: 'INPUT', min: 1, description: 'text files, JSONL (field "text") or folders' },
  async run(o, inputs) {
    const t0 = performance.now();
    const tty = process.stderr.isTTY;
    const tok = await trainTokenizer({
      texts: readTexts(inputs),
      vocabSize: o.vocabSize,
      split: o.split,
      segmenter: o.segmenter ? Segmenter.fromBytes(readFileSync(o.segmenter)) : undefined,
      onProgress: (p) => {
        const line = p.phase === 'count' ? `counting: ${(p.bytes! / 1e6).toFixed(0)} M chars, ${p.chunks} distinct chunks` : `merges: ${p.merges}/${p.target}`;
        if (tty) process.stderr.write(`\r${line}   `); else console.error(JSON.stringify(p));
      },
    });
    if (tty) process.stderr.write('\n');
    tok.save(o.out);
    if (o.hf) exportHf(tok, o.hf);
    else { const w = exportWarning(tok.split, 'hf') ?? exportWarning(tok.split, 'gguf'); if (w) console.error(w); }
    const ru = process.resourceUsage();
    console.log(`vocabulary ${tok.vocabSize} (split ${tok.split}) in ${((performance.now() - t0) / 1000).toFixed(1)} s ` +
      `(CPU ${((ru.userCPUTime + ru.systemCPUTime) / 1e6).toFixed(1)} s, peak RSS ${(ru.maxRSS / 1024).toFixed(0)} MiB) -> ${o.out}${o.hf ? ` and ${o.hf}/tokenizer.json` : ''}`);
  },
});

const exportCmd = defineCommand({
  summary: 'export a tokenizer to Hugging Face tokenizer.json + tokenizer_config.json',
  options: {
    tokenizer: { type: 'string', placeholder: 'FILE', required: true, description: 'an hcx tokenizer file' },
    out: { type: 'string', placeholder: 'DIR', required: true, description: 'the output folder' },
  },
  async run(o) {
    const tok = Tokenizer.load(o.tokenizer);
    exportHf(tok, o.out);
    console.log(`${o.out}/tokenizer.json, ${o.out}/tokenizer_config.json (split ${tok.split})`);
  },
});

export const command = defineGroup({
  summary: 'train a morpheme-aware byte-level BPE tokenizer; export it to Hugging Face tokenizer.json',
  subcommands: { train, export: exportCmd },
});

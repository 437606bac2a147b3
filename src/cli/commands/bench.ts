import { defineGroup, type Command } from '../args.js';

const load = (p: Promise<{ command: Command }>) => p.then((m) => m.command);

// suite name -> lazy loader; each suite module exports its command (own option table) and prints a table
// or, with --json, one JSON document.
export const command = defineGroup({
  summary: 'benchmarks with their peers side by side (gemm, attention, ...)',
  subcommands: {
    gemm: () => load(import('../../bench/gemm.js')),
    data: () => load(import('../../bench/data.js')),
    eval: () => load(import('../../bench/eval.js')),
    tokenizer: () => load(import('../../bench/tokenizer.js')),
    'tokenizer-import': () => load(import('../../bench/tokenizer_import.js')),
    attention: () => load(import('../../bench/attention.js')),
    serve: () => load(import('../../bench/serve.js')),
    train: () => load(import('../../bench/train.js')),
    sft: () => load(import('../../bench/sft.js')),
    crosslingual: () => load(import('../../bench/crosslingual.js')),
    decode: () => load(import('../../bench/decode.js')),
    load: () => load(import('../../bench/load.js')),
    sandbox: () => load(import('../../bench/sandbox.js')),
    rlhf: () => load(import('../../bench/rlhf.js')),
  },
});

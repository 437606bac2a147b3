import type { Command } from '../main.js';

// suite name -> lazy loader; each suite module exports run(argv) and prints a table or, with --json, one JSON document.
const suites: Record<string, () => Promise<{ run(argv: string[]): Promise<void> }>> = {
  gemm: () => import('../../bench/gemm.js'),
  data: () => import('../../bench/data.js'),
  eval: () => import('../../bench/eval.js'),
  tokenizer: () => import('../../bench/tokenizer.js'),
  'tokenizer-import': () => import('../../bench/tokenizer_import.js'),
  attention: () => import('../../bench/attention.js'),
  serve: () => import('../../bench/serve.js'),
  train: () => import('../../bench/train.js'),
  decode: () => import('../../bench/decode.js'),
};

export const command: Command = {
  summary: 'benchmarks with their peers side by side (gemm, attention, ...)',
  usage: 'hcx bench <suite> [--json] [--threads 1,2] [--repeat N]\nsuites: ' + Object.keys(suites).join(', ') +
    '\ngemm --ceiling: also run two 1-thread GEMM processes at once (what 2 cores allow a 2-thread GEMM)' +
    '\ntokenizer-import [--dir DIR] [--models llama3,qwen3,gemma3] [--mb 1] [--repeat 3] [--no-python]: imported tokenizer.json vs tokenizers.js (and Rust tokenizers)',
  async run(argv) {
    const [suite, ...rest] = argv;
    const load = suite ? suites[suite] : undefined;
    if (!load) throw new Error(`hcx bench: choose a suite: ${Object.keys(suites).join(', ')}`);
    await (await load()).run(rest);
  },
};

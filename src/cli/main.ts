// The `hcx` command: a thin dispatcher; every subcommand lives in its own file under commands/ and declares
// its flags in one table (see args.ts), so every command rejects flags it does not know.
import { defineGroup, type Command } from './args.js';

export type { Command } from './args.js';

const load = (p: Promise<{ command: Command }>) => p.then((m) => m.command);

// name -> lazy loader, so `hcx --help` does not load the engine or any other heavy module.
export const root = defineGroup({
  summary: 'hcx: the HyperCLOVA X recipe in TypeScript',
  subcommands: {
    demo: () => load(import('./commands/demo.js')),
    generate: () => load(import('./commands/generate.js')),
    pretrain: () => load(import('./commands/pretrain.js')),
    sft: () => load(import('./commands/sft.js')),
    prefs: () => load(import('./commands/prefs.js')),
    rm: () => load(import('./commands/rm.js')),
    dpo: () => load(import('./commands/dpo.js')),
    ppo: () => load(import('./commands/ppo.js')),
    grpo: () => load(import('./commands/grpo.js')),
    bench: () => load(import('./commands/bench.js')),
    data: () => load(import('./commands/data.js')),
    eval: () => load(import('./commands/eval.js')),
    export: () => load(import('./commands/export.js')),
    info: () => load(import('./commands/info.js')),
    segmenter: () => load(import('./commands/segmenter.js')),
    tokenizer: () => load(import('./commands/tokenizer.js')),
    tokenize: () => load(import('./commands/tokenize.js')),
    serve: () => load(import('./commands/serve.js')),
    chat: () => load(import('./commands/chat.js')),
    pipeline: () => load(import('./commands/pipeline.js')),
    dashboard: () => load(import('./commands/dashboard.js')),
  },
});

export async function main(argv: string[]): Promise<void> {
  await root.run(argv, 'hcx');
}

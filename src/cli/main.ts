// The `hcx` command: a thin dispatcher; every subcommand lives in its own file under commands/.
export interface Command {
  summary: string;
  usage: string;
  run(argv: string[]): Promise<void>;
}

type Loader = () => Promise<{ command: Command }>;

// name -> lazy loader, so `hcx --help` does not load the engine or any other heavy module.
const commands: Record<string, Loader> = {
  demo: () => import('./commands/demo.js'),
  generate: () => import('./commands/generate.js'),
  pretrain: () => import('./commands/pretrain.js'),
  bench: () => import('./commands/bench.js'),
  data: () => import('./commands/data.js'),
  eval: () => import('./commands/eval.js'),
  export: () => import('./commands/export.js'),
  info: () => import('./commands/info.js'),
  segmenter: () => import('./commands/segmenter.js'),
  tokenizer: () => import('./commands/tokenizer.js'),
  tokenize: () => import('./commands/tokenize.js'),
  serve: () => import('./commands/serve.js'),
  chat: () => import('./commands/chat.js'),
  pipeline: () => import('./commands/pipeline.js'),
};

async function help(): Promise<void> {
  const lines = ['hcx: the HyperCLOVA X recipe in TypeScript', '', 'usage: hcx <command> [options]', '', 'commands:'];
  for (const [name, load] of Object.entries(commands)) {
    const { command } = await load();
    lines.push(`  ${name.padEnd(12)} ${command.summary}`);
  }
  lines.push('', 'hcx <command> --help shows the options of one command.');
  console.log(lines.join('\n'));
}

export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') return help();
  const load = commands[name];
  if (!load) throw new Error(`hcx: unknown command "${name}"; run hcx --help`);
  const { command } = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`${command.summary}\n\nusage: ${command.usage}`);
    return;
  }
  await command.run(rest);
}

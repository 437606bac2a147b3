import type { Command } from '../main.js';
import { flagNumber, flagString, parseArgs } from '../args.js';

export const command: Command = {
  summary: 'chat with a model in the terminal (multi-turn, streaming), locally or with a running hcx serve',
  usage: [
    'hcx chat --model DIR|FILE [--tokenizer FILE] [--dtype auto|f32|bf16] | --url http://127.0.0.1:8000 [--api-key KEY]',
    '         [--system TEXT] [--temperature 0.7] [--top-p P] [--top-k K] [--max-tokens N] [--seed S]',
    'Type a message and Enter; /reset starts over, /exit quits, Ctrl-C stops a reply.',
  ].join('\n'),
  async run(argv) {
    const a = parseArgs(argv);
    const { runChat, localBackend, remoteBackend } = await import('../../serve/chat.js');
    const num = (k: string) => (a.flags.has(k) ? flagNumber(a, k, 0) : undefined);
    const sampling = { temperature: num('temperature') ?? 0.7, topP: num('top-p'), topK: num('top-k'), maxTokens: num('max-tokens'), seed: num('seed') };
    const url = flagString(a, 'url');
    let backend;
    if (url) backend = remoteBackend(url, flagString(a, 'api-key') ?? process.env.HCX_API_KEY, sampling);
    else {
      const modelPath = flagString(a, 'model');
      if (!modelPath) throw new Error('hcx chat: needs --model DIR|FILE or --url URL');
      const { loadServedModel } = await import('../../serve/load.js');
      const { Engine } = await import('../../serve/engine.js');
      const served = loadServedModel(modelPath, flagString(a, 'tokenizer'), flagString(a, 'dtype'));
      const engine = new Engine(served.model, { maxRunning: 4, decode: (ids) => served.tok.decode(ids, { skipSpecial: true }) });
      backend = localBackend(engine, served.tok, sampling);
      console.error(`hcx chat: ${served.name} (${(served.model.numParameters / 1e6).toFixed(1)}M parameters); /reset, /exit`);
    }
    await runChat(backend, process.stdin, process.stdout, { system: flagString(a, 'system') });
  },
};

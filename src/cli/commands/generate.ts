import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from '../main.js';
import { parseArgs, flagNumber, flagString, flagBool } from '../args.js';

export const command: Command = {
  summary: 'generate text from a trained model (sampling, stop strings, infill, chat template)',
  usage: 'hcx generate --model DIR [--tokenizer FILE] --prompt TEXT [--suffix TEXT (infill)] [--chat]\n' +
    '  [--max-tokens 64] [--temperature 0] [--top-k 0] [--top-p 1] [--repetition-penalty 1] [--stop STR] [--seed 0]',
  async run(argv) {
    const p = parseArgs(argv);
    const modelDir = flagString(p, 'model', 'runs/demo')!;
    const prompt = flagString(p, 'prompt') ?? p.positional.join(' ');
    if (!prompt) throw new Error('hcx generate: give --prompt TEXT');
    const { loadModel } = await import('../../model/checkpoint.js');
    const { generate, infill } = await import('../../model/generate.js');
    const { Tokenizer } = await import('../../tokenizer/index.js');
    const tokFile = flagString(p, 'tokenizer') ?? path.join(modelDir, 'tokenizer.json');
    if (!existsSync(tokFile)) throw new Error(`hcx generate: no tokenizer at ${tokFile}; pass --tokenizer FILE`);
    const tok = Tokenizer.load(tokFile);
    const model = loadModel(modelDir);
    const stop = flagString(p, 'stop');
    const opts = {
      maxNewTokens: flagNumber(p, 'max-tokens', 64), temperature: flagNumber(p, 'temperature', 0), topK: flagNumber(p, 'top-k', 0),
      topP: flagNumber(p, 'top-p', 1), repetitionPenalty: flagNumber(p, 'repetition-penalty', 1), seed: flagNumber(p, 'seed', 0),
      stopTokens: [tok.special.eot, tok.special.endofturn], stopStrings: stop ? [stop] : undefined, decode: (ids: number[]) => tok.decode(ids),
    };
    const suffix = flagString(p, 'suffix');
    let out;
    if (suffix !== undefined) out = infill(model, tok.encode(prompt), tok.encode(suffix), tok.special, opts);
    else if (flagBool(p, 'chat')) out = generate(model, tok.renderChat([{ role: 'user', content: prompt }], { addGenerationPrompt: true }), opts);
    else {
      process.stdout.write(prompt);
      out = generate(model, tok.encode(prompt), opts);
    }
    process.stdout.write((out.text ?? '') + '\n');
  },
};

import { existsSync } from 'node:fs';
import path from 'node:path';
import { defineCommand } from '../args.js';

export const command = defineCommand({
  summary: 'generate text from a trained model (sampling, stop strings, infill, chat template)',
  options: {
    model: { type: 'string', placeholder: 'DIR', default: 'runs/demo', description: 'a checkpoint or run folder' },
    tokenizer: { type: 'string', placeholder: 'FILE', description: 'the tokenizer (default: DIR/tokenizer.json)' },
    prompt: { type: 'string', placeholder: 'TEXT', description: 'the prompt (or give it as the arguments)' },
    suffix: { type: 'string', placeholder: 'TEXT', allowEmpty: true, description: 'fill in the middle between --prompt and this' },
    chat: { type: 'boolean', description: 'wrap the prompt in the chat template as a user turn' },
    'max-tokens': { type: 'number', integer: true, min: 0, default: 64, description: 'new tokens at most' },
    temperature: { type: 'number', min: 0, default: 0, description: 'sampling temperature (0: greedy)' },
    'top-k': { type: 'number', integer: true, min: 0, default: 0, description: 'sample from the K likeliest (0: all)' },
    'top-p': { type: 'number', min: 0, max: 1, default: 1, description: 'nucleus sampling mass' },
    'repetition-penalty': { type: 'number', min: 0, default: 1, description: 'divide the logits of tokens already seen' },
    stop: { type: 'string', placeholder: 'STR', description: 'stop when the text contains this' },
    seed: { type: 'number', integer: true, default: 0, description: 'sampling seed' },
  },
  positionals: { name: 'PROMPT', description: 'prompt words, joined by spaces, when --prompt is not given' },
  async run(o, words) {
    const prompt = o.prompt ?? words.join(' ');
    if (!prompt) throw new Error('hcx generate: give --prompt TEXT');
    if (o.prompt !== undefined && words.length) throw new Error(`hcx generate: give the prompt either as --prompt or as arguments, not both (got "${words.join(' ')}")`);
    const { loadModel } = await import('../../model/checkpoint.js');
    const { generate, infill } = await import('../../model/generate.js');
    const { Tokenizer } = await import('../../tokenizer/index.js');
    const tokFile = o.tokenizer ?? path.join(o.model, 'tokenizer.json');
    if (!existsSync(tokFile)) throw new Error(`hcx generate: no tokenizer at ${tokFile}; pass --tokenizer FILE`);
    const tok = Tokenizer.load(tokFile);
    const model = loadModel(o.model);
    const opts = {
      maxNewTokens: o.maxTokens, temperature: o.temperature, topK: o.topK, topP: o.topP, repetitionPenalty: o.repetitionPenalty, seed: o.seed,
      stopTokens: [tok.special.eot, tok.special.endofturn], stopStrings: o.stop ? [o.stop] : undefined, decode: (ids: number[]) => tok.decode(ids),
    };
    let out;
    if (o.suffix !== undefined) out = infill(model, tok.encode(prompt), tok.encode(o.suffix), tok.special, opts);
    else if (o.chat) out = generate(model, tok.renderChat([{ role: 'user', content: prompt }], { addGenerationPrompt: true }), opts);
    else {
      process.stdout.write(prompt);
      out = generate(model, tok.encode(prompt), opts);
    }
    process.stdout.write((out.text ?? '') + '\n');
  },
});

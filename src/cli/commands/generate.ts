import { defineCommand } from '../args.js';

export const command = defineCommand({
  summary: 'generate text from a trained model (sampling, stop strings, infill, chat template)',
  options: {
    model: { type: 'string', placeholder: 'DIR|FILE', default: 'runs/demo', description: 'a run, checkpoint or HF folder, a .safetensors or .gguf file' },
    tokenizer: { type: 'string', placeholder: 'FILE', description: 'the tokenizer (default: the model\'s own)' },
    dtype: { type: 'string', choices: ['auto', 'f32', 'bf16'], default: 'f32', description: 'compute dtype' },
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
    const { openModel } = await import('../../model/load.js');
    const { generate, infill } = await import('../../model/generate.js');
    const { model, tokenizer: tok, displayName } = openModel(o.model, { tokenizer: o.tokenizer, dtype: o.dtype as 'auto' | 'f32' | 'bf16' });
    const opts = {
      maxNewTokens: o.maxTokens, temperature: o.temperature, topK: o.topK, topP: o.topP, repetitionPenalty: o.repetitionPenalty, seed: o.seed,
      stopTokens: [...tok.specialIds.stop], stopStrings: o.stop ? [o.stop] : undefined, decode: (ids: number[]) => tok.decode(ids),
    };
    let out;
    if (o.suffix !== undefined) {
      const fim = tok.specialIds.fim;
      if (!fim) throw new Error(`hcx generate --suffix: ${displayName}'s tokenizer has no fill-in-the-middle tokens`);
      out = infill(model, tok.encode(prompt), tok.encode(o.suffix), { fimPrefix: fim.prefix, fimSuffix: fim.suffix, fimMiddle: fim.middle }, opts);
    } else if (o.chat) {
      if (!tok.chatTemplate) throw new Error(`hcx generate --chat: ${displayName} has no chat template`);
      out = generate(model, tok.encodeChat([{ role: 'user', content: prompt }], { addGenerationPrompt: true }).ids, opts);
    } else {
      process.stdout.write(prompt);
      out = generate(model, tok.encode(prompt, { addSpecialTokens: true }), opts);
    }
    process.stdout.write((out.text ?? '') + '\n');
  },
});

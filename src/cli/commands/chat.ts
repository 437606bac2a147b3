import { defineCommand } from '../args.js';
import { apiKeyFrom } from './serve.js';

export const command = defineCommand({
  summary: 'chat with a model in the terminal (multi-turn, streaming), locally or with a running hcx serve',
  options: {
    model: { type: 'string', placeholder: 'DIR|FILE', description: 'chat with this model in this process' },
    tokenizer: { type: 'string', placeholder: 'FILE', description: 'the tokenizer (default: the model\'s own)' },
    dtype: { type: 'string', choices: ['auto', 'f32', 'bf16'], description: 'compute dtype of a local model (default: auto)' },
    url: { type: 'string', placeholder: 'URL', description: 'or chat with a running hcx serve, e.g. http://127.0.0.1:8000' },
    'api-key': { type: 'string', placeholder: 'KEY', description: 'the server\'s API key (default: $HCX_API_KEY)' },
    system: { type: 'string', placeholder: 'TEXT', description: 'system prompt' },
    temperature: { type: 'number', min: 0, default: 0.7, description: 'sampling temperature' },
    'top-p': { type: 'number', min: 0, max: 1, description: 'nucleus sampling mass' },
    'top-k': { type: 'number', integer: true, min: 0, description: 'sample from the K likeliest' },
    'max-tokens': { type: 'number', integer: true, min: 1, description: 'tokens per reply at most' },
    seed: { type: 'number', integer: true, description: 'sampling seed' },
  },
  notes: 'Type a message and Enter; /reset starts over, /exit quits, Ctrl-C stops a reply.',
  async run(o) {
    const { runChat, localBackend, remoteBackend } = await import('../../serve/chat.js');
    const sampling = { temperature: o.temperature, topP: o.topP, topK: o.topK, maxTokens: o.maxTokens, seed: o.seed };
    if (o.url && o.model) throw new Error('hcx chat: give --model or --url, not both');
    let backend;
    if (o.url) backend = remoteBackend(o.url, apiKeyFrom(o.apiKey, 'hcx chat'), sampling);
    else {
      if (!o.model) throw new Error('hcx chat: needs --model DIR|FILE or --url URL');
      const { openModel } = await import('../../model/load.js');
      const { Engine } = await import('../../serve/engine.js');
      const served = openModel(o.model, { tokenizer: o.tokenizer, dtype: o.dtype ?? 'auto' });
      const tok = served.tokenizer;
      const engine = new Engine(served.model, { maxRunning: 4, decode: (ids) => tok.decode(ids, { skipSpecial: true }) });
      backend = localBackend(engine, tok, sampling);
      console.error(`hcx chat: ${served.displayName} (${(served.model.numParameters / 1e6).toFixed(1)}M parameters); /reset, /exit`);
    }
    await runChat(backend, process.stdin, process.stdout, { system: o.system });
  },
});

// Worker thread of the off-loop tokenizer (async_tokenizer.ts): rebuilds the tokenizer from its JSON and
// encodes the texts (or renders the conversations) it is sent.
import { parentPort, workerData } from 'node:worker_threads';
import { Tokenizer, type ChatMessage, type TokenizerFile } from '../tokenizer/index.js';

const tok = Tokenizer.fromJSON(workerData as TokenizerFile);
parentPort!.on('message', (m: { id: number; text?: string; allowSpecial: boolean; messages?: ChatMessage[] }) => {
  try {
    const ids = Int32Array.from(m.messages ? tok.renderChat(m.messages, { addGenerationPrompt: true }) : tok.encode(m.text!, { allowSpecial: m.allowSpecial }));
    parentPort!.postMessage({ id: m.id, ids }, [ids.buffer]);
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).message });
  }
});

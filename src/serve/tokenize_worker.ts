// Worker thread of the off-loop tokenizer (async_tokenizer.ts): re-opens the tokenizer from its handle
// (tokenizer_handle.ts) and encodes the texts (or renders the conversations) it is sent.
import { parentPort, workerData } from 'node:worker_threads';
import type { ChatOptions, ChatTurn, TextEncodeOptions } from '../tokenizer/index.js';
import { reopenTokenizer, type TokenizerHandle } from './tokenizer_handle.js';

const tok = reopenTokenizer(workerData as TokenizerHandle);
parentPort!.on('message', (m: { id: number; text?: string; encode?: TextEncodeOptions; messages?: ChatTurn[]; chat?: ChatOptions }) => {
  try {
    const ids = Int32Array.from(m.messages ? tok.encodeChat(m.messages, m.chat).ids : tok.encode(m.text!, m.encode));
    parentPort!.postMessage({ id: m.id, ids }, [ids.buffer]);
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).message });
  }
});

// Tokenizing off the event loop: a 1 MB prompt takes a few tenths of a second to encode, which on the
// event loop would stall every stream and /health. Texts above a size go to a worker thread holding its
// own copy of the tokenizer (any kind: tokenizer_handle.ts); short ones (most requests) are encoded in place,
// where a round trip would cost more than the encoding. A tokenizer with no file to re-open works inline.
import { Worker } from 'node:worker_threads';
import type { ChatOptions, ChatTurn, TextEncodeOptions, TextTokenizer } from '../tokenizer/index.js';
import { tokenizerHandle, type TokenizerHandle } from './tokenizer_handle.js';

const INLINE_CHARS = 16 * 1024;

export class AsyncTokenizer {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (ids: number[]) => void; reject: (e: Error) => void }>();
  /** Texts sent to the worker (for tests). */
  offloaded = 0;

  private readonly handle: TokenizerHandle | null;

  constructor(readonly tok: TextTokenizer, private readonly inlineChars = INLINE_CHARS) {
    this.handle = tokenizerHandle(tok);
  }

  private inline(chars: number): boolean {
    return chars <= this.inlineChars || this.handle === null;
  }

  encode(text: string, opts: TextEncodeOptions = {}): Promise<number[]> {
    if (this.inline(text.length)) return Promise.resolve(this.tok.encode(text, opts));
    return this.send({ text, encode: opts });
  }

  /** tok.encodeChat(messages, opts).ids, off the loop when the conversation is long. */
  encodeChat(messages: ChatTurn[], opts: ChatOptions = {}): Promise<number[]> {
    if (this.inline(JSON.stringify(messages).length)) return Promise.resolve(this.tok.encodeChat(messages, opts).ids);
    return this.send({ messages, chat: opts });
  }

  private send(msg: object): Promise<number[]> {
    const w = this.ensureWorker();
    const id = this.nextId++;
    this.offloaded++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ id, ...msg });
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL('./tokenize_worker.js', import.meta.url), { workerData: this.handle });
    w.unref(); // an idle tokenizer thread does not keep the process alive
    w.on('message', (m: { id: number; ids?: Int32Array; error?: string }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (!p) return;
      if (m.ids) p.resolve(Array.from(m.ids));
      else p.reject(new Error(m.error ?? 'tokenizer worker failed'));
    });
    w.on('error', (e) => this.failAll(e));
    w.on('exit', () => { this.worker = null; this.failAll(new Error('tokenizer worker exited')); });
    this.worker = w;
    return w;
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}

// Tokenizing off the event loop: a 1 MB prompt takes a few tenths of a second to encode, which on the
// event loop would stall every stream and /health. Texts above a size go to a worker thread holding its
// own copy of the tokenizer; short ones (most requests) are encoded in place, where a round trip would
// cost more than the encoding.
import { Worker } from 'node:worker_threads';
import type { ChatMessage, Tokenizer } from '../tokenizer/index.js';

const INLINE_CHARS = 16 * 1024;

export class AsyncTokenizer {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (ids: number[]) => void; reject: (e: Error) => void }>();
  /** Texts sent to the worker (for tests). */
  offloaded = 0;

  constructor(readonly tok: Tokenizer, private readonly inlineChars = INLINE_CHARS) {}

  encode(text: string, opts: { allowSpecial?: boolean } = {}): Promise<number[]> {
    if (text.length <= this.inlineChars) return Promise.resolve(this.tok.encode(text, opts));
    return this.send({ text, allowSpecial: opts.allowSpecial ?? false });
  }

  /** tok.renderChat(messages, { addGenerationPrompt: true }), off the loop when the contents are long. */
  renderChat(messages: ChatMessage[]): Promise<number[]> {
    if (messages.reduce((a, m) => a + m.content.length, 0) <= this.inlineChars) return Promise.resolve(this.tok.renderChat(messages, { addGenerationPrompt: true }));
    return this.send({ messages, allowSpecial: false });
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
    const w = new Worker(new URL('./tokenize_worker.js', import.meta.url), { workerData: this.tok.toJSON() });
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

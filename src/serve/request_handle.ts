// What submit() returns: the request's deltas as a callback or an async iterator, a promise of the
// final output, and cancel().
import type { RequestOutput, StreamDelta } from './sequence.js';

export class RequestHandle implements AsyncIterable<StreamDelta> {
  readonly done: Promise<RequestOutput>;
  private resolveDone!: (o: RequestOutput) => void;
  private readonly queue: StreamDelta[] = [];
  private wake: (() => void) | null = null;
  private ended = false;

  constructor(readonly id: number, private readonly cancelFn: () => void, private readonly onDelta?: (d: StreamDelta) => void) {
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  cancel(): void {
    this.cancelFn();
  }

  /** Engine side: a new delta (the last one carries finishReason). */
  push(d: StreamDelta): void {
    if (this.ended) return;
    if (d.finishReason) this.ended = true;
    if (this.onDelta) this.onDelta(d);
    else {
      this.queue.push(d);
      this.wake?.();
      this.wake = null;
    }
  }

  resolve(o: RequestOutput): void {
    this.resolveDone(o);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<StreamDelta> {
    for (;;) {
      while (this.queue.length > 0) {
        const d = this.queue.shift()!;
        yield d;
        if (d.finishReason) return;
      }
      await new Promise<void>((r) => (this.wake = r));
    }
  }
}

// Packing: documents (each already ending in end-of-text) are concatenated and cut into fixed-length
// records, a document spilling over into the next record. No padding inside the stream; only the
// tail of a phase that does not fill a record is dropped (and reported).
import type { Cursor } from './shards.js';

export class Packer {
  private rec: Uint32Array;
  private fill = 0;

  constructor(readonly recordLen: number, private readonly onRecord: (rec: Uint32Array, after: Cursor) => void) {
    this.rec = new Uint32Array(recordLen);
  }

  /** Tokens waiting for a record to fill. */
  get pending(): number { return this.fill; }

  /**
   * Adds tokens[from..] of instance; onTokens(n) is told how many landed in records, for accounting.
   * The cursor handed to onRecord says where the stream resumes after that record.
   */
  push(tokens: ArrayLike<number>, instance: number, from = 0, onTokens?: (n: number) => void): void {
    const L = this.recordLen;
    let i = from;
    while (i < tokens.length) {
      const n = Math.min(L - this.fill, tokens.length - i);
      for (let k = 0; k < n; k++) this.rec[this.fill + k] = tokens[i + k];
      this.fill += n; i += n;
      onTokens?.(n);
      if (this.fill === L) {
        this.fill = 0;
        this.onRecord(this.rec, i === tokens.length ? { instance: instance + 1, consumed: 0 } : { instance, consumed: i });
      }
    }
  }
}

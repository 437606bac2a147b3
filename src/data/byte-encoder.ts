// A byte-level encoder: the fallback tokenizer for tests, benchmarks and `hcx data build` without a
// trained tokenizer. Ids 0-255 are UTF-8 bytes; the specials follow.
import type { TextEncoder } from './types.js';

export class ByteEncoder implements TextEncoder {
  readonly special = { eot: 256, fimPrefix: 257, fimMiddle: 258, fimSuffix: 259, pad: 260 };
  readonly vocabSize = 261;
  private readonly utf8 = new globalThis.TextEncoder();

  encode(text: string): number[] {
    return Array.from(this.utf8.encode(text));
  }

  decode(ids: ArrayLike<number>): string {
    const bytes: number[] = [];
    for (let i = 0; i < ids.length; i++) if (ids[i] < 256) bytes.push(ids[i]);
    return Buffer.from(bytes).toString('utf8');
  }
}

// Streaming detokenization for any tokenizer, the way Hugging Face tokenizers' DecodeStream does it: decode the
// new id together with the tokens of the previous emission, and release the part beyond what those decoded to,
// once it does not end in U+FFFD (a character whose remaining bytes are still to come). Keeping the previous
// tokens as context matters for decoders that treat the first token specially (SentencePiece's leading space).
import type { DecodeStream } from './types.js';

export class PrefixDecodeStream implements DecodeStream {
  private ids: number[] = [];
  private prefix = '';
  private prefixIndex = 0;

  constructor(private readonly decode: (ids: number[]) => string) {}

  step(id: number): string {
    this.ids.push(id);
    const s = this.decode(this.ids);
    if (s.length > this.prefix.length && !s.endsWith('\ufffd')) return this.emit(s);
    return '';
  }

  flush(): string {
    const s = this.decode(this.ids);
    return s.length > this.prefix.length ? this.emit(s) : '';
  }

  private emit(s: string): string {
    // (A decoder that rewrote earlier text would make s not start with the prefix; what was released stays.)
    const out = s.slice(this.prefix.length);
    const newPrefixIndex = this.ids.length - this.prefixIndex;
    this.ids = this.ids.slice(this.prefixIndex);
    this.prefix = this.decode(this.ids);
    this.prefixIndex = newPrefixIndex;
    return out;
  }
}

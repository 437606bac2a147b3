// Incremental detokenization with stop strings. Text is released only when it can no longer change:
// a trailing U+FFFD may be a character whose remaining bytes come with the next token, and a tail that
// is the start of a stop string may turn out to be one. So the concatenated stream always equals the
// final text, which is cut before the first stop string.

export type Decode = (ids: readonly number[]) => string;

/** Length of the longest suffix of `text` that is a proper prefix of one of `stops`. */
export function stopPrefixHold(text: string, stops: readonly string[]): number {
  let best = 0;
  for (const s of stops) {
    for (let k = Math.min(s.length - 1, text.length); k > best; k--) {
      if (text.endsWith(s.slice(0, k))) { best = k; break; }
    }
  }
  return best;
}

function trailingReplacement(text: string): number {
  let n = 0;
  while (n < text.length && text.charCodeAt(text.length - 1 - n) === 0xfffd) n++;
  return n;
}

export class TextStream {
  /** Text of the tokens before `stableIds`, which later tokens cannot change. */
  private stableText = '';
  private stableIds = 0;
  private text = '';
  private emitted = 0;
  private readonly maxStop: number;
  /** Set when a stop string was found: the final text. */
  stoppedText: string | null = null;

  constructor(private readonly decode: Decode, private readonly stops: readonly string[] = []) {
    this.maxStop = stops.reduce((m, s) => Math.max(m, s.length), 0);
  }

  /** Call with every output token so far; returns the text that became final. */
  update(ids: readonly number[]): string {
    if (this.stoppedText !== null) return '';
    const prevLen = this.text.length;
    const tail = this.decode(ids.slice(this.stableIds));
    this.text = this.stableText + tail;
    if (tail.length > 0 && trailingReplacement(tail) === 0) {
      this.stableText = this.text;
      this.stableIds = ids.length;
    }
    if (this.maxStop > 0) {
      const from = Math.max(0, prevLen - this.maxStop + 1);
      let at = -1;
      for (const s of this.stops) {
        const i = this.text.indexOf(s, from);
        if (i >= 0 && (at < 0 || i < at)) at = i;
      }
      if (at >= 0) {
        this.stoppedText = this.text.slice(0, at);
        return this.release(this.stoppedText.length, this.stoppedText);
      }
    }
    const hold = Math.max(trailingReplacement(this.text), stopPrefixHold(this.text, this.stops));
    return this.release(this.text.length - hold, this.text);
  }

  /** The rest of the text once generation ended without a stop string. */
  finish(): string {
    const final = this.finalText;
    return this.release(final.length, final);
  }

  get finalText(): string {
    return this.stoppedText ?? this.text;
  }

  private release(end: number, text: string): string {
    if (end <= this.emitted) return '';
    const d = text.slice(this.emitted, end);
    this.emitted = end;
    return d;
  }
}

/**
 * Per-token text pieces and their character offsets for logprobs. Tokens whose bytes end inside a
 * character are grouped with the tokens that complete it: the group's text goes to its first token (which
 * starts at the group's first character) and the rest get '' at the group's end. Pieces concatenate to the
 * decoded text, offsets never decrease, and a token counts as covering the characters it starts (so a
 * scorer that keeps tokens ending after a boundary keeps every token of a character that crosses it).
 */
export function tokenPieces(decode: Decode, ids: readonly number[], startOffset = 0): { pieces: string[]; offsets: number[]; text: string } {
  const pieces: string[] = new Array<string>(ids.length).fill('');
  const offsets: number[] = new Array<number>(ids.length).fill(startOffset);
  let text = '', pending = 0;
  const close = (end: number, t: string) => {
    pieces[pending] = t;
    offsets[pending] = startOffset + text.length;
    text += t;
    for (let j = pending + 1; j < end; j++) offsets[j] = startOffset + text.length;
    pending = end;
  };
  for (let i = 0; i < ids.length; i++) {
    const t = decode(ids.slice(pending, i + 1));
    if (t.length === 0 && i === pending) { offsets[i] = startOffset + text.length; pending = i + 1; continue; } // e.g. a skipped special token
    if (t.length > 0 && trailingReplacement(t) === 0) close(i + 1, t);
  }
  // Bytes that never formed a character keep their replacement text.
  if (pending < ids.length) close(ids.length, decode(ids.slice(pending)));
  return { pieces, offsets, text };
}

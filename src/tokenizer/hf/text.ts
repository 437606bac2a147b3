// Text flowing through a tokenizer.json pipeline, optionally with where each UTF-16 unit came from.
// Encoding usually needs only the text (align null: the fast path). Offsets (which characters of the input a
// token covers, for chat loss masks) need the alignment, which every normalizer and pre-tokenizer then keeps:
// align[2k], align[2k+1] are the input range [start, end) that unit k of `s` came from.

export interface AlignedText {
  s: string;
  align: Int32Array | null;
}

export function aligned(s: string, offset: number, track: boolean): AlignedText {
  if (!track) return { s, align: null };
  const a = new Int32Array(2 * s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A surrogate pair is one character: both units map to its whole range.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      a[2 * i] = a[2 * i + 2] = offset + i; a[2 * i + 1] = a[2 * i + 3] = offset + i + 2; i++;
    } else { a[2 * i] = offset + i; a[2 * i + 1] = offset + i + 1; }
  }
  return { s, align: a };
}

export function sliceText(t: AlignedText, start: number, end: number): AlignedText {
  return { s: t.s.slice(start, end), align: t.align ? t.align.slice(2 * start, 2 * end) : null };
}

/** Input range [start, end) of units [a, b) of t (b > a); for empty ranges the position before unit a. */
export function inputRange(t: AlignedText, a: number, b: number, fallback: number): [number, number] {
  if (!t.align) return [fallback + a, fallback + b];
  if (b <= a) { const p = a < t.s.length ? t.align[2 * a] : t.s.length > 0 ? t.align[2 * t.s.length - 1] : fallback; return [p, p]; }
  return [t.align[2 * a], t.align[2 * b - 1]];
}

/** Builds a new aligned text piece by piece: each piece copies units of the source or adds new units mapped to a range. */
export class TextBuilder {
  private parts: string[] = [];
  private al: number[] | null;
  constructor(track: boolean) { this.al = track ? [] : null; }
  /** Units [a, b) of src, with their alignment. */
  copy(src: AlignedText, a: number, b: number): void {
    if (b <= a) return;
    this.parts.push(a === 0 && b === src.s.length ? src.s : src.s.slice(a, b));
    if (this.al) for (let k = 2 * a; k < 2 * b; k++) this.al.push(src.align![k]);
  }
  /** New text whose every unit maps to the input range [start, end). */
  add(s: string, start: number, end: number): void {
    if (s.length === 0) return;
    this.parts.push(s);
    if (this.al) for (let k = 0; k < s.length; k++) this.al.push(start, end);
  }
  get tracking(): boolean { return this.al !== null; }
  done(): AlignedText {
    return { s: this.parts.length === 1 ? this.parts[0] : this.parts.join(''), align: this.al ? Int32Array.from(this.al) : null };
  }
}

/** Per code point transform: fn(char) -> replacement (may be longer or empty); each output unit maps to its source char. */
export function mapChars(t: AlignedText, fn: (ch: string) => string): AlignedText {
  const b = new TextBuilder(t.align !== null);
  const s = t.s;
  let copyFrom = 0;
  for (let i = 0; i < s.length;) {
    const cp = s.codePointAt(i)!;
    const n = cp > 0xffff ? 2 : 1;
    const ch = n === 1 ? s[i] : s.slice(i, i + 2);
    const r = fn(ch);
    if (r !== ch) {
      b.copy(t, copyFrom, i);
      const [st, en] = b.tracking ? [t.align![2 * i], t.align![2 * (i + n) - 1]] : [0, 0];
      b.add(r, st, en);
      copyFrom = i + n;
    }
    i += n;
  }
  if (copyFrom === 0) return t;
  b.copy(t, copyFrom, s.length);
  return b.done();
}

/** Replaces each match [start, end) of `matches` (flat pairs) with `content`. */
export function replaceRanges(t: AlignedText, matches: number[], content: string): AlignedText {
  if (matches.length === 0) return t;
  const b = new TextBuilder(t.align !== null);
  let prev = 0;
  for (let k = 0; k < matches.length; k += 2) {
    const a = matches[k], e = matches[k + 1];
    b.copy(t, prev, a);
    const [st, en] = b.tracking ? (e > a ? [t.align![2 * a], t.align![2 * e - 1]] : inputRange(t, a, a, 0)) : [0, 0];
    b.add(content, st, en);
    prev = e;
  }
  b.copy(t, prev, t.s.length);
  return b.done();
}

/** s with `prefix` in front (the new units map to the first character), unless s is empty. */
export function prependText(t: AlignedText, prefix: string): AlignedText {
  if (t.s.length === 0 || prefix.length === 0) return t;
  if (!t.align) return { s: prefix + t.s, align: null };
  const b = new TextBuilder(true);
  b.add(prefix, t.align[0], t.align[1]);
  b.copy(t, 0, t.s.length);
  return b.done();
}

const WS = /\p{White_Space}/u;
export const isWhiteSpace = (ch: string): boolean => WS.test(ch);

/** Strips Unicode White_Space from either end (Rust's char::is_whitespace). */
export function stripText(t: AlignedText, left: boolean, right: boolean): AlignedText {
  const s = t.s;
  let a = 0, e = s.length;
  if (left) while (a < e && WS.test(s[a])) a++;
  if (right) while (e > a && WS.test(s[e - 1])) e--;
  return a === 0 && e === s.length ? t : sliceText(t, a, e);
}

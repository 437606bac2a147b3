// Lossless text <-> bytes for byte-level BPE.
// JS strings may hold lone surrogates, which UTF-8 cannot express (TextEncoder turns them into U+FFFD and
// loses them). We encode them the WTF-8 way: a lone surrogate becomes its own 3-byte sequence ED A0..BF xx,
// which never occurs in valid UTF-8, and the decoder turns exactly those sequences back into the code unit.
// So decode(encode(s)) === s for every JS string, and valid text gives the same bytes as TextEncoder.

/** Appends the WTF-8 bytes of s[start, end) to out (a plain array, reused by the caller). Returns out. */
export function wtf8Encode(s: string, out: number[] = [], start = 0, end = s.length): number[] {
  for (let i = start; i < end; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) { out.push(c); continue; }
    if (c < 0x800) { out.push(0xc0 | (c >> 6), 0x80 | (c & 63)); continue; }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < end) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
        continue;
      }
    }
    // BMP character, or a lone surrogate (same 3-byte shape: this is the WTF-8 rule).
    out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return out;
}

export function wtf8Bytes(s: string): Uint8Array {
  return Uint8Array.from(wtf8Encode(s));
}

/**
 * Decodes WTF-8 bytes. Invalid bytes (which only arise from id sequences that no string encodes to, e.g. a
 * model's output cut inside a character) become U+FFFD, one per maximal invalid subpart, as TextDecoder does.
 */
export function wtf8Decode(b: ArrayLike<number>): string {
  let out = '';
  const codes: number[] = [];
  const flush = () => { out += String.fromCharCode.apply(null, codes); codes.length = 0; };
  const n = b.length;
  for (let i = 0; i < n;) {
    const c = b[i];
    if (c < 0x80) { codes.push(c); i++; }
    else if (c >= 0xc2 && c <= 0xdf && i + 1 < n && (b[i + 1] & 0xc0) === 0x80) {
      codes.push(((c & 31) << 6) | (b[i + 1] & 63)); i += 2;
    } else if (c >= 0xe0 && c <= 0xef && i + 1 < n && (b[i + 1] & 0xc0) === 0x80 && (c !== 0xe0 || b[i + 1] >= 0xa0)) {
      // 0xED A0..BF is a surrogate: accepted here on purpose (WTF-8).
      if (i + 2 < n && (b[i + 2] & 0xc0) === 0x80) {
        codes.push(((c & 15) << 12) | ((b[i + 1] & 63) << 6) | (b[i + 2] & 63)); i += 3;
      } else { codes.push(0xfffd); i += 2; }
    } else if (c >= 0xf0 && c <= 0xf4 && i + 1 < n && (b[i + 1] & 0xc0) === 0x80 &&
               (c !== 0xf0 || b[i + 1] >= 0x90) && (c !== 0xf4 || b[i + 1] < 0x90)) {
      if (i + 2 < n && (b[i + 2] & 0xc0) === 0x80) {
        if (i + 3 < n && (b[i + 3] & 0xc0) === 0x80) {
          const cp = ((c & 7) << 18) | ((b[i + 1] & 63) << 12) | ((b[i + 2] & 63) << 6) | (b[i + 3] & 63);
          codes.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 1023)); i += 4;
        } else { codes.push(0xfffd); i += 3; }
      } else { codes.push(0xfffd); i += 2; }
    } else { codes.push(0xfffd); i++; }
    if (codes.length > 8192) flush();
  }
  flush();
  return out;
}

// GPT-2's byte <-> printable-character map, which Hugging Face's ByteLevel pre-tokenizer and GGUF's "gpt2"
// vocabularies use to spell byte tokens as strings.
export const BYTE_TO_UNICODE: string[] = (() => {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const map: string[] = new Array(256);
  for (const b of bs) map[b] = String.fromCharCode(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (map[b] === undefined) map[b] = String.fromCharCode(256 + n++);
  return map;
})();

/** A token's bytes spelled with BYTE_TO_UNICODE (the string form used in tokenizer.json and GGUF). */
export function bytesToByteLevel(bytes: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_UNICODE[bytes[i]];
  return s;
}

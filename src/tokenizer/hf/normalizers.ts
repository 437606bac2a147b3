// tokenizer.json normalizers, with Hugging Face tokenizers' semantics (each keeps the alignment when tracked).
import { BYTE_TO_UNICODE } from '../utf8.js';
import { compileOniguruma, findMatches, literalRegex } from './regex.js';
import { type Json, type Where, arr, bool, obj, optStr, pattern, str } from './json.js';
import {
  type AlignedText, TextBuilder, mapChars, prependText, replaceRanges, stripText,
} from './text.js';

export type Normalizer = (t: AlignedText) => AlignedText;

const SIGMA = '\u03a3';
/** Per-character lowercase (Rust's char::to_lowercase: no final-sigma rule, unlike String.toLowerCase). */
function lowercase(t: AlignedText): AlignedText {
  if (!t.align && !t.s.includes(SIGMA)) return { s: t.s.toLowerCase(), align: null };
  return mapChars(t, (ch) => ch.toLowerCase());
}

/**
 * Unicode normalization. Normalizing each whitespace-delimited chunk separately gives the same text
 * (no composition or reordering crosses a White_Space character), so the alignment is kept per chunk:
 * an unchanged chunk keeps its units, a changed one maps each output unit onto the chunk.
 */
function unicodeNormalizer(form: 'NFC' | 'NFD' | 'NFKC' | 'NFKD'): Normalizer {
  return (t) => {
    const n = t.s.normalize(form);
    if (!t.align || n === t.s) return n === t.s ? t : { s: n, align: null };
    const b = new TextBuilder(true);
    const re = /\p{White_Space}+|[^\p{White_Space}]+/gu;
    for (let m = re.exec(t.s); m !== null; m = re.exec(t.s)) {
      const a = m.index, e = a + m[0].length;
      const chunk = m[0], nc = chunk.normalize(form);
      if (nc === chunk) { b.copy(t, a, e); continue; }
      // Per character where that gives the same text (decompositions), else the whole chunk.
      let perChar = '';
      for (const ch of chunk) perChar += ch.normalize(form);
      if (perChar === nc) {
        for (let i = a; i < e;) {
          const w = (t.s.codePointAt(i)! > 0xffff) ? 2 : 1;
          const ch = t.s.slice(i, i + w), r = ch.normalize(form);
          if (r === ch) b.copy(t, i, i + w); else b.add(r, t.align[2 * i], t.align[2 * (i + w) - 1]);
          i += w;
        }
      } else b.add(nc, t.align[2 * a], t.align[2 * e - 1]);
    }
    return b.done();
  };
}

const MARK = /\p{M}/u, NONSPACING = /\p{Mn}/u;
const OTHER = /\p{C}/u;
const isChinese = (cp: number): boolean =>
  (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) ||
  (cp >= 0x2a700 && cp <= 0x2b73f) || (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b920 && cp <= 0x2ceaf) ||
  (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);

function bertNormalizer(o: Json, w: Where): Normalizer {
  const clean = bool(o, 'clean_text', w, true), chinese = bool(o, 'handle_chinese_chars', w, true);
  const lower = bool(o, 'lowercase', w, true);
  const sa = o.strip_accents;
  if (sa !== undefined && sa !== null && typeof sa !== 'boolean') throw w.at('strip_accents').error('expected true, false or null');
  const strip = sa === undefined || sa === null ? lower : sa;
  const nfd = unicodeNormalizer('NFD');
  return (t) => {
    if (clean) t = mapChars(t, (ch) => {
      const cp = ch.codePointAt(0)!;
      if (ch === '\t' || ch === '\n' || ch === '\r') return ' ';
      if (cp === 0 || cp === 0xfffd || OTHER.test(ch)) return '';
      return /\p{White_Space}/u.test(ch) ? ' ' : ch;
    });
    if (chinese) t = mapChars(t, (ch) => (isChinese(ch.codePointAt(0)!) ? ` ${ch} ` : ch));
    if (strip) t = mapChars(nfd(t), (ch) => (NONSPACING.test(ch) ? '' : ch));
    if (lower) t = lowercase(t);
    return t;
  };
}

export function parseNormalizer(v: unknown, w: Where): Normalizer | null {
  if (v === null || v === undefined) return null;
  const o = obj(v, w);
  const type = o.type;
  switch (type) {
    case 'Sequence': {
      const list = arr(o, 'normalizers', w).map((x, i) => parseNormalizer(x, w.at('normalizers').at(i))).filter((x): x is Normalizer => x !== null);
      return (t) => { for (const n of list) t = n(t); return t; };
    }
    case 'NFC': case 'NFD': case 'NFKC': case 'NFKD': return unicodeNormalizer(type);
    case 'Lowercase': return lowercase;
    case 'Strip': {
      const left = bool(o, 'strip_left', w, true), right = bool(o, 'strip_right', w, true);
      return (t) => stripText(t, left, right);
    }
    case 'StripAccents': return (t) => mapChars(t, (ch) => (MARK.test(ch) ? '' : ch));
    case 'Replace': {
      const p = pattern(o, 'pattern', w), content = str(o, 'content', w);
      const re = p.kind === 'string' ? literalRegex(p.value) : compileOrThrow(p.value, w.at('pattern'));
      if (p.kind === 'string' && p.value.length === 0) return (t) => t;
      return (t) => {
        if (p.kind === 'string' && !t.s.includes(p.value)) return t;
        if (p.kind === 'string' && !t.align) return { s: t.s.split(p.value).join(content), align: null };
        return replaceRanges(t, findMatches(re, t.s), content);
      };
    }
    case 'Prepend': {
      const prefix = str(o, 'prepend', w);
      return (t) => prependText(t, prefix);
    }
    case 'BertNormalizer': return bertNormalizer(o, w);
    case 'ByteLevel': return (t) => byteLevelText(t);
    case 'Precompiled': {
      const map = optStr(o, 'precompiled_charsmap', w);
      if (!map) return null; // an empty charsmap normalizes nothing
      throw w.error('normalizer type "Precompiled" (a SentencePiece charsmap) is not supported');
    }
    default: throw w.unsupported('normalizer', type);
  }
}

export function compileOrThrow(pattern: string, w: Where): RegExp {
  try { return compileOniguruma(pattern); } catch (e) { throw w.error((e as Error).message); }
}

const encoder = new TextEncoder();

/** Each byte of the text's UTF-8 as GPT-2's printable character (every unit maps to its source character). */
export function byteLevelText(t: AlignedText): AlignedText {
  const s = t.s;
  let ascii = true;
  for (let i = 0; i < s.length; i++) { const c = s.charCodeAt(i); if (c > 0x7e || c < 0x21) { ascii = false; break; } }
  if (ascii) return t; // printable ASCII maps to itself
  const b = new TextBuilder(t.align !== null);
  for (let i = 0; i < s.length;) {
    const cp = s.codePointAt(i)!;
    const n = cp > 0xffff ? 2 : 1;
    const bytes = encoder.encode(s.slice(i, i + n));
    let r = '';
    for (const x of bytes) r += BYTE_TO_UNICODE[x];
    const [st, en] = t.align ? [t.align[2 * i], t.align[2 * (i + n) - 1]] : [0, 0];
    b.add(r, st, en);
    i += n;
  }
  return b.done();
}

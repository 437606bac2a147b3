// tokenizer.json decoders (token strings -> text) and post-processors (what add_special_tokens adds), with
// Hugging Face tokenizers' semantics.
import { BYTE_TO_UNICODE } from '../utf8.js';
import { findMatches, literalRegex } from './regex.js';
import { type Where, arr, bool, num, obj, pattern, str } from './json.js';
import { compileOrThrow } from './normalizers.js';

/** tokens -> strings; `first`: tokens[0] is the first token of the whole decoded sequence. */
export type Decoder = (tokens: string[], first: boolean) => string[];

export const CHAR_TO_BYTE = new Map<string, number>(BYTE_TO_UNICODE.map((c, b) => [c, b]));
const lossy = new TextDecoder('utf-8', { fatal: false });
const strict = new TextDecoder('utf-8', { fatal: true });

/** GPT-2 byte characters -> bytes; a token with any other character contributes its own UTF-8. */
export function byteLevelBytes(tokens: string[]): Uint8Array {
  const out: number[] = [];
  for (const t of tokens) {
    let ok = true;
    const start = out.length;
    for (const ch of t) {
      const b = CHAR_TO_BYTE.get(ch);
      if (b === undefined) { ok = false; break; }
      out.push(b);
    }
    if (!ok) { out.length = start; for (const b of Buffer.from(t, 'utf8')) out.push(b); }
  }
  return Uint8Array.from(out);
}

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

function byteFallback(tokens: string[]): string[] {
  const out: string[] = [];
  let bytes: number[] = [];
  const flush = () => {
    if (bytes.length === 0) return;
    try { out.push(strict.decode(Uint8Array.from(bytes))); } catch { for (let k = 0; k < bytes.length; k++) out.push('\ufffd'); }
    bytes = [];
  };
  for (const t of tokens) {
    const m = t.length === 6 ? BYTE_TOKEN.exec(t) : null;
    if (m) bytes.push(parseInt(m[1], 16));
    else { flush(); out.push(t); }
  }
  flush();
  return out;
}

function wordpieceCleanup(s: string): string {
  return s.replace(/ \./g, '.').replace(/ \?/g, '?').replace(/ !/g, '!').replace(/ ,/g, ',').replace(/ ' /g, "'")
    .replace(/ n't/g, "n't").replace(/ 'm/g, "'m").replace(/ do not/g, " don't").replace(/ 's/g, "'s").replace(/ 've/g, "'ve").replace(/ 're/g, "'re");
}

export interface ParsedDecoder { run: Decoder; byteLevel: boolean; byteFallback: boolean }

export function parseDecoder(v: unknown, w: Where): ParsedDecoder | null {
  if (v === null || v === undefined) return null;
  const o = obj(v, w);
  switch (o.type) {
    case 'Sequence': {
      const list = arr(o, 'decoders', w).map((x, i) => parseDecoder(x, w.at('decoders').at(i))).filter((x): x is ParsedDecoder => x !== null);
      return {
        run: (tokens, first) => { for (const d of list) tokens = d.run(tokens, first); return tokens; },
        byteLevel: list.some((d) => d.byteLevel), byteFallback: list.some((d) => d.byteFallback),
      };
    }
    case 'ByteLevel': return { run: (tokens) => [lossy.decode(byteLevelBytes(tokens))], byteLevel: true, byteFallback: false };
    case 'ByteFallback': return { run: byteFallback, byteLevel: false, byteFallback: true };
    case 'Fuse': return { run: (tokens) => [tokens.join('')], byteLevel: false, byteFallback: false };
    case 'Strip': {
      const content = str(o, 'content', w), start = num(o, 'start', w, 0), stop = num(o, 'stop', w, 0);
      const ch = [...content];
      if (ch.length !== 1) throw w.at('content').error('expected one character');
      return {
        run: (tokens) => tokens.map((t) => {
          const cs = [...t];
          let a = 0;
          for (let i = 0; i < Math.min(start, cs.length) && cs[i] === content; i++) a = i + 1;
          let b = cs.length;
          for (let i = 0; i < stop && cs.length - i - 1 >= 0 && cs[cs.length - i - 1] === content; i++) b = cs.length - i - 1;
          return cs.slice(a, Math.max(a, b)).join('');
        }),
        byteLevel: false, byteFallback: false,
      };
    }
    case 'Replace': {
      const p = pattern(o, 'pattern', w), content = str(o, 'content', w);
      const re = p.kind === 'string' ? literalRegex(p.value) : compileOrThrow(p.value, w.at('pattern'));
      return {
        run: (tokens) => tokens.map((t) => {
          if (p.kind === 'string' && (p.value === '' || !t.includes(p.value))) return t;
          const m = findMatches(re, t);
          let s = '', prev = 0;
          for (let k = 0; k < m.length; k += 2) { s += t.slice(prev, m[k]) + content; prev = m[k + 1]; }
          return s + t.slice(prev);
        }),
        byteLevel: false, byteFallback: false,
      };
    }
    case 'Metaspace': {
      const rep = str(o, 'replacement', w, '\u2581');
      let scheme = o.prepend_scheme ?? 'always';
      if (o.add_prefix_space === false) scheme = 'never';
      return {
        run: (tokens, first) => tokens.map((t, i) => {
          const strip = i === 0 && first && scheme !== 'never';
          let s = '';
          for (const ch of t) s += ch === rep ? (strip ? '' : ' ') : ch;
          return s;
        }),
        byteLevel: false, byteFallback: false,
      };
    }
    case 'WordPiece': {
      const prefix = str(o, 'prefix', w, '##'), cleanup = bool(o, 'cleanup', w, true);
      return {
        run: (tokens, first) => tokens.map((t, i) => {
          if (i !== 0 || !first) t = t.startsWith(prefix) ? t.slice(prefix.length) : ' ' + t;
          return cleanup ? wordpieceCleanup(t) : t;
        }),
        byteLevel: false, byteFallback: false,
      };
    }
    case 'BPEDecoder': {
      const suffix = str(o, 'suffix', w, '</w>');
      return { run: (tokens) => tokens.map((t, i) => t.split(suffix).join(i === tokens.length - 1 ? '' : ' ')), byteLevel: false, byteFallback: false };
    }
    default: throw w.unsupported('decoder', o.type);
  }
}

/** Ids the post-processor puts around one sequence. */
export interface PostProcessor { before: number[]; after: number[] }

export function parsePostProcessor(v: unknown, w: Where): PostProcessor | null {
  if (v === null || v === undefined) return null;
  const o = obj(v, w);
  switch (o.type) {
    case 'ByteLevel': return null; // offsets only
    case 'TemplateProcessing': {
      const special = obj(o.special_tokens ?? {}, w.at('special_tokens'));
      const before: number[] = [], after: number[] = [];
      let seen = false;
      arr(o, 'single', w).forEach((item, i) => {
        const iw = w.at('single').at(i), it = obj(item, iw);
        if (it.Sequence !== undefined) {
          const id = obj(it.Sequence, iw.at('Sequence')).id;
          if (id !== 'A') throw iw.error(`a single-sequence template can only hold sequence A, got ${JSON.stringify(id)}`);
          seen = true;
        } else if (it.SpecialToken !== undefined) {
          const name = str(obj(it.SpecialToken, iw.at('SpecialToken')), 'id', iw.at('SpecialToken'));
          const st = special[name];
          if (st === undefined) throw iw.error(`special token ${JSON.stringify(name)} is not in special_tokens`);
          const ids = arr(obj(st, w.at('special_tokens').at(name)), 'ids', w.at('special_tokens').at(name));
          for (const x of ids) { if (typeof x !== 'number') throw w.at('special_tokens').at(name).error('ids must be numbers'); (seen ? after : before).push(x); }
        } else throw iw.error('expected {"Sequence": ...} or {"SpecialToken": ...}');
      });
      if (!seen) throw w.at('single').error('the template has no sequence A');
      return { before, after };
    }
    case 'BertProcessing': case 'RobertaProcessing': {
      const pair = (k: string): number => {
        const p = arr(o, k, w);
        if (p.length !== 2 || typeof p[1] !== 'number') throw w.at(k).error('expected [token, id]');
        return p[1] as number;
      };
      return { before: [pair('cls')], after: [pair('sep')] };
    }
    case 'Sequence': {
      const list = arr(o, 'processors', w).map((x, i) => parsePostProcessor(x, w.at('processors').at(i))).filter((x): x is PostProcessor => x !== null);
      const before: number[] = [], after: number[] = [];
      // Each processor wraps the result of the previous ones.
      for (const p of list) { before.unshift(...p.before); after.push(...p.after); }
      return { before, after };
    }
    default: throw w.unsupported('post-processor', o.type);
  }
}


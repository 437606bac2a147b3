// tokenizer.json pre-tokenizers, with Hugging Face tokenizers' semantics. A pre-tokenizer maps the list of
// splits (pieces BPE never merges across) to a finer list. ByteLevel's byte -> character mapping is left to
// the model when ByteLevel is the last step (the model reads the UTF-8 bytes directly); elsewhere it is applied
// to the text.
import { findMatches, literalRegex } from './regex.js';
import { type Json, type Where, arr, bool, num, obj, pattern, str } from './json.js';
import { compileOrThrow, byteLevelText } from './normalizers.js';
import { type AlignedText, prependText, replaceRanges, sliceText } from './text.js';

export interface Split {
  t: AlignedText;
  /** Whether the split starts at the very beginning of the input (Metaspace's prepend_scheme "first"). */
  first: boolean;
}

export type PreTokenizer = (splits: Split[]) => Split[];

export type Behavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';
const BEHAVIORS: Behavior[] = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];

/**
 * Splits one piece at matches (flat [start, end) pairs, ascending, non-overlapping) the way
 * NormalizedString::split does for each behavior; empty pieces are dropped.
 */
export function splitAt(sp: Split, matches: number[], behavior: Behavior, invert: boolean, out: Split[]): void {
  const s = sp.t.s;
  if (s.length === 0) return;
  // (start, end, isMatch) covering the whole piece, as Pattern::find_matches gives them.
  const segs: number[] = [];
  let prev = 0;
  for (let k = 0; k < matches.length; k += 2) {
    const a = matches[k], e = matches[k + 1];
    if (prev !== a) segs.push(prev, a, invert ? 1 : 0);
    segs.push(a, e, invert ? 0 : 1);
    prev = e;
  }
  if (prev !== s.length) segs.push(prev, s.length, invert ? 1 : 0);
  // Pieces as (start, end) with a keep flag.
  const pieces: number[] = [];
  switch (behavior) {
    case 'Isolated': for (let k = 0; k < segs.length; k += 3) pieces.push(segs[k], segs[k + 1], 1); break;
    case 'Removed': for (let k = 0; k < segs.length; k += 3) pieces.push(segs[k], segs[k + 1], segs[k + 2] ? 0 : 1); break;
    case 'Contiguous': {
      let prevMatch = -1;
      for (let k = 0; k < segs.length; k += 3) {
        if (segs[k + 2] === prevMatch && pieces.length > 0) pieces[pieces.length - 2] = segs[k + 1];
        else pieces.push(segs[k], segs[k + 1], 1);
        prevMatch = segs[k + 2];
      }
      break;
    }
    case 'MergedWithPrevious': {
      let prevMatch = 0;
      for (let k = 0; k < segs.length; k += 3) {
        if (segs[k + 2] && !prevMatch && pieces.length > 0) pieces[pieces.length - 2] = segs[k + 1];
        else pieces.push(segs[k], segs[k + 1], 1);
        prevMatch = segs[k + 2];
      }
      break;
    }
    case 'MergedWithNext': {
      const rev: number[] = [];
      let prevMatch = 0;
      for (let k = segs.length - 3; k >= 0; k -= 3) {
        if (segs[k + 2] && !prevMatch && rev.length > 0) rev[rev.length - 3] = segs[k];
        else rev.push(segs[k], segs[k + 1], 1);
        prevMatch = segs[k + 2];
      }
      for (let k = rev.length - 3; k >= 0; k -= 3) pieces.push(rev[k], rev[k + 1], 1);
      break;
    }
  }
  for (let k = 0; k < pieces.length; k += 3) {
    const a = pieces[k], e = pieces[k + 1];
    if (!pieces[k + 2] || e <= a) continue;
    out.push({ t: a === 0 && e === s.length ? sp.t : sliceText(sp.t, a, e), first: sp.first && a === 0 });
  }
}

/** Each character for which pred holds is one match (Rust's Fn(char) -> bool pattern). */
export function charMatches(s: string, pred: (ch: string) => boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length;) {
    const w = s.codePointAt(i)! > 0xffff ? 2 : 1;
    if (pred(w === 1 ? s[i] : s.slice(i, i + 2))) out.push(i, i + w);
    i += w;
  }
  return out;
}

function splitEach(splits: Split[], match: (s: string) => number[], behavior: Behavior, invert = false): Split[] {
  const out: Split[] = [];
  for (const sp of splits) splitAt(sp, match(sp.t.s), behavior, invert, out);
  return out;
}

const WS = /\p{White_Space}/u;
const isWs = (ch: string): boolean => WS.test(ch);
const PUNCT = /[\p{P}!-/:-@[-`{-~]/u;
const isPunct = (ch: string): boolean => PUNCT.test(ch);
const NUMERIC = /\p{N}/u;
const isNumeric = (ch: string): boolean => NUMERIC.test(ch);

// GPT-2's own split (ByteLevel with use_regex), as Oniguruma reads it.
const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
// Rust's regex \w (Unicode): Alphabetic, M, Nd, Pc, Join_Control; \s: White_Space.
const WHITESPACE_RE = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]+|[^\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}\p{White_Space}]+/gu;

export interface ParsedPreTokenizer {
  run: PreTokenizer;
  /** ByteLevel is the final step: the model maps the UTF-8 bytes of each split to byte characters itself. */
  byteLevelLast: boolean;
  /** A step depends on whether a split starts at input offset 0 (Metaspace's "first"). */
  usesFirst: boolean;
  /**
   * When the whole pre-tokenizer is one isolating regex split (then a plain deferred ByteLevel), that regex:
   * the pieces are the matches and the text between them, which the tokenizer can take without building splits.
   */
  isolatingRegex: RegExp | null;
}

export function parsePreTokenizer(v: unknown, w: Where): ParsedPreTokenizer | null {
  if (v === null || v === undefined) return null;
  const steps = flatten(v, w);
  const last = steps[steps.length - 1];
  const byteLevelLast = last !== undefined && last.o.type === 'ByteLevel';
  const fns = steps.map((s, i) => step(s.o, s.w, byteLevelLast && i === steps.length - 1));
  const usesFirst = steps.some((s) => s.o.type === 'Metaspace' && s.o.prepend_scheme === 'first');
  let isolatingRegex: RegExp | null = null;
  const [a, b] = steps;
  const plainByteLevel = (o: Json | undefined) => o === undefined || (o.type === 'ByteLevel' && o.add_prefix_space === false && o.use_regex === false && byteLevelLast);
  if (steps.length <= 2 && a.o.type === 'Split' && (a.o.behavior === 'Isolated') && a.o.invert !== true && plainByteLevel(b?.o)) {
    const p = pattern(a.o, 'pattern', a.w);
    if (!(p.kind === 'string' && p.value === '')) isolatingRegex = p.kind === 'string' ? literalRegex(p.value) : compileOrThrow(p.value, a.w.at('pattern'));
  }
  return { run: (splits) => { for (const f of fns) splits = f(splits); return splits; }, byteLevelLast, usesFirst, isolatingRegex };
}

function flatten(v: unknown, w: Where): { o: Json; w: Where }[] {
  const o = obj(v, w);
  if (o.type !== 'Sequence') return [{ o, w }];
  return arr(o, 'pretokenizers', w).flatMap((x, i) => flatten(x, w.at('pretokenizers').at(i)));
}

function behavior(o: Json, w: Where, dflt?: Behavior): Behavior {
  const b = o.behavior ?? dflt;
  if (!BEHAVIORS.includes(b as Behavior)) throw w.at('behavior').error(`expected one of ${BEHAVIORS.join(', ')}, got ${JSON.stringify(b)}`);
  return b as Behavior;
}

function step(o: Json, w: Where, deferByteLevel: boolean): PreTokenizer {
  switch (o.type) {
    case 'Split': {
      const p = pattern(o, 'pattern', w);
      const re = p.kind === 'string' ? literalRegex(p.value) : compileOrThrow(p.value, w.at('pattern'));
      const b = behavior(o, w), invert = bool(o, 'invert', w, false);
      if (p.kind === 'string' && p.value === '') return (splits) => splits;
      return (splits) => splitEach(splits, (s) => findMatches(re, s), b, invert);
    }
    case 'ByteLevel': {
      const prefix = bool(o, 'add_prefix_space', w, true), useRegex = bool(o, 'use_regex', w, true);
      const re = useRegex ? compileOrThrow(GPT2_PATTERN, w) : null;
      return (splits) => {
        let out = prefix ? splits.map((sp) => (sp.t.s.startsWith(' ') ? sp : { t: prependText(sp.t, ' '), first: sp.first })) : splits;
        if (re) out = splitEach(out, (s) => findMatches(re, s), 'Isolated');
        return deferByteLevel ? out : out.map((sp) => ({ t: byteLevelText(sp.t), first: sp.first }));
      };
    }
    case 'Metaspace': {
      const rep = str(o, 'replacement', w, '\u2581');
      if ([...rep].length !== 1) throw w.at('replacement').error('expected one character');
      let scheme = o.prepend_scheme ?? 'always';
      if (scheme !== 'always' && scheme !== 'first' && scheme !== 'never') throw w.at('prepend_scheme').error(`expected always, first or never, got ${JSON.stringify(scheme)}`);
      if (o.add_prefix_space === false) {
        if (o.prepend_scheme !== undefined && scheme !== 'never') throw w.error('add_prefix_space does not match declared prepend_scheme');
        scheme = 'never';
      }
      const split = bool(o, 'split', w, true);
      const space = / /g, repRe = literalRegex(rep);
      return (splits) => {
        const out: Split[] = [];
        for (const sp of splits) {
          let t = sp.t;
          if (t.s.includes(' ')) t = t.align ? replaceRanges(t, findMatches(space, t.s), rep) : { s: t.s.replace(space, rep), align: null };
          if (scheme === 'always' || (scheme === 'first' && sp.first)) { if (!t.s.startsWith(rep)) t = prependText(t, rep); }
          const ns = { t, first: sp.first };
          if (split) splitAt(ns, findMatches(repRe, t.s), 'MergedWithNext', false, out);
          else if (t.s.length > 0) out.push(ns);
        }
        return out;
      };
    }
    case 'Whitespace': return (splits) => splitEach(splits, (s) => findMatches(WHITESPACE_RE, s), 'Removed', true);
    case 'WhitespaceSplit': return (splits) => splitEach(splits, (s) => charMatches(s, isWs), 'Removed');
    case 'Digits': {
      const individual = bool(o, 'individual_digits', w, false);
      return (splits) => splitEach(splits, (s) => charMatches(s, isNumeric), individual ? 'Isolated' : 'Contiguous');
    }
    case 'Punctuation': {
      const b = behavior(o, w, 'Isolated');
      return (splits) => splitEach(splits, (s) => charMatches(s, isPunct), b);
    }
    case 'BertPreTokenizer':
      return (splits) => splitEach(splitEach(splits, (s) => charMatches(s, isWs), 'Removed'), (s) => charMatches(s, isPunct), 'Isolated');
    case 'CharDelimiterSplit': {
      const d = str(o, 'delimiter', w);
      if ([...d].length !== 1) throw w.at('delimiter').error('expected one character');
      return (splits) => splitEach(splits, (s) => charMatches(s, (ch) => ch === d), 'Removed');
    }
    case 'FixedLength': {
      const n = num(o, 'length', w, 5);
      if (!Number.isInteger(n) || n < 1) throw w.at('length').error('expected a positive integer');
      return (splits) => {
        const out: Split[] = [];
        for (const sp of splits) {
          const s = sp.t.s;
          let start = 0, count = 0;
          for (let i = 0; i <= s.length;) {
            if (count === n || i === s.length) {
              if (i > start) out.push({ t: sliceText(sp.t, start, i), first: sp.first && start === 0 });
              start = i; count = 0;
              if (i === s.length) break;
            }
            i += s.codePointAt(i)! > 0xffff ? 2 : 1; count++;
          }
        }
        return out;
      };
    }
    default: throw w.unsupported('pre-tokenizer', o.type);
  }
}

// A byte-level pushdown automaton for JSON that matches a compiled schema (json_schema.ts). A state is a
// stack of immutable frames (top last); advancing by one byte gives zero states (the byte cannot continue
// a valid prefix), one, or several (anyOf, enum values that are prefixes of each other, object keys not
// yet read), so the caller carries a set of states. Every frame has a key, and a state's key is the
// frames' keys joined: equal keys mean equal futures, which lets token masks be cached per state.
// Output is canonical-ish JSON: whitespace is allowed at structural places but bounded (WS bytes), strings
// are valid UTF-8 without raw control characters, numbers have at most MAX_DIGITS digits per part, and
// containers nest at most MAX_DEPTH deep, so every state can reach an end. A string with a length bound
// counts code points (and takes no \u escapes, so surrogate pairs cannot miscount); a number with bounds is
// written without an exponent and keeps its text, so each digit is allowed only if the bounds stay reachable.
import { reachable, unitsOf, within, type NumBounds } from './json_bounds.js';
import { deref, MAX_DIGITS, type SchemaNode } from './json_schema.js';

const WS = 8;
const MAX_DEPTH = 24;

type ObjectNode = Extract<SchemaNode, { k: 'object' }>;
type ArrayNode = Extract<SchemaNode, { k: 'array' }>;

export type Frame =
  | { t: 'val'; n: SchemaNode; ws: number; k: string }
  /** Raw bytes to match: one of `c` (the ones still alive are listed in `a`), `p` bytes matched so far. */
  | { t: 'lit'; c: Uint8Array[]; a: number[]; p: number; k: string }
  /**
   * Inside a string: e 0 plain, 1 after a backslash, 2..5 hex digits of \u left + 1; u: UTF-8 continuation bytes due;
   * with a length bound, n code points so far (capped where the bound stops caring).
   */
  | { t: 'str'; e: number; u: number; ban: string[] | null; pre: string | null; len: Len | null; n: number; k: string }
  /** A number: phase, integer only, digits in the current part; with bounds, the text so far. */
  | { t: 'num'; ph: number; int: boolean; d: number; bd: NumBounds | null; txt: string; k: string }
  | { t: 'obj'; n: ObjectNode; seen: string; ph: number; cur: SchemaNode | null; ws: number; k: string }
  | { t: 'arr'; n: ArrayNode; c: number; ph: number; ws: number; k: string }
  /** Up to `left` more repetitions of one of `items` (frame stacks, top last), e.g. further tool calls. */
  | { t: 'rep'; items: Frame[][]; left: number; id: number; k: string };

export type State = readonly Frame[];

type Len = { min: number; max: number };

const ids = new WeakMap<object, number>();
let nextId = 1;
const idOf = (o: object): number => { let i = ids.get(o); if (i === undefined) ids.set(o, (i = nextId++)); return i; };

export const val = (n: SchemaNode, ws = 0): Frame => ({ t: 'val', n, ws, k: `v${n.id}.${ws}` });
export const lit = (c: Uint8Array[], a: number[] = c.map((_, i) => i), p = 0): Frame => ({ t: 'lit', c, a, p, k: `l${idOf(c)}.${p}.${a.join('_')}` });
const str = (e: number, u: number, ban: string[] | null = null, pre: string | null = null, len: Len | null = null, n = 0): Frame =>
  ({ t: 'str', e, u, ban, pre, len, n, k: `s${e}.${u}${ban ? `.${idOf(ban)}.${pre === null ? '' : escape(pre)}` : ''}${len ? `.L${idOf(len)}.${n}` : ''}` });
const num = (ph: number, int: boolean, d: number, bd: NumBounds | null = null, txt = ''): Extract<Frame, { t: 'num' }> =>
  ({ t: 'num', ph, int, d, bd, txt: bd ? txt : '', k: `n${ph}.${int ? 1 : 0}.${d}${bd ? `.B${idOf(bd)}.${txt}` : ''}` });
/** String length bounds, one object per schema node (their identity keys the states). */
const lenOf = new WeakMap<object, Len>();
function strLen(n: { minLen?: number; maxLen?: number }): Len | null {
  if (n.minLen === undefined && n.maxLen === undefined) return null;
  let l = lenOf.get(n);
  if (!l) lenOf.set(n, (l = { min: n.minLen ?? 0, max: n.maxLen ?? Infinity }));
  return l;
}
/**
 * Allowed range of the next continuation byte, by u's tens digit (u's units digit counts the bytes left): only
 * well-formed UTF-8 (RFC 3629), so no overlong forms (E0 80-9F, F0 80-8F), surrogates (ED A0-BF) or code points
 * past U+10FFFF (F4 90-BF). A decoder turns each byte of those into U+FFFD, which would break maxLength.
 */
const CONT: ReadonlyArray<readonly [number, number]> = [[0x80, 0xbf], [0xa0, 0xbf], [0x80, 0x9f], [0x90, 0xbf], [0x80, 0x8f]];

/** The count after one more code point; past every bound that matters it stops growing, so states stay few. */
const counted = (len: Len, n: number): number => (len.max === Infinity ? Math.min(n + 1, len.min) : n + 1);
const obj = (n: ObjectNode, seen: string, ph: number, cur: SchemaNode | null, ws: number): Frame =>
  ({ t: 'obj', n, seen, ph, cur, ws, k: `o${n.id}.${seen}.${ph}.${cur ? cur.id : ''}.${ws}` });
const arr = (n: ArrayNode, c: number, ph: number, ws: number): Frame => ({ t: 'arr', n, c, ph, ws, k: `a${n.id}.${c}.${ph}.${ws}` });
export const rep = (items: Frame[][], left: number, id = nextId++): Frame => ({ t: 'rep', items, left, id, k: `r${id}.${left}` });

export const stateKey = (s: State): string => s.map((f) => f.k).join('|');

const enc = new TextEncoder();
export const bytes = (s: string): Uint8Array => enc.encode(s);
const latin1 = (b: Uint8Array): string => String.fromCharCode(...b);

const isWs = (b: number) => b === 0x20 || b === 0x0a || b === 0x09 || b === 0x0d;
const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
const isHex = (b: number) => isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);

const ANY: SchemaNode = { k: 'any', id: 0 };
const ANY_OBJ: ObjectNode = { k: 'object', id: -1, props: [], required: new Set(), additional: ANY };
const ANY_ARR: ArrayNode = { k: 'array', id: -2, items: ANY, min: 0, max: Infinity };
const TRUE_FALSE = [bytes('true'), bytes('false')], NULL = [bytes('null')];

// Per object node: each property's key bytes after the opening quote, and the names a free key may not take.
const keyInfo = new WeakMap<ObjectNode, { rest: Uint8Array[][]; ban: string[] }>();
function keysOf(n: ObjectNode) {
  let k = keyInfo.get(n);
  if (!k) {
    k = { rest: n.props.map((p) => [bytes(JSON.stringify(p.name).slice(1))]), ban: n.props.map((p) => latin1(bytes(p.name))) };
    keyInfo.set(n, k);
  }
  return k;
}

// Object phases: after '{', after ',' (a key must follow), after a value, after a key (':' next).
const OPEN = 0, NEXT = 1, AFTER = 2, COLON = 3;
// Number phases.
const SIGN = 0, ZERO = 1, INT = 2, DOT = 3, FRAC = 4, E = 5, ESIGN = 6, EXP = 7;
const numComplete = (ph: number) => ph === ZERO || ph === INT || ph === FRAC || ph === EXP;
/** A number may end here: its text is complete and, with bounds, within them. */
const numEnds = (f: Extract<Frame, { t: 'num' }>): boolean => numComplete(f.ph) && (!f.bd || within(unitsOf(f.txt, f.bd.scale), f.bd));

const withTop = (s: State, f: Frame): Frame[] => { const o = s.slice(0, -1); o.push(f); return o; };
const push = (s: State, ...f: Frame[]): Frame[] => [...s, ...f];

/** Begins a value of node `n` with byte b on top of `base`. */
function start(base: State, node: SchemaNode, b: number, out: Frame[][]): void {
  const n = deref(node);
  switch (n.k) {
    case 'any':
      if (b === 0x7b) start(base, ANY_OBJ, b, out);
      else if (b === 0x5b) start(base, ANY_ARR, b, out);
      else if (b === 0x22) out.push(push(base, str(0, 0)));
      else if (b === 0x2d || isDigit(b)) start(base, { k: 'number', id: 0 }, b, out);
      else if (b === 0x74 || b === 0x66) matchLit(base, TRUE_FALSE, TRUE_FALSE.map((_, i) => i), 0, b, out);
      else if (b === 0x6e) matchLit(base, NULL, [0], 0, b, out);
      return;
    case 'anyOf':
      for (const o of n.options) start(base, o, b, out);
      return;
    case 'literal':
      matchLit(base, n.values, n.values.map((_, i) => i), 0, b, out);
      return;
    case 'string':
      if (b === 0x22) out.push(push(base, str(0, 0, null, null, strLen(n))));
      return;
    case 'number': case 'integer': {
      const int = n.k === 'integer', bd = n.bounds ?? null;
      const f: Extract<Frame, { t: 'num' }> | null = b === 0x2d ? num(SIGN, int, 0, bd, '-') : b === 0x30 ? num(ZERO, int, 1, bd, '0') : isDigit(b) ? num(INT, int, 1, bd, String.fromCharCode(b)) : null;
      if (f && (!bd || reachable(f.txt, bd, MAX_DIGITS))) out.push(push(base, f));
      return;
    }
    case 'boolean':
      matchLit(base, TRUE_FALSE, [0, 1], 0, b, out);
      return;
    case 'null':
      matchLit(base, NULL, [0], 0, b, out);
      return;
    case 'object':
      if (b === 0x7b && base.length < MAX_DEPTH) out.push(push(base, obj(n, '0'.repeat(n.props.length), OPEN, null, WS)));
      return;
    case 'array':
      if (b === 0x5b && base.length < MAX_DEPTH) out.push(push(base, arr(n, 0, OPEN, WS)));
      return;
  }
}

function matchLit(base: State, c: Uint8Array[], alive: number[], p: number, b: number, out: Frame[][]): void {
  const next: number[] = [];
  for (const i of alive) {
    if (c[i][p] !== b) continue;
    if (c[i].length === p + 1) out.push(base.slice());
    else next.push(i);
  }
  if (next.length) out.push(push(base, lit(c, next, p + 1)));
}

/** A key starts (its opening quote was read): one branch per property not yet seen, and a free key if allowed. */
function startKey(base: State, f: Extract<Frame, { t: 'obj' }>, out: Frame[][]): void {
  const info = keysOf(f.n);
  f.n.props.forEach((p, i) => {
    if (f.seen[i] === '1') return;
    const seen = f.seen.slice(0, i) + '1' + f.seen.slice(i + 1);
    out.push(push(base, obj(f.n, seen, COLON, p.node, 0), lit(info.rest[i])));
  });
  if (f.n.additional) out.push(push(base, obj(f.n, f.seen, COLON, f.n.additional, 0), str(0, 0, info.ban, '')));
}

const requiredMet = (f: Extract<Frame, { t: 'obj' }>): boolean => f.n.props.every((p, i) => f.seen[i] === '1' || !f.n.required.has(p.name));
const moreKeys = (f: Extract<Frame, { t: 'obj' }>): boolean => f.n.additional !== null || f.seen.includes('0');

/** All states that follow state s on byte b (appended to out). */
export function advance(s: State, b: number, out: Frame[][]): void {
  const top = s[s.length - 1];
  if (!top) return;
  const base = s.slice(0, -1);
  switch (top.t) {
    case 'val':
      if (isWs(b)) { if (top.ws > 0) out.push(withTop(s, val(top.n, top.ws - 1))); return; }
      start(base, top.n, b, out);
      return;
    case 'lit':
      matchLit(base, top.c, top.a, top.p, b, out);
      return;
    case 'str': {
      const { len, n } = top;
      if (top.e === 1) {
        if (b === 0x75) { if (!len) out.push(withTop(s, str(5, 0))); }
        else if ('"\\/bfnrt'.includes(String.fromCharCode(b))) out.push(withTop(s, str(0, 0, null, null, len, n)));
        return;
      }
      if (top.e >= 2) { if (isHex(b)) out.push(withTop(s, str(top.e === 2 ? 0 : top.e - 1, 0))); return; }
      if (top.u > 0) {
        const [lo, hi] = CONT[Math.floor(top.u / 10)]!;
        if (b >= lo && b <= hi) out.push(withTop(s, str(0, (top.u % 10) - 1, top.ban, grow(top, b), len, n)));
        return;
      }
      if (b === 0x22) {
        if (top.ban && top.pre !== null && top.ban.includes(top.pre)) return; // a free key spelling a declared property
        if (len && n < len.min) return;
        out.push(base);
        return;
      }
      // Every other byte here begins a code point (an escape counts as the one it stands for).
      if (len && n >= len.max) return;
      const n1 = len ? counted(len, n) : 0;
      if (b === 0x5c) { if (!top.ban) out.push(withTop(s, str(1, 0, null, null, len, n1))); return; }
      if (b < 0x20) return;
      let u = 0;
      if (b >= 0x80) {
        if (b >= 0xc2 && b <= 0xdf) u = 1;
        else if (b >= 0xe0 && b <= 0xef) u = 2 + (b === 0xe0 ? 10 : b === 0xed ? 20 : 0);
        else if (b >= 0xf0 && b <= 0xf4) u = 3 + (b === 0xf0 ? 30 : b === 0xf4 ? 40 : 0);
        else return;
      }
      out.push(withTop(s, str(0, u, top.ban, grow(top, b), len, n1)));
      return;
    }
    case 'num': {
      const { ph, int, d, bd } = top;
      const dig = isDigit(b);
      const n = (p: number, dd: number) => num(p, int, dd, bd, top.txt + String.fromCharCode(b));
      let next: Extract<Frame, { t: 'num' }> | null = null;
      if (ph === SIGN) next = b === 0x30 ? n(ZERO, 1) : dig ? n(INT, 1) : null;
      else if ((ph === INT && dig && d < MAX_DIGITS)) next = n(INT, d + 1);
      else if ((ph === ZERO || ph === INT) && !int && b === 0x2e) next = n(DOT, 0);
      else if ((ph === ZERO || ph === INT || ph === FRAC) && !int && !bd && (b === 0x65 || b === 0x45)) next = n(E, 0);
      else if (ph === DOT && dig) next = n(FRAC, 1);
      else if (ph === FRAC && dig && d < MAX_DIGITS) next = n(FRAC, d + 1);
      else if (ph === E && (b === 0x2b || b === 0x2d)) next = n(ESIGN, 0);
      else if ((ph === E || ph === ESIGN) && dig) next = n(EXP, 1);
      else if (ph === EXP && dig && d < 2) next = n(EXP, d + 1);
      if (next) {
        if (!bd || reachable(next.txt, bd, MAX_DIGITS)) out.push(withTop(s, next));
        return;
      }
      // The number ends here: the byte belongs to whatever follows it.
      if (numEnds(top) && !(ph === ZERO && dig)) advance(base, b, out);
      return;
    }
    case 'obj': {
      if (top.ph === COLON) {
        if (b === 0x3a) out.push(push(base, obj(top.n, top.seen, AFTER, null, WS), val(top.cur!, WS)));
        return;
      }
      if (isWs(b)) { if (top.ws > 0) out.push(withTop(s, obj(top.n, top.seen, top.ph, null, top.ws - 1))); return; }
      if (b === 0x22 && top.ph !== AFTER) { startKey(base, top, out); return; }
      if (b === 0x7d && top.ph !== NEXT && requiredMet(top)) { out.push(base); return; }
      if (b === 0x2c && top.ph === AFTER && moreKeys(top)) out.push(withTop(s, obj(top.n, top.seen, NEXT, null, WS)));
      return;
    }
    case 'arr': {
      const n = top.n;
      if (isWs(b)) { if (top.ws > 0) out.push(withTop(s, arr(n, top.c, top.ph, top.ws - 1))); return; }
      if (top.ph === AFTER) {
        if (b === 0x5d && top.c >= n.min) out.push(base);
        else if (b === 0x2c && top.c < n.max) out.push(withTop(s, arr(n, top.c, NEXT, WS)));
        return;
      }
      if (b === 0x5d && top.ph === OPEN && n.min === 0) { out.push(base); return; }
      if (top.c < n.max) start(push(base, arr(n, top.c + 1, AFTER, WS)), n.items, b, out);
      return;
    }
    case 'rep':
      if (top.left <= 0) return;
      for (const item of top.items) advance([...base, rep(top.items, top.left - 1, top.id), ...item], b, out);
      return;
  }
}

function grow(f: Extract<Frame, { t: 'str' }>, b: number): string | null {
  if (!f.ban || f.pre === null) return null;
  const pre = f.pre + String.fromCharCode(b);
  return f.ban.some((k) => k.startsWith(pre)) ? pre : null;
}

/** True when the output may end in state s (a number at the end is complete; a repetition may stop). */
export function canEnd(s: State): boolean {
  let n = s.length;
  while (n > 0 && s[n - 1].t === 'num' && numEnds(s[n - 1] as Extract<Frame, { t: 'num' }>)) n--;
  return n === 0 || s[n - 1].t === 'rep';
}

/** Advances every state by every byte, dropping duplicates (by key). */
export function advanceAll(states: readonly State[], bs: Uint8Array): State[] {
  let cur = states;
  for (const b of bs) {
    const out: Frame[][] = [];
    for (const s of cur) advance(s, b, out);
    cur = dedupe(out);
    if (cur.length === 0) break;
  }
  return cur as State[];
}

export function dedupe(states: readonly State[]): State[] {
  if (states.length < 2) return states as State[];
  const seen = new Set<string>();
  return states.filter((s) => { const k = stateKey(s); if (seen.has(k)) return false; seen.add(k); return true; });
}

const escape = (s: string) => s.replace(/[|.]/g, (c) => `%${c.charCodeAt(0)}`);

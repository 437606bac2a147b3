// Oniguruma patterns (what Hugging Face tokenizers compiles tokenizer.json regexes with) as JavaScript regexes.
// The two dialects differ in ways that change tokenization, so a pattern is rewritten, not passed through:
// - \s is Unicode White_Space in Oniguruma (U+0085 yes, U+FEFF no); JS \s is a different set. \d is \p{Nd},
//   \w is Alphabetic + M + Nd + Pc, \h is a hex digit; JS's are ASCII.
// - (?i:...) groups: JS (Node 20) has no inline modifiers, so letters become [xX] classes.
// - possessive quantifiers (X*+, X++, X?+) and atomic groups (?>X): emulated with a lookahead that captures
//   and a backreference to it, (?=(X*))\k<...>, which cannot backtrack into X.
// - . excludes only \n; ^ and $ are line anchors; \A \z \Z; \x{HHHH}; {,n}; \p{Han} (a script); \p{^L}.
// - classes: nesting and && intersections (JS 'v' mode expresses both), POSIX brackets [:alpha:].
// Anything else that JS cannot express faithfully (\G, \K, \X, (?x), conditionals, callouts) is an error.

export class RegexTranslationError extends Error {}

const WORD = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}';
// Outside a class Oniguruma's \w also takes the Latin-1 digits ² ³ ¹ ¼ ½ ¾ (inside a class it does not).
const WORD_OUT = WORD + '\\u00b2\\u00b3\\u00b9\\u00bc-\\u00be';
const SPACE = '\\p{White_Space}';
const HEX = '0-9A-Fa-f';
const POSIX: Record<string, string> = {
  alpha: '\\p{Alphabetic}', alnum: '\\p{Alphabetic}\\p{Nd}', digit: '\\p{Nd}', lower: '\\p{Lowercase}', upper: '\\p{Uppercase}',
  space: SPACE, blank: '\\p{Zs}\\t', punct: '\\p{P}\\p{S}', cntrl: '\\p{Cc}', word: WORD, xdigit: HEX,
  graph: '[^\\p{White_Space}\\p{Cc}\\p{Cn}\\p{Cs}]', print: '[^\\p{Cc}\\p{Cn}\\p{Cs}]', ascii: '\\x00-\\x7F',
};
// Oniguruma property names that are not JS property names.
const PROPERTY_ALIAS: Record<string, string> = {
  word: `[${WORD}]`, alnum: '[\\p{Alphabetic}\\p{Nd}]', alpha: '\\p{Alphabetic}', space: SPACE, digit: '\\p{Nd}',
  lower: '\\p{Lowercase}', upper: '\\p{Uppercase}', punct: '[\\p{P}\\p{S}]', cntrl: '\\p{Cc}', xdigit: `[${HEX}]`,
  blank: '[\\p{Zs}\\t]', ascii: '[\\x00-\\x7F]', any: '[\\s\\S]',
};

const propertyCache = new Map<string, string>();
/** \p{name} (or its complement) as a JS class item: `\p{...}` or a bracketed class. */
function property(name: string, negated: boolean): string {
  let n = name.trim();
  if (n.startsWith('^')) { negated = !negated; n = n.slice(1); }
  const key = n.toLowerCase().replace(/[\s_-]/g, '');
  const alias = PROPERTY_ALIAS[key];
  if (alias) {
    if (alias.startsWith('\\p{')) return negated ? '\\P' + alias.slice(2) : alias;
    return negated ? '[^' + alias.slice(1) : alias; // [x] -> [^x]
  }
  let js = propertyCache.get(n);
  if (js === undefined) {
    for (const cand of [n, `Script=${n}`, n.replace(/ /g, '_')]) {
      try { new RegExp(`\\p{${cand}}`, 'u'); js = cand; break; } catch { /* next */ }
    }
    if (js === undefined) throw new RegexTranslationError(`unknown Unicode property \\p{${name}}`);
    propertyCache.set(n, js);
  }
  return `\\${negated ? 'P' : 'p'}{${js}}`;
}

// Literal characters inside a 'v'-mode class: escape every ASCII punctuation character (all are allowed escapes).
const V_CLASS_ESCAPABLE = new Set('&-!#%,:;<=>@`~^$\\.*+?()[]{}|/'.split(''));
const classLiteral = (ch: string): string => (V_CLASS_ESCAPABLE.has(ch) ? '\\' + ch : ch.length === 1 && ch.charCodeAt(0) < 0x20 ? `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}` : ch);
// Outside classes.
const SYNTAX = new Set('^$\\.*+?()[]{}|/'.split(''));
const literal = (ch: string): string => (SYNTAX.has(ch) ? '\\' + ch : ch.length === 1 && ch.charCodeAt(0) < 0x20 ? `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}` : ch);

function caseVariants(ch: string): string[] {
  const lo = ch.toLowerCase(), up = ch.toUpperCase();
  const out = [ch];
  for (const v of [lo, up]) if ([...v].length === 1 && !out.includes(v)) out.push(v);
  return out;
}

interface Atom { text: string; quantifiable: boolean; /** One unit a quantifier can follow directly. */ single: boolean }

class Translator {
  private i = 0;
  private groups = 0;
  private extraGroups = 0;
  private hasNumericBackref = false;
  constructor(private readonly src: string) {}

  translate(): string {
    const out = this.alternation(false, 0);
    if (this.i < this.src.length) throw this.err(`unbalanced ')'`);
    if (this.hasNumericBackref && this.extraGroups > 0) throw this.err('numbered backreferences together with possessive quantifiers or atomic groups');
    return out;
  }

  private err(msg: string): RegexTranslationError {
    return new RegexTranslationError(`${msg} (at offset ${this.i} of /${this.src}/)`);
  }
  private peek(k = 0): string { return this.src[this.i + k] ?? ''; }
  private char(): string {
    const cp = this.src.codePointAt(this.i)!;
    const c = String.fromCodePoint(cp);
    this.i += c.length;
    return c;
  }

  // alternation := sequence ('|' sequence)*
  private alternation(ci: boolean, depth: number): string {
    const parts = [this.sequence(ci, depth)];
    while (this.peek() === '|') { this.i++; parts.push(this.sequence(ci, depth)); }
    return parts.join('|');
  }

  private sequence(ci: boolean, depth: number): string {
    let out = '';
    while (this.i < this.src.length && this.peek() !== '|' && this.peek() !== ')') {
      const atom = this.atom(ci, depth);
      if (atom === null) continue; // a comment
      out += this.quantified(atom);
    }
    return out;
  }

  /** Applies the quantifiers that follow an atom (they may stack: X{2}+ is (X{2})+ in Ruby syntax). */
  private quantified(atom: Atom): string {
    let cur = atom.text, single = atom.single;
    for (;;) {
      const c = this.peek();
      let q: string | null = null;
      if (c === '*' || c === '+' || c === '?') { this.i++; q = c; }
      else if (c === '{') {
        const m = /^\{(\d*)(?:(,)(\d*))?\}/.exec(this.src.slice(this.i));
        if (!m || m[1] === '' && (m[2] === undefined || m[3] === '')) break; // a literal brace
        this.i += m[0].length;
        q = m[2] === undefined ? `{${m[1]}}` : `{${m[1] || '0'},${m[3]}}`;
      } else break;
      if (!atom.quantifiable) throw this.err('quantifier after nothing to repeat');
      let lazy = '', possessive = false;
      if (this.peek() === '?') { this.i++; lazy = '?'; }
      else if (this.peek() === '+' && q.length === 1) { this.i++; possessive = true; }
      const base = single ? cur : `(?:${cur})`;
      if (possessive) { cur = this.atomic(base + q); single = false; }
      else { cur = base + q + lazy; single = false; }
    }
    return cur;
  }

  private atomic(body: string): string {
    const name = `hcxAtomic${++this.extraGroups}`;
    return `(?=(?<${name}>${body}))\\k<${name}>`;
  }

  private atom(ci: boolean, depth: number): Atom | null {
    const c = this.peek();
    if (c === '(') return this.group(ci, depth);
    if (c === '[') return { text: this.klass(ci), quantifiable: true, single: true };
    if (c === '\\') return this.escape(ci);
    this.i++;
    switch (c) {
      case '.': return { text: '[^\\n]', quantifiable: true, single: true };
      case '^': return { text: '(?<![^\\n])', quantifiable: false, single: true };
      case '$': return { text: '(?![^\\n])', quantifiable: false, single: true };
      case '{': return { text: '\\{', quantifiable: true, single: true };
      case '}': return { text: '\\}', quantifiable: true, single: true };
      case ']': return { text: '\\]', quantifiable: true, single: true };
      case '*': case '+': case '?': throw this.err(`quantifier '${c}' after nothing to repeat`);
      default: {
        this.i--;
        const ch = this.char();
        if (ci) { const v = caseVariants(ch); if (v.length > 1) return { text: '[' + v.map(classLiteral).join('') + ']', quantifiable: true, single: true }; }
        return { text: literal(ch), quantifiable: true, single: true };
      }
    }
  }

  private group(ci: boolean, depth: number): Atom | null {
    this.i++; // (
    const rest = this.src.slice(this.i);
    let open: string;
    let atomic = false;
    let quantifiable = true;
    let inner = ci;
    if (rest.startsWith('?#')) {
      const end = this.src.indexOf(')', this.i);
      if (end < 0) throw this.err('unterminated comment');
      this.i = end + 1;
      return null;
    } else if (rest.startsWith('?:')) { open = '(?:'; this.i += 2; }
    else if (rest.startsWith('?>')) { open = '(?:'; atomic = true; this.i += 2; }
    else if (rest.startsWith('?=') || rest.startsWith('?!')) { open = '(' + rest.slice(0, 2); this.i += 2; quantifiable = false; }
    else if (rest.startsWith('?<=') || rest.startsWith('?<!')) { open = '(' + rest.slice(0, 3); this.i += 3; quantifiable = false; }
    else if (/^\?<[A-Za-z_]\w*>/.test(rest) || /^\?P<[A-Za-z_]\w*>/.test(rest)) {
      const m = /^\?P?<([A-Za-z_]\w*)>/.exec(rest)!;
      open = `(?<${m[1]}>`; this.i += m[0].length; this.groups++;
    } else if (/^\?[imx-]+:/.test(rest)) {
      const m = /^\?([imx-]+):/.exec(rest)!;
      const [on, off = ''] = m[1].split('-');
      if (/[mx]/.test(on) || /[mx]/.test(off)) throw this.err(`inline option (?${m[1]}:...) is not supported`);
      if (on.includes('i')) inner = true;
      if (off.includes('i')) inner = false;
      open = '(?:'; this.i += m[0].length;
    } else if (rest.startsWith('?')) {
      throw this.err(`group syntax (${rest.slice(0, 4)}... is not supported`);
    } else { open = '('; this.groups++; }
    const body = this.alternation(inner, depth + 1);
    if (this.peek() !== ')') throw this.err('missing )');
    this.i++;
    const text = open + body + ')';
    return atomic ? { text: this.atomic(text), quantifiable, single: false } : { text, quantifiable, single: true };
  }

  private escape(ci: boolean): Atom {
    this.i++; // backslash
    if (this.i >= this.src.length) throw this.err('trailing backslash');
    const rest = this.src.slice(this.i);
    const braced = /^([pP])\{([^}]*)\}/.exec(rest);
    if (braced) { this.i += braced[0].length; return { text: property(braced[2], braced[1] === 'P'), quantifiable: true, single: true }; }
    const hexBraced = /^x\{([0-9a-fA-F]{1,8})\}/.exec(rest);
    if (hexBraced) { this.i += hexBraced[0].length; return this.codePoint(parseInt(hexBraced[1], 16), ci); }
    const hex2 = /^x([0-9a-fA-F]{1,2})/.exec(rest);
    if (hex2) { this.i += hex2[0].length; return this.codePoint(parseInt(hex2[1], 16), ci); }
    const u4 = /^u([0-9a-fA-F]{4})/.exec(rest);
    if (u4) { this.i += u4[0].length; return this.codePoint(parseInt(u4[1], 16), ci); }
    const backref = /^([1-9]\d*)/.exec(rest);
    if (backref) { this.i += backref[0].length; this.hasNumericBackref = true; return { text: '\\' + backref[1], quantifiable: true, single: true }; }
    const named = /^k<([A-Za-z_]\w*)>/.exec(rest);
    if (named) { this.i += named[0].length; return { text: `\\k<${named[1]}>`, quantifiable: true, single: true }; }
    const c = this.char();
    switch (c) {
      case 's': return { text: SPACE, quantifiable: true, single: true };
      case 'S': return { text: '\\P{White_Space}', quantifiable: true, single: true };
      case 'd': return { text: '\\p{Nd}', quantifiable: true, single: true };
      case 'D': return { text: '\\P{Nd}', quantifiable: true, single: true };
      case 'w': return { text: `[${WORD_OUT}]`, quantifiable: true, single: true };
      case 'W': return { text: `[^${WORD_OUT}]`, quantifiable: true, single: true };
      case 'h': return { text: `[${HEX}]`, quantifiable: true, single: true };
      case 'H': return { text: `[^${HEX}]`, quantifiable: true, single: true };
      case 'b': return { text: `(?:(?<=[${WORD_OUT}])(?![${WORD_OUT}])|(?<![${WORD_OUT}])(?=[${WORD_OUT}]))`, quantifiable: false, single: true };
      case 'B': return { text: `(?:(?<=[${WORD_OUT}])(?=[${WORD_OUT}])|(?<![${WORD_OUT}])(?![${WORD_OUT}]))`, quantifiable: false, single: true };
      case 'A': return { text: '^', quantifiable: false, single: true };
      case 'z': return { text: '$', quantifiable: false, single: true };
      case 'Z': return { text: '(?=\\n?$)', quantifiable: false, single: true };
      case 'R': return { text: '(?:\\r\\n|[\\n\\v\\f\\r\\x85\\u2028\\u2029])', quantifiable: true, single: true };
      case 'n': return { text: '\\n', quantifiable: true, single: true };
      case 'r': return { text: '\\r', quantifiable: true, single: true };
      case 't': return { text: '\\t', quantifiable: true, single: true };
      case 'f': return { text: '\\f', quantifiable: true, single: true };
      case 'v': return { text: '\\v', quantifiable: true, single: true };
      case 'a': return { text: '\\x07', quantifiable: true, single: true };
      case 'e': return { text: '\\x1b', quantifiable: true, single: true };
      case '0': return { text: '\\x00', quantifiable: true, single: true };
      case 'G': case 'K': case 'X': case 'y': case 'Y': case 'g': case 'N': case 'O':
        throw this.err(`\\${c} has no faithful JavaScript equivalent`);
      default:
        if (/[A-Za-z]/.test(c)) throw this.err(`unknown escape \\${c}`);
        return this.codePoint(c.codePointAt(0)!, ci);
    }
  }

  private codePoint(cp: number, ci: boolean): Atom {
    const ch = String.fromCodePoint(cp);
    if (ci) { const v = caseVariants(ch); if (v.length > 1) return { text: '[' + v.map(classLiteral).join('') + ']', quantifiable: true, single: true }; }
    return { text: literal(ch), quantifiable: true, single: true };
  }

  /** A bracketed class, written for 'v' mode (nested classes and && intersections are native there). */
  private klass(ci: boolean): string {
    this.i++; // [
    let negated = false;
    if (this.peek() === '^') { negated = true; this.i++; }
    const operands: string[][] = [[]];
    let first = true;
    for (;;) {
      if (this.i >= this.src.length) throw this.err('unterminated character class');
      const c = this.peek();
      if (c === ']' && !first) { this.i++; break; }
      first = false;
      const items = operands[operands.length - 1];
      if (c === '&' && this.peek(1) === '&') { this.i += 2; operands.push([]); continue; }
      if (c === '[') {
        const posix = /^\[:(\^?)([a-z]+):\]/.exec(this.src.slice(this.i));
        if (posix) {
          const body = POSIX[posix[2]];
          if (!body) throw this.err(`unknown POSIX class [:${posix[2]}:]`);
          this.i += posix[0].length;
          items.push(posix[1] ? `[^${body.startsWith('[') ? body.slice(1, -1) : body}]` : body.startsWith('[') ? body : `[${body}]`);
          continue;
        }
        items.push(this.klass(ci));
        continue;
      }
      // a single character, escape or range
      const lo = this.classAtom();
      if (lo.kind === 'set') { items.push(lo.text); continue; }
      if (this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== '') {
        const save = this.i;
        this.i++;
        if (this.peek() === '[' || (this.peek() === '&' && this.peek(1) === '&')) { this.i = save; items.push(ci ? this.ciChar(lo.cp) : classLiteral(String.fromCodePoint(lo.cp))); continue; }
        const hi = this.classAtom();
        if (hi.kind === 'set') throw this.err('a range cannot end in a character set');
        if (hi.cp < lo.cp) throw this.err('character class range out of order');
        items.push(this.range(lo.cp, hi.cp, ci));
        continue;
      }
      items.push(ci ? this.ciChar(lo.cp) : classLiteral(String.fromCodePoint(lo.cp)));
    }
    const ops = operands.map((items) => (items.length === 0 ? null : `[${items.join('')}]`));
    if (ops.some((o) => o === null)) throw this.err('empty operand in a character class intersection');
    const body = ops.length === 1 ? ops[0]!.slice(1, -1) : ops.join('&&');
    return negated ? `[^${body}]` : `[${body}]`;
  }

  private ciChar(cp: number): string {
    return caseVariants(String.fromCodePoint(cp)).map(classLiteral).join('');
  }

  private range(lo: number, hi: number, ci: boolean): string {
    const a = classLiteral(String.fromCodePoint(lo)), b = classLiteral(String.fromCodePoint(hi));
    let out = `${a}-${b}`;
    if (ci) {
      // Add the other case of any ASCII letters in the range (Oniguruma folds case inside (?i:)).
      for (const [x, y] of [[0x41, 0x5a], [0x61, 0x7a]]) {
        const s = Math.max(lo, x), e = Math.min(hi, y);
        if (s <= e) out += `${String.fromCharCode(s ^ 0x20)}-${String.fromCharCode(e ^ 0x20)}`;
      }
      if (hi > 0x7f && lo < 0x10ffff) {
        // Beyond ASCII, only single characters are folded here.
        if (hi - lo > 0) throw this.err('case-insensitive non-ASCII ranges are not supported');
      }
    }
    return out;
  }

  private classAtom(): { kind: 'char'; cp: number } | { kind: 'set'; text: string } {
    const c = this.peek();
    if (c !== '\\') { const ch = this.char(); return { kind: 'char', cp: ch.codePointAt(0)! }; }
    this.i++;
    const rest = this.src.slice(this.i);
    const braced = /^([pP])\{([^}]*)\}/.exec(rest);
    if (braced) { this.i += braced[0].length; return { kind: 'set', text: property(braced[2], braced[1] === 'P') }; }
    const hexBraced = /^x\{([0-9a-fA-F]{1,8})\}/.exec(rest);
    if (hexBraced) { this.i += hexBraced[0].length; return { kind: 'char', cp: parseInt(hexBraced[1], 16) }; }
    const hex2 = /^x([0-9a-fA-F]{1,2})/.exec(rest);
    if (hex2) { this.i += hex2[0].length; return { kind: 'char', cp: parseInt(hex2[1], 16) }; }
    const u4 = /^u([0-9a-fA-F]{4})/.exec(rest);
    if (u4) { this.i += u4[0].length; return { kind: 'char', cp: parseInt(u4[1], 16) }; }
    const e = this.char();
    const set: Record<string, string> = {
      s: SPACE, S: '\\P{White_Space}', d: '\\p{Nd}', D: '\\P{Nd}', w: `[${WORD}]`, W: `[^${WORD}]`, h: `[${HEX}]`, H: `[^${HEX}]`,
    };
    if (set[e]) return { kind: 'set', text: set[e] };
    const ctl: Record<string, number> = { n: 10, r: 13, t: 9, f: 12, v: 11, a: 7, e: 27, '0': 0 };
    if (ctl[e] !== undefined) return { kind: 'char', cp: ctl[e] };
    if (/[A-Za-z0-9]/.test(e)) throw this.err(`unknown escape \\${e} in a character class`);
    return { kind: 'char', cp: e.codePointAt(0)! };
  }
}

/** The JavaScript source ('v' flag) of an Oniguruma pattern; throws RegexTranslationError for what JS cannot express. */
export function translateOniguruma(pattern: string): string {
  return new Translator(pattern).translate();
}

/** Compiles an Oniguruma pattern to a global JS regex ('gv'). */
export function compileOniguruma(pattern: string): RegExp {
  const src = translateOniguruma(pattern);
  try {
    return new RegExp(src, 'gv');
  } catch (e) {
    throw new RegexTranslationError(`pattern /${pattern}/ translated to /${src}/ does not compile: ${(e as Error).message}`);
  }
}

/** A regex matching a literal string. */
export function literalRegex(s: string): RegExp {
  return new RegExp(s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'), 'gu');
}

/**
 * All matches of a global regex in s, as Oniguruma's find iterator reports them: an empty match right where the
 * previous match ended is skipped (the search moves on by one character).
 */
export function findMatches(re: RegExp, s: string, out: number[] = []): number[] {
  re.lastIndex = 0;
  let lastEnd = -1;
  while (re.lastIndex <= s.length) {
    const m = re.exec(s);
    if (m === null) break;
    const start = m.index, end = start + m[0].length;
    if (start === end) {
      // Advance one code point past an empty match.
      const cp = s.codePointAt(end);
      re.lastIndex = end + (cp !== undefined && cp > 0xffff ? 2 : 1);
      if (end === lastEnd) continue;
    }
    out.push(start, end);
    lastEnd = end;
  }
  return out;
}

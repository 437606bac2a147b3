// Added tokens (tokenizer.json "added_tokens"): found in the text before anything else, leftmost-longest
// (Hugging Face's Aho-Corasick pass), with their lstrip/rstrip/single_word rules. Tokens with normalized=false
// are found in the raw text; normalized=true ones in the normalized text of the pieces between. A special
// token that is not allowed (plain-text encoding, or outside the allowed ranges) is left as text, exactly as
// tokenizers' encode_special_tokens does: its match is skipped, not re-searched for shorter tokens.

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
  normalized: boolean;
}

interface TrieNode { next: Map<number, TrieNode>; token: AddedToken | null }

const WORD_CHAR = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]/u;
const SPACE = /\p{White_Space}/u;

/** A match: [start, end) of the text and the token (after lstrip/rstrip widening). */
export interface AddedMatch { start: number; end: number; token: AddedToken }

export class AddedTokenMatcher implements AddedMatcher {
  private readonly root: TrieNode = { next: new Map(), token: null };
  private readonly firstUnits = new Set<number>();
  readonly size: number;

  constructor(tokens: readonly AddedToken[]) {
    for (const t of tokens) {
      if (t.content.length === 0) continue;
      let node = this.root;
      for (let i = 0; i < t.content.length; i++) {
        const c = t.content.charCodeAt(i);
        let n = node.next.get(c);
        if (!n) { n = { next: new Map(), token: null }; node.next.set(c, n); }
        node = n;
      }
      node.token = t;
      this.firstUnits.add(t.content.charCodeAt(0));
    }
    this.size = tokens.length;
  }

  /** Every token that occurs somewhere in s. */
  scan(s: string): AddedToken[] {
    const found = new Set<AddedToken>();
    for (let i = 0; i < s.length; i++) {
      if (!this.firstUnits.has(s.charCodeAt(i))) continue;
      let node: TrieNode | undefined = this.root;
      for (let j = i; j < s.length; j++) {
        node = node.next.get(s.charCodeAt(j));
        if (!node) break;
        if (node.token) found.add(node.token);
      }
    }
    return [...found];
  }

  /**
   * The accepted matches in s, in order. allow(token, start, end) decides whether a found token is used
   * (false: the text of the match stays ordinary text).
   */
  find(s: string, allow: (t: AddedToken, start: number, end: number) => boolean): AddedMatch[] {
    const out: AddedMatch[] = [];
    if (this.size === 0) return out;
    let startOffset = 0; // end of the previous accepted match
    for (let i = 0; i < s.length;) {
      if (!this.firstUnits.has(s.charCodeAt(i))) { i++; continue; }
      // Longest token starting at i.
      let node: TrieNode | undefined = this.root, best: AddedToken | null = null, bestEnd = i;
      for (let j = i; j < s.length; j++) {
        node = node.next.get(s.charCodeAt(j));
        if (!node) break;
        if (node.token) { best = node.token; bestEnd = j + 1; }
      }
      if (!best) { i++; continue; }
      let start = i, stop = bestEnd;
      // The match is consumed either way: the search goes on after it.
      i = bestEnd;
      if (!allow(best, start, stop)) continue;
      if (best.singleWord) {
        const startSpace = start === 0 || !WORD_CHAR.test(lastChar(s, start));
        const stopSpace = stop === s.length || !WORD_CHAR.test(firstChar(s, stop));
        if (!startSpace || !stopSpace) continue;
      }
      if (best.lstrip) {
        let a = start;
        while (a > 0 && SPACE.test(s[a - 1])) a--;
        start = Math.max(a, startOffset);
      }
      if (best.rstrip) { while (stop < s.length && SPACE.test(s[stop])) stop++; i = stop; }
      out.push({ start, end: stop, token: best });
      startOffset = stop;
    }
    return out;
  }
}

function lastChar(s: string, end: number): string {
  const c = s.charCodeAt(end - 1);
  return (c & 0xfc00) === 0xdc00 && end >= 2 ? s.slice(end - 2, end) : s[end - 1];
}
function firstChar(s: string, start: number): string {
  return String.fromCodePoint(s.codePointAt(start)!);
}

// C's isspace, which llama.cpp strips with.
const C_SPACE = /[ \t\n\v\f\r]/;

export interface AddedMatcher {
  find(s: string, allow: (t: AddedToken, start: number, end: number) => boolean): AddedMatch[];
}

/**
 * llama.cpp's special-token partition: tokens longest first, each splitting every text fragment left at all its
 * occurrences (lstrip/rstrip drop the adjacent whitespace of the neighbouring text). Tokens that occur nowhere are
 * skipped up front with one trie scan, so thousands of special tokens cost little.
 */
export class LongestFirstMatcher implements AddedMatcher {
  private readonly all: AddedTokenMatcher;
  private readonly rank = new Map<AddedToken, number>();
  constructor(private readonly tokens: readonly AddedToken[]) {
    this.all = new AddedTokenMatcher(tokens);
    [...tokens].sort((a, b) => b.content.length - a.content.length).forEach((t, i) => this.rank.set(t, i));
  }

  find(s: string, allow: (t: AddedToken, start: number, end: number) => boolean): AddedMatch[] {
    const present = this.all.scan(s).filter((t) => t.content.length > 0).sort((a, b) => this.rank.get(a)! - this.rank.get(b)!);
    if (present.length === 0) return [];
    // Fragments: text ranges, or a token.
    type Frag = { start: number; end: number; token: AddedToken | null };
    let frags: Frag[] = [{ start: 0, end: s.length, token: null }];
    for (const tok of present) {
      const out: Frag[] = [];
      for (const f of frags) {
        if (f.token) { out.push(f); continue; }
        let a = f.start;
        const e = f.end;
        for (;;) {
          let m = s.indexOf(tok.content, a);
          while (m >= 0 && m + tok.content.length <= e && !allow(tok, m, m + tok.content.length)) m = s.indexOf(tok.content, m + 1);
          if (m < 0 || m + tok.content.length > e) { if (a < e) out.push({ start: a, end: e, token: null }); break; }
          let leftEnd = m;
          if (tok.lstrip) while (leftEnd > a && C_SPACE.test(s[leftEnd - 1])) leftEnd--;
          if (leftEnd > a) out.push({ start: a, end: leftEnd, token: null });
          out.push({ start: m, end: m + tok.content.length, token: tok });
          a = m + tok.content.length;
          if (tok.rstrip) while (a < e && C_SPACE.test(s[a])) a++;
        }
      }
      frags = out;
    }
    return frags.filter((f) => f.token).map((f) => ({ start: f.start, end: f.end, token: f.token! }));
  }
}

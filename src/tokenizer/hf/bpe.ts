// The tokenizer.json BPE model, as Hugging Face tokenizers runs it (models/bpe): a word's characters become
// vocabulary ids (byte_fallback: <0xXX> ids for a character missing from the vocabulary; else unk, fused when
// fuse_unk; else the character is dropped), then the lowest-ranked merge is applied first, leftmost on ties, until
// none applies. ignore_merges: a word that is itself in the vocabulary is one token. Merges are looked up in an
// open-addressing table of id pairs; words are merged with a heap, so long words cost n log n, and words are
// cached. Words longer than LONG are first cut where no vocabulary token could ever span the cut (no token
// contains that character pair), which gives the same tokens (merges on either side never interact) and lets
// the cache work for tokenizers without word splitting (Gemma's whole-text "words").
import { BYTE_TO_UNICODE } from '../utf8.js';
import type { Where } from './json.js';

/** (a, b) -> (rank, merged id), open addressing. */
export class PairTable {
  private readonly keysA: Int32Array;
  private readonly keysB: Int32Array;
  private readonly ranks: Int32Array;
  private readonly ids: Int32Array;
  private readonly mask: number;
  size = 0;
  constructor(capacity: number) {
    let n = 16;
    while (n < capacity * 2) n *= 2;
    this.mask = n - 1;
    this.keysA = new Int32Array(n).fill(-1);
    this.keysB = new Int32Array(n);
    this.ranks = new Int32Array(n);
    this.ids = new Int32Array(n);
  }
  private slot(a: number, b: number): number {
    let h = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77)) >>> 0;
    h ^= h >>> 15;
    return h & this.mask;
  }
  /** Later entries replace earlier ones for the same pair (as a Rust HashMap built from the list does). */
  set(a: number, b: number, rank: number, id: number): void {
    let i = this.slot(a, b);
    while (this.keysA[i] !== -1 && (this.keysA[i] !== a || this.keysB[i] !== b)) i = (i + 1) & this.mask;
    if (this.keysA[i] === -1) this.size++;
    this.keysA[i] = a; this.keysB[i] = b; this.ranks[i] = rank; this.ids[i] = id;
  }
  /** Slot of the pair, or -1. */
  find(a: number, b: number): number {
    let i = this.slot(a, b);
    for (;;) {
      const k = this.keysA[i];
      if (k === -1) return -1;
      if (k === a && this.keysB[i] === b) return i;
      i = (i + 1) & this.mask;
    }
  }
  rank(slot: number): number { return this.ranks[slot]; }
  id(slot: number): number { return this.ids[slot]; }
}

export interface BpeOptions {
  vocab: Map<string, number>;
  merges: [string, string][];
  unkToken: string | null;
  continuingSubwordPrefix: string | null;
  endOfWordSuffix: string | null;
  fuseUnk: boolean;
  byteFallback: boolean;
  ignoreMerges: boolean;
  /** A pair listed twice keeps its first rank (llama.cpp) instead of its last (tokenizers). */
  firstMergeWins?: boolean;
}

const LONG = 48;
const BYTE_TOKEN = /^<0x[0-9A-F]{2}>$/;
const CACHE_LIMIT = 1 << 17;
const encoder = new TextEncoder();
const pairKey = (a: number, b: number): number => a * 0x110000 + b;

export class BpeModel {
  readonly vocab: Map<string, number>;
  readonly idToToken: string[] = [];
  private readonly merges: PairTable;
  private readonly unkId: number;
  private readonly prefix: string;
  private readonly suffix: string;
  private readonly fuseUnk: boolean;
  private readonly byteFallback: boolean;
  private readonly ignoreMerges: boolean;
  /** Vocabulary id of each byte's GPT-2 character, or -1. */
  private readonly byteLevelIds = new Int32Array(256);
  /** Vocabulary id of <0xXX>, or -1. */
  private readonly fallbackIds = new Int32Array(256);
  /** Character pairs that occur inside some vocabulary token (null: never cut long words). */
  private readonly inside: Set<number> | null;
  private readonly cache = new Map<string, number[]>();
  private readonly byteCache = new Map<string, number[]>();
  private readonly scratch = new Uint8Array(4);

  constructor(o: BpeOptions, w: Where) {
    this.vocab = o.vocab;
    for (const [t, id] of o.vocab) this.idToToken[id] = t;
    this.prefix = o.continuingSubwordPrefix ?? '';
    this.suffix = o.endOfWordSuffix ?? '';
    this.fuseUnk = o.fuseUnk; this.byteFallback = o.byteFallback; this.ignoreMerges = o.ignoreMerges;
    if (o.unkToken !== null && !o.vocab.has(o.unkToken)) throw w.at('unk_token').error(`unk_token ${JSON.stringify(o.unkToken)} is not in the vocabulary`);
    this.unkId = o.unkToken === null ? -1 : o.vocab.get(o.unkToken)!;
    this.merges = new PairTable(o.merges.length);
    const plen = this.prefix.length;
    let crossesSpecial = false;
    o.merges.forEach(([a, b], rank) => {
      const ia = o.vocab.get(a), ib = o.vocab.get(b);
      if (ia === undefined) throw w.at('merges').at(rank).error(`token ${JSON.stringify(a)} is not in the vocabulary`);
      if (ib === undefined) throw w.at('merges').at(rank).error(`token ${JSON.stringify(b)} is not in the vocabulary`);
      const merged = a + (plen > 0 && b.startsWith(this.prefix) ? b.slice(plen) : b);
      const iz = o.vocab.get(merged);
      if (iz === undefined) throw w.at('merges').at(rank).error(`merged token ${JSON.stringify(merged)} is not in the vocabulary`);
      if (o.firstMergeWins && this.merges.find(ia, ib) >= 0) return;
      this.merges.set(ia, ib, rank, iz);
      if (ia === this.unkId || ib === this.unkId || (a.startsWith('<0x') && BYTE_TOKEN.test(a)) || (b.startsWith('<0x') && BYTE_TOKEN.test(b))) crossesSpecial = true;
    });
    for (let b = 0; b < 256; b++) {
      this.byteLevelIds[b] = o.vocab.get(BYTE_TO_UNICODE[b]) ?? -1;
      this.fallbackIds[b] = o.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`) ?? -1;
    }
    // Cutting long words is exact only when symbols are plain characters joined by merges.
    this.inside = crossesSpecial || plen > 0 || this.suffix.length > 0 ? null : insidePairs(o.vocab.keys());
  }

  get size(): number { return this.idToToken.length; }
  token(id: number): string | undefined { return this.idToToken[id]; }
  id(token: string): number | undefined { return this.vocab.get(token); }

  /**
   * Appends the ids of one word. byteLevel: the word is raw text whose UTF-8 bytes stand for GPT-2's byte
   * characters (the ByteLevel pre-tokenizer's mapping, done here). lens, when given, receives each token's
   * length in UTF-16 units of `word` (a token inside one character gets that character's length).
   */
  tokenize(word: string, byteLevel: boolean, out: number[], spans?: number[]): void {
    if (word.length === 0) return;
    if (byteLevel && (this.prefix || this.suffix)) {
      // Prefixes and suffixes attach to byte characters: merge the byte-character string (offsets: the whole word).
      const n0 = out.length;
      this.tokenize(toByteLevel(word), false, out);
      if (spans) for (let k = n0; k < out.length; k++) spans.push(0, word.length);
      return;
    }
    const cache = byteLevel ? this.byteCache : this.cache;
    if (!spans) {
      const hit = cache.get(word);
      if (hit !== undefined) { for (let i = 0; i < hit.length; i++) out.push(hit[i]); return; }
    }
    const ids: number[] = [];
    const sp: number[] | undefined = spans ? [] : undefined;
    if (this.ignoreMerges) {
      const id = this.vocab.get(byteLevel ? toByteLevel(word) : word);
      if (id !== undefined) { ids.push(id); sp?.push(0, word.length); }
    }
    if (ids.length === 0) {
      if (!byteLevel && this.inside && word.length > LONG) this.cutAndMerge(word, ids, sp);
      else this.mergeWord(word, byteLevel, 0, word.length, ids, sp);
    }
    for (let i = 0; i < ids.length; i++) out.push(ids[i]);
    if (spans && sp) for (const x of sp) spans.push(x);
    if (!spans) {
      if (cache.size >= CACHE_LIMIT) cache.clear();
      cache.set(word, ids);
    }
  }

  /** Cuts the word between characters no token spans and merges each piece (cached). */
  private cutAndMerge(word: string, ids: number[], sp: number[] | undefined): void {
    const inside = this.inside!;
    let start = 0, prevCp = word.codePointAt(0)!;
    let i = prevCp > 0xffff ? 2 : 1;
    const flush = (end: number) => {
      const piece = word.slice(start, end);
      const hit = sp ? undefined : this.cache.get(piece);
      if (hit !== undefined) { for (const id of hit) ids.push(id); return; }
      const pieceIds: number[] = [];
      const pieceSp: number[] | undefined = sp ? [] : undefined;
      this.mergeWord(piece, false, 0, piece.length, pieceIds, pieceSp);
      for (const id of pieceIds) ids.push(id);
      if (sp && pieceSp) for (let k = 0; k < pieceSp.length; k++) sp.push(pieceSp[k] + start);
      if (!sp) { if (this.cache.size >= CACHE_LIMIT) this.cache.clear(); this.cache.set(piece, pieceIds); }
    };
    while (i < word.length) {
      const cp = word.codePointAt(i)!;
      if (!inside.has(pairKey(prevCp, cp))) { flush(i); start = i; }
      prevCp = cp;
      i += cp > 0xffff ? 2 : 1;
    }
    flush(word.length);
    if (this.fuseUnk && this.unkId >= 0) fuseAdjacent(ids, sp, this.unkId);
  }

  /** The initial symbols of word[from, to), then all merges. */
  private mergeWord(word: string, byteLevel: boolean, from: number, to: number, out: number[], sp: number[] | undefined): void {
    const sym: number[] = [];
    const st: number[] | null = sp ? [] : null, en: number[] | null = sp ? [] : null;
    let unk = -1, unkStart = 0, unkEnd = 0;
    const push = (id: number, s: number, e: number) => {
      if (unk >= 0) { sym.push(unk); st?.push(unkStart); en?.push(unkEnd); unk = -1; }
      sym.push(id); st?.push(s); en?.push(e);
    };
    const unknown = (s: number, e: number) => {
      if (this.unkId < 0) return; // dropped, as Rust does without an unk token
      if (unk >= 0 && this.fuseUnk) { unkEnd = e; return; }
      if (unk >= 0) { sym.push(unk); st?.push(unkStart); en?.push(unkEnd); }
      unk = this.unkId; unkStart = s; unkEnd = e;
    };
    if (byteLevel) {
      for (let i = from; i < to;) {
        const cp = word.codePointAt(i)!;
        const w = cp > 0xffff ? 2 : 1;
        const nb = utf8Bytes(cp, this.scratch);
        for (let k = 0; k < nb; k++) {
          const b = this.scratch[k];
          const id = this.byteLevelIds[b];
          if (id >= 0) push(id, i, i + w);
          else this.missing(BYTE_TO_UNICODE[b], i, i + w, push, unknown);
        }
        i += w;
      }
    } else {
      for (let i = from; i < to;) {
        const cp = word.codePointAt(i)!;
        const w = cp > 0xffff ? 2 : 1;
        let s = w === 1 ? word[i] : word.slice(i, i + w);
        if (this.prefix && i > from) s = this.prefix + s;
        if (this.suffix && i + w >= to) s = s + this.suffix;
        const id = this.vocab.get(s);
        if (id !== undefined) push(id, i, i + w);
        else this.missing(s, i, i + w, push, unknown);
        i += w;
      }
    }
    if (unk >= 0) { sym.push(unk); st?.push(unkStart); en?.push(unkEnd); }
    if (sym.length > 1) this.mergeAll(sym, st, en);
    for (let k = 0; k < sym.length; k++) {
      if (sym[k] < 0) continue;
      out.push(sym[k]);
      if (sp) sp.push(st![k], en![k]);
    }
  }

  private missing(s: string, a: number, b: number, push: (id: number, s: number, e: number) => void, unknown: (s: number, e: number) => void): void {
    if (this.byteFallback) {
      const bytes = encoder.encode(s);
      let ok = true;
      for (const x of bytes) if (this.fallbackIds[x] < 0) { ok = false; break; }
      if (ok) { for (const x of bytes) push(this.fallbackIds[x], a, b); return; }
    }
    unknown(a, b);
  }

  /**
   * Applies merges to sym in place (merged-away entries become -1), in Word::merge_all's order: a heap of
   * (rank, position); an entry is stale when its left symbol is gone or the pair now merges to a different id.
   */
  private mergeAll(sym: number[], st: number[] | null, en: number[] | null): void {
    const n = sym.length, m = this.merges;
    if (n === 2) {
      const k = m.find(sym[0], sym[1]);
      if (k >= 0) { sym[0] = m.id(k); sym[1] = -1; if (en) en[0] = en[1]; }
      return;
    }
    const next = new Int32Array(n), prev = new Int32Array(n);
    for (let i = 0; i < n; i++) { next[i] = i + 1 < n ? i + 1 : -1; prev[i] = i - 1; }
    // Heap of (rank, position, merged id) packed as rank * n + position; the id is re-read from the table.
    const heap: number[] = [];
    const hid: number[] = [];
    const push = (rank: number, pos: number, id: number) => {
      let i = heap.length;
      const v = rank * n + pos;
      heap.push(v); hid.push(id);
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (heap[p] <= v) break;
        heap[i] = heap[p]; hid[i] = hid[p]; i = p;
      }
      heap[i] = v; hid[i] = id;
    };
    const pop = (): [number, number] => {
      const top = heap[0], topId = hid[0];
      const last = heap.pop()!, lastId = hid.pop()!;
      const len = heap.length;
      if (len > 0) {
        let i = 0;
        for (;;) {
          let c = 2 * i + 1;
          if (c >= len) break;
          if (c + 1 < len && heap[c + 1] < heap[c]) c++;
          if (heap[c] >= last) break;
          heap[i] = heap[c]; hid[i] = hid[c]; i = c;
        }
        heap[i] = last; hid[i] = lastId;
      }
      return [top, topId];
    };
    for (let i = 0; i < n - 1; i++) {
      const k = m.find(sym[i], sym[i + 1]);
      if (k >= 0) push(m.rank(k), i, m.id(k));
    }
    while (heap.length > 0) {
      const [v, newId] = pop();
      const rank = Math.floor(v / n), pos = v - rank * n;
      if (sym[pos] < 0) continue;
      const j = next[pos];
      if (j < 0) continue;
      const k = m.find(sym[pos], sym[j]);
      if (k < 0 || m.id(k) !== newId) continue;
      sym[pos] = newId;
      sym[j] = -1;
      if (en) en[pos] = en[j];
      const jn = next[j];
      next[pos] = jn;
      if (jn >= 0) prev[jn] = pos;
      const p = prev[pos];
      if (p >= 0) { const kp = m.find(sym[p], sym[pos]); if (kp >= 0) push(m.rank(kp), p, m.id(kp)); }
      if (jn >= 0) { const kn = m.find(sym[pos], sym[jn]); if (kn >= 0) push(m.rank(kn), pos, m.id(kn)); }
    }
  }
}

/** Adjacent unk ids become one (what fuse_unk gives within one word). */
function fuseAdjacent(ids: number[], sp: number[] | undefined, unk: number): void {
  let w = 0;
  for (let r = 0; r < ids.length; r++) {
    if (w > 0 && ids[r] === unk && ids[w - 1] === unk) { if (sp) sp[2 * w - 1] = sp[2 * r + 1]; continue; }
    ids[w] = ids[r];
    if (sp) { sp[2 * w] = sp[2 * r]; sp[2 * w + 1] = sp[2 * r + 1]; }
    w++;
  }
  ids.length = w;
  if (sp) sp.length = 2 * w;
}

/** Every pair of adjacent characters inside the given tokens. */
function insidePairs(tokens: Iterable<string>): Set<number> {
  const set = new Set<number>();
  for (const t of tokens) {
    let prev = -1;
    for (let i = 0; i < t.length;) {
      const cp = t.codePointAt(i)!;
      if (prev >= 0) set.add(pairKey(prev, cp));
      prev = cp;
      i += cp > 0xffff ? 2 : 1;
    }
  }
  return set;
}

/** UTF-8 of one code point into out (a lone surrogate becomes U+FFFD, as TextEncoder does); returns the length. */
export function utf8Bytes(cp: number, out: Uint8Array): number {
  if (cp < 0x80) { out[0] = cp; return 1; }
  if (cp < 0x800) { out[0] = 0xc0 | (cp >> 6); out[1] = 0x80 | (cp & 63); return 2; }
  if (cp < 0x10000) {
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    out[0] = 0xe0 | (cp >> 12); out[1] = 0x80 | ((cp >> 6) & 63); out[2] = 0x80 | (cp & 63); return 3;
  }
  out[0] = 0xf0 | (cp >> 18); out[1] = 0x80 | ((cp >> 12) & 63); out[2] = 0x80 | ((cp >> 6) & 63); out[3] = 0x80 | (cp & 63); return 4;
}

/** A string's UTF-8 bytes as GPT-2 byte characters. */
export function toByteLevel(s: string): string {
  let out = '';
  for (const b of encoder.encode(s)) out += BYTE_TO_UNICODE[b];
  return out;
}

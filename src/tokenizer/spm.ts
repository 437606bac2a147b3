// llama.cpp's SentencePiece-style tokenizer for "llama" GGUF vocabularies (llm_tokenizer_spm): the text (spaces
// already escaped to ▁) is split into UTF-8 characters, then adjacent symbols whose concatenation is a token are
// merged, highest token score first (leftmost on ties), until none is; a symbol that is no token is emitted as
// its bytes' <0xXX> tokens. Like the BPE model, a long text is first cut where no token contains the character
// pair (merges never cross such a cut), so pieces repeat and are cached.
import type { WordModel } from './hf/tokenizer.js';

const CACHE_LIMIT = 1 << 17;
const LONG = 48;
const pairKey = (a: number, b: number): number => a * 0x110000 + b;
const encoder = new TextEncoder();

export class SpmModel implements WordModel {
  private readonly byText = new Map<string, number>();
  private readonly byteIds = new Int32Array(256).fill(-1);
  private readonly inside = new Set<number>();
  private readonly cache = new Map<string, number[]>();

  /**
   * @param tokens token texts by id (all of them: llama.cpp merges into any token text)
   * @param scores token scores by id
   * @param unk id emitted for a byte without a <0xXX> token, or -1 (then such text is an error)
   */
  constructor(private readonly tokens: readonly string[], private readonly scores: ArrayLike<number>, private readonly unk: number, private readonly where: string) {
    // token_to_id keeps the last id of a repeated text, as llama.cpp's map assignment does.
    tokens.forEach((t, id) => this.byText.set(t, id));
    for (let b = 0; b < 256; b++) {
      const id = this.byText.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`) ?? this.byText.get(String.fromCharCode(b));
      if (id !== undefined) this.byteIds[b] = id;
    }
    for (const t of tokens) {
      let prev = -1;
      for (let i = 0; i < t.length;) {
        const cp = t.codePointAt(i)!;
        if (prev >= 0) this.inside.add(pairKey(prev, cp));
        prev = cp; i += cp > 0xffff ? 2 : 1;
      }
    }
  }

  get size(): number { return this.tokens.length; }
  token(id: number): string | undefined { return this.tokens[id]; }
  id(token: string): number | undefined { return this.byText.get(token); }

  tokenize(word: string, _byteLevel: boolean, out: number[], spans?: number[]): void {
    if (word.length === 0) return;
    if (word.length <= LONG) { this.piece(word, 0, out, spans); return; }
    let start = 0, prev = word.codePointAt(0)!;
    let i = prev > 0xffff ? 2 : 1;
    while (i < word.length) {
      const cp = word.codePointAt(i)!;
      if (!this.inside.has(pairKey(prev, cp))) { this.piece(word.slice(start, i), start, out, spans); start = i; }
      prev = cp; i += cp > 0xffff ? 2 : 1;
    }
    this.piece(word.slice(start), start, out, spans);
  }

  private piece(s: string, base: number, out: number[], spans?: number[]): void {
    if (!spans) {
      const hit = this.cache.get(s);
      if (hit) { for (const id of hit) out.push(id); return; }
    }
    const ids: number[] = [], sp: number[] = [];
    this.merge(s, ids, sp);
    for (const id of ids) out.push(id);
    if (spans) for (const x of sp) spans.push(x + base);
    else { if (this.cache.size >= CACHE_LIMIT) this.cache.clear(); this.cache.set(s, ids); }
  }

  private merge(s: string, out: number[], spans: number[]): void {
    // Symbols: UTF-16 ranges [st, en) of s.
    const st: number[] = [], en: number[] = [];
    for (let i = 0; i < s.length;) { const w = s.codePointAt(i)! > 0xffff ? 2 : 1; st.push(i); en.push(i + w); i += w; }
    const n = st.length;
    const next = new Int32Array(n), prev = new Int32Array(n), alive = new Uint8Array(n).fill(1);
    for (let i = 0; i < n; i++) { next[i] = i + 1 < n ? i + 1 : -1; prev[i] = i - 1; }
    // Max-heap on (score, then smaller left), entries (left, right, merged length).
    const hs: number[] = [], hl: number[] = [], hr: number[] = [], hn: number[] = [];
    const better = (a: number, b: number) => hs[a] > hs[b] || (hs[a] === hs[b] && hl[a] < hl[b]);
    const swap = (a: number, b: number) => {
      [hs[a], hs[b]] = [hs[b], hs[a]]; [hl[a], hl[b]] = [hl[b], hl[a]]; [hr[a], hr[b]] = [hr[b], hr[a]]; [hn[a], hn[b]] = [hn[b], hn[a]];
    };
    const push = (l: number, r: number) => {
      if (l < 0 || r < 0) return;
      const id = this.byText.get(s.slice(st[l], en[r]));
      if (id === undefined) return;
      let i = hs.length;
      hs.push(this.scores[id]); hl.push(l); hr.push(r); hn.push(en[r] - st[l]);
      while (i > 0) { const p = (i - 1) >> 1; if (!better(i, p)) break; swap(i, p); i = p; }
    };
    const pop = () => {
      const last = hs.length - 1;
      swap(0, last);
      const top = { l: hl[last], r: hr[last], n: hn[last] };
      hs.pop(); hl.pop(); hr.pop(); hn.pop();
      let i = 0;
      for (;;) {
        const a = 2 * i + 1, b = a + 1;
        let m = i;
        if (a < hs.length && better(a, m)) m = a;
        if (b < hs.length && better(b, m)) m = b;
        if (m === i) break;
        swap(i, m); i = m;
      }
      return top;
    };
    for (let i = 1; i < n; i++) push(i - 1, i);
    while (hs.length > 0) {
      const { l, r, n: len } = pop();
      if (!alive[l] || !alive[r] || (en[l] - st[l]) + (en[r] - st[r]) !== len) continue;
      en[l] = en[r]; alive[r] = 0;
      next[l] = next[r];
      if (next[r] >= 0) prev[next[r]] = l;
      push(prev[l], l);
      push(l, next[l]);
    }
    for (let i = 0; i >= 0 && i < n; i = next[i]) {
      const text = s.slice(st[i], en[i]);
      const id = this.byText.get(text);
      if (id !== undefined) { out.push(id); spans.push(st[i], en[i]); continue; }
      for (const b of encoder.encode(text)) {
        const bid = this.byteIds[b] >= 0 ? this.byteIds[b] : this.unk;
        if (bid < 0) throw new Error(`${this.where}: no token for byte 0x${b.toString(16)} (no <0x..> byte tokens and no unknown token)`);
        out.push(bid); spans.push(st[i], en[i]);
      }
    }
  }
}

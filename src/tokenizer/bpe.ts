// The BPE model: byte tokens 0..255, then learned tokens, each made by one ranked merge of two tokens.
// Encoding a pre-token applies the lowest-ranked applicable merge first (leftmost on ties), repeatedly — the
// same rule as Hugging Face tokenizers, so the exported tokenizer.json reproduces the ids exactly.

/** Pair key: vocabularies stay below 2^20 tokens, so two ids fit exactly in one double. */
export const pairKey = (a: number, b: number): number => a * 1048576 + b;
export const MAX_VOCAB = 1048576;

export class BpeModel {
  /** id -> bytes, for the 256 byte tokens and every learned token (not the special tokens). */
  readonly tokenBytes: Uint8Array[];
  /** Flat triples (left, right, result) in rank order. A result may repeat an existing token's id (same bytes). */
  readonly merges: Int32Array;
  private readonly rank = new Map<number, number>();
  private byBytes: Map<string, number> | null = null;

  constructor(merges: Int32Array) {
    this.merges = merges;
    const tb: Uint8Array[] = [];
    for (let b = 0; b < 256; b++) tb.push(Uint8Array.of(b));
    for (let r = 0; r < merges.length / 3; r++) {
      const a = merges[3 * r], b = merges[3 * r + 1], z = merges[3 * r + 2];
      if (a >= tb.length || b >= tb.length || z > tb.length) throw new Error(`bpe: merge ${r} refers to an unknown token`);
      const bytes = new Uint8Array(tb[a].length + tb[b].length);
      bytes.set(tb[a]); bytes.set(tb[b], tb[a].length);
      if (z === tb.length) tb.push(bytes);
      const key = pairKey(a, b);
      if (!this.rank.has(key)) this.rank.set(key, r);
    }
    this.tokenBytes = tb;
  }

  get size(): number { return this.tokenBytes.length; }

  /** The id of the token spelt by these bytes, or -1 (the map is built on first use). */
  idOf(bytes: ArrayLike<number>): number {
    if (!this.byBytes) {
      this.byBytes = new Map();
      for (let id = 0; id < this.tokenBytes.length; id++) this.byBytes.set(latin1(this.tokenBytes[id]), id);
    }
    return this.byBytes.get(latin1(bytes)) ?? -1;
  }

  /** Appends the ids of one pre-token, given as bytes, to out. */
  encodeBytes(bytes: number[], out: number[]): void {
    const n = bytes.length;
    if (n === 1) { out.push(bytes[0]); return; }
    if (n <= 64) this.encodeShort(bytes, out);
    else this.encodeLong(bytes, out);
  }

  // Quadratic scan, fastest for the short pieces that make up almost all text.
  private encodeShort(sym: number[], out: number[]): void {
    const m = this.merges, rank = this.rank;
    let n = sym.length;
    const ranks: number[] = new Array(n - 1);
    for (let i = 0; i < n - 1; i++) ranks[i] = rank.get(pairKey(sym[i], sym[i + 1])) ?? Infinity;
    for (;;) {
      let best = Infinity, at = -1;
      for (let i = 0; i < n - 1; i++) if (ranks[i] < best) { best = ranks[i]; at = i; }
      if (at < 0) break;
      sym[at] = m[3 * best + 2];
      sym.splice(at + 1, 1); ranks.splice(at, 1); n--;
      if (at > 0) ranks[at - 1] = rank.get(pairKey(sym[at - 1], sym[at])) ?? Infinity;
      if (at < n - 1) ranks[at] = rank.get(pairKey(sym[at], sym[at + 1])) ?? Infinity;
    }
    for (let i = 0; i < n; i++) out.push(sym[i]);
  }

  // Linked list + binary heap keyed by (rank, position): n log n for long pieces (long words, blobs).
  private encodeLong(bytes: number[], out: number[]): void {
    const m = this.merges, rank = this.rank, n = bytes.length;
    const sym = Int32Array.from(bytes), next = new Int32Array(n), prev = new Int32Array(n);
    for (let i = 0; i < n; i++) { next[i] = i + 1 < n ? i + 1 : -1; prev[i] = i - 1; }
    const alive = new Uint8Array(n).fill(1);
    // Heap entries: rank * n + position, so one number orders by rank then position (ranks < 2^20, n < 2^32).
    const heap: number[] = [];
    const push = (v: number) => {
      let i = heap.length; heap.push(v);
      while (i > 0) { const p = (i - 1) >> 1; if (heap[p] <= v) break; heap[i] = heap[p]; i = p; }
      heap[i] = v;
    };
    const pop = (): number => {
      const top = heap[0], last = heap.pop()!;
      if (heap.length > 0) {
        let i = 0; const len = heap.length;
        for (;;) {
          let c = 2 * i + 1; if (c >= len) break;
          if (c + 1 < len && heap[c + 1] < heap[c]) c++;
          if (heap[c] >= last) break;
          heap[i] = heap[c]; i = c;
        }
        heap[i] = last;
      }
      return top;
    };
    const consider = (i: number) => {
      const j = next[i]; if (j < 0) return;
      const r = rank.get(pairKey(sym[i], sym[j]));
      if (r !== undefined) push(r * n + i);
    };
    for (let i = 0; i < n - 1; i++) consider(i);
    while (heap.length > 0) {
      const v = pop(), r = Math.floor(v / n), i = v - r * n;
      const j = next[i];
      // Stale entry: the left node was merged away, or its pair changed since the entry was pushed.
      if (!alive[i] || j < 0 || sym[i] !== m[3 * r] || sym[j] !== m[3 * r + 1]) continue;
      sym[i] = m[3 * r + 2];
      alive[j] = 0; next[i] = next[j]; if (next[j] >= 0) prev[next[j]] = i;
      if (prev[i] >= 0) consider(prev[i]);
      consider(i);
    }
    for (let i = 0; i >= 0; i = next[i]) out.push(sym[i]);
  }
}

/** Bytes as a string of one char per byte (a map key). */
export function latin1(b: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode.apply(null, Array.prototype.slice.call(b, i, i + 4096) as number[]);
  return s;
}

// The paged KV cache's bookkeeping: fixed-size blocks handed out from a free list, reference counts,
// and prefix caching. A block that is full of computed tokens gets a hash that chains its parent's hash
// with its own tokens, so two prompts sharing a prefix of whole blocks share those blocks. A cached
// block whose last user finished stays in the cache (evictable, least recently freed first) until a
// fresh block is needed; the memory itself lives in KVPool.

/** The hash of a full block: its parent's hash chained with its tokens (two 32-bit lanes, hex). */
export function blockHash(parent: string, tokens: ArrayLike<number>, from: number, to: number): string {
  let h1 = 0x811c9dc5, h2 = 0x9747b28c;
  for (let i = 0; i < parent.length; i++) {
    const c = parent.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  for (let i = from; i < to; i++) {
    const t = tokens[i] | 0;
    h1 = Math.imul(h1 ^ t, 0x01000193);
    h1 ^= h1 >>> 13;
    h2 = Math.imul(h2 ^ (t + 0x9e3779b9), 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b) >>> 0;
  h2 = Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35) >>> 0;
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0') + (to - from).toString(36);
}

interface CachedBlock { block: number; tokens: Int32Array }

export class BlockManager {
  private readonly refs: Int32Array;
  /** Blocks that hold nothing worth keeping. */
  private readonly free: number[] = [];
  /** Cached blocks nobody uses, in the order they were freed (eviction order). */
  private readonly evictable = new Map<number, true>();
  private readonly hashOf: (string | null)[];
  private readonly byHash = new Map<string, CachedBlock>();
  /** Prefix-cache lookups and hits, in blocks. */
  queries = 0;
  hits = 0;
  evictions = 0;

  constructor(readonly numBlocks: number, readonly blockSize: number, readonly prefixCaching = true) {
    if (!(Number.isInteger(numBlocks) && numBlocks > 0)) throw new Error(`BlockManager: numBlocks must be a positive integer, got ${numBlocks}`);
    if (!(Number.isInteger(blockSize) && blockSize > 0)) throw new Error(`BlockManager: blockSize must be a positive integer, got ${blockSize}`);
    this.refs = new Int32Array(numBlocks);
    this.hashOf = new Array<string | null>(numBlocks).fill(null);
    for (let b = numBlocks - 1; b >= 0; b--) this.free.push(b);
  }

  /** Blocks a new allocation can take (free plus evictable cached ones). */
  get available(): number {
    return this.free.length + this.evictable.size;
  }

  /** Blocks referenced by at least one sequence. */
  get used(): number {
    return this.numBlocks - this.available;
  }

  /** Blocks kept only for the prefix cache. */
  get cachedIdle(): number {
    return this.evictable.size;
  }

  refCount(block: number): number {
    return this.refs[block];
  }

  /** A fresh block for one user: from the free list, else the least recently freed cached block. */
  allocate(): number {
    let b = this.free.pop();
    if (b === undefined) {
      const it = this.evictable.keys().next();
      if (it.done) throw new Error('KV cache: out of blocks');
      b = it.value;
      this.evictable.delete(b);
      const h = this.hashOf[b];
      if (h !== null && this.byHash.get(h)?.block === b) this.byHash.delete(h);
      this.hashOf[b] = null;
      this.evictions++;
    }
    this.refs[b] = 1;
    return b;
  }

  /** Drops one reference; an unused block returns to the free list, or stays cached when it has a hash. */
  release(block: number): void {
    if (this.refs[block] <= 0) throw new Error(`KV cache: block ${block} released twice`);
    if (--this.refs[block] > 0) return;
    if (this.hashOf[block] !== null) this.evictable.set(block, true);
    else this.free.push(block);
  }

  releaseAll(blocks: readonly number[]): void {
    // Later blocks first, so a prompt's tail is evicted before the prefix other prompts may share.
    for (let i = blocks.length - 1; i >= 0; i--) this.release(blocks[i]);
  }

  /** The cached block for this hash and tokens, without taking it. */
  peek(hash: string, tokens: ArrayLike<number>, from: number): number | undefined {
    if (!this.prefixCaching) return undefined;
    const c = this.byHash.get(hash);
    if (!c) return undefined;
    for (let i = 0; i < c.tokens.length; i++) if (c.tokens[i] !== tokens[from + i]) return undefined;
    return c.block;
  }

  /** True when taking this cached block removes it from the available count. */
  isIdle(block: number): boolean {
    return this.evictable.has(block);
  }

  /** Takes a reference on a cached block found by peek(). */
  take(block: number): void {
    if (this.refs[block] === 0) this.evictable.delete(block);
    this.refs[block]++;
  }

  /** Records a lookup for the hit-rate metric. */
  countLookup(queried: number, hit: number): void {
    this.queries += queried;
    this.hits += hit;
  }

  /** Publishes a block that just became full under its chain hash (a duplicate of a cached block stays private). */
  register(block: number, hash: string, tokens: ArrayLike<number>, from: number): void {
    if (!this.prefixCaching || this.hashOf[block] !== null || this.byHash.has(hash)) return;
    this.hashOf[block] = hash;
    this.byHash.set(hash, { block, tokens: Int32Array.from({ length: this.blockSize }, (_, i) => tokens[from + i]) });
  }

  /** Forgets every cached block (they stay allocated to their current users). */
  resetPrefixCache(): void {
    for (const b of this.evictable.keys()) this.free.push(b);
    this.evictable.clear();
    this.byHash.clear();
    this.hashOf.fill(null);
  }
}

// Small, allocation-free hashing primitives: the filters and dedup run per character on gigabytes of
// text, and JS Map/Set of strings is several times slower than open addressing on typed arrays.

/** FNV-1a over UTF-16 code units of s[start, end), 32-bit. */
export function fnv1a(s: string, start = 0, end = s.length, seed = 0x811c9dc5): number {
  let h = seed | 0;
  for (let i = start; i < end; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** murmur3 finaliser: spreads the bits of a 32-bit value. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Combine two 32-bit hashes order-dependently. */
export function combine(a: number, b: number): number {
  return fmix32((Math.imul(a, 0x9e3779b1) ^ b) >>> 0);
}

/**
 * Counts 32-bit keys. reset() is O(1): a generation stamp marks which slots are live, so one counter
 * is reused across millions of documents without clearing.
 */
export class HashCounter {
  private keys: Int32Array;
  private counts: Int32Array;
  private stamps: Uint32Array;
  private gen = 1;
  private mask: number;
  size = 0;

  constructor(capacityPow2 = 1 << 12) {
    this.keys = new Int32Array(capacityPow2);
    this.counts = new Int32Array(capacityPow2);
    this.stamps = new Uint32Array(capacityPow2);
    this.mask = capacityPow2 - 1;
    this.shift = 32 - Math.log2(capacityPow2);
  }

  // Fibonacci hashing: slot = top bits of key * golden ratio (cheap, and spreads sequential keys)
  private shift: number;

  reset(): void {
    this.size = 0;
    if (++this.gen === 0xffffffff) { this.stamps.fill(0); this.gen = 1; }
  }

  /** Adds one to key's count and returns the new count. */
  add(key: number): number {
    if ((this.size + 1) * 2 > this.keys.length) this.grow();
    key |= 0;
    let i = Math.imul(key, 0x9e3779b1) >>> this.shift;
    for (;;) {
      if (this.stamps[i] !== this.gen) {
        this.stamps[i] = this.gen; this.keys[i] = key; this.counts[i] = 1; this.size++;
        return 1;
      }
      if (this.keys[i] === key) return ++this.counts[i];
      i = (i + 1) & this.mask;
    }
  }

  get(key: number): number {
    key |= 0;
    let i = Math.imul(key, 0x9e3779b1) >>> this.shift;
    for (;;) {
      if (this.stamps[i] !== this.gen) return 0;
      if (this.keys[i] === key) return this.counts[i];
      i = (i + 1) & this.mask;
    }
  }

  /** The key with the largest count (ties: first found), or undefined when empty. */
  top(): { key: number; count: number } | undefined {
    let best = -1, bestCount = 0;
    for (let i = 0; i < this.keys.length; i++) {
      if (this.stamps[i] === this.gen && this.counts[i] > bestCount) { best = i; bestCount = this.counts[i]; }
    }
    return best < 0 ? undefined : { key: this.keys[best], count: bestCount };
  }

  private grow(): void {
    const { keys, counts, stamps, gen } = this;
    const cap = keys.length * 2;
    this.keys = new Int32Array(cap); this.counts = new Int32Array(cap); this.stamps = new Uint32Array(cap);
    this.mask = cap - 1; this.shift = 32 - Math.log2(cap); this.gen = 1; this.size = 0;
    for (let i = 0; i < keys.length; i++) {
      if (stamps[i] !== gen) continue;
      let j = Math.imul(keys[i], 0x9e3779b1) >>> this.shift;
      while (this.stamps[j] === 1) j = (j + 1) & this.mask;
      this.stamps[j] = 1; this.keys[j] = keys[i]; this.counts[j] = counts[i]; this.size++;
    }
  }
}

/**
 * A set of 64-bit keys given as two 32-bit halves (hi, lo); (0, 0) is remapped so zero can mean empty.
 * 16 bytes per slot at load <= 0.5 is what bounds dedup memory: ~32 bytes per stored key.
 */
export class Hash64Set {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private mask: number;
  size = 0;

  constructor(capacityPow2 = 1 << 16) {
    this.hi = new Uint32Array(capacityPow2);
    this.lo = new Uint32Array(capacityPow2);
    this.mask = capacityPow2 - 1;
  }

  get bytes(): number { return this.hi.byteLength * 2; }

  has(hi: number, lo: number): boolean {
    hi >>>= 0; lo >>>= 0;
    if (hi === 0 && lo === 0) lo = 1;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.mask;
    for (;;) {
      const h = this.hi[i], l = this.lo[i];
      if (h === 0 && l === 0) return false;
      if (h === hi && l === lo) return true;
      i = (i + 1) & this.mask;
    }
  }

  /** Inserts; returns false when it was already present. */
  add(hi: number, lo: number): boolean {
    if ((this.size + 1) * 2 > this.hi.length) this.grow();
    hi >>>= 0; lo >>>= 0;
    if (hi === 0 && lo === 0) lo = 1;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.mask;
    for (;;) {
      const h = this.hi[i], l = this.lo[i];
      if (h === 0 && l === 0) { this.hi[i] = hi; this.lo[i] = lo; this.size++; return true; }
      if (h === hi && l === lo) return false;
      i = (i + 1) & this.mask;
    }
  }

  private grow(): void {
    const { hi, lo } = this;
    this.hi = new Uint32Array(hi.length * 2);
    this.lo = new Uint32Array(hi.length * 2);
    this.mask = this.hi.length - 1;
    this.size = 0;
    for (let i = 0; i < hi.length; i++) if (hi[i] !== 0 || lo[i] !== 0) this.add(hi[i], lo[i]);
  }
}

/** Seeded PRNG (mulberry32): small state, fast, and identical on every platform. */
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0 || 0x6d2b79f5; }
  get state(): number { return this.s; }
  set state(v: number) { this.s = v >>> 0; }
  /** uniform in [0, 1) */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** integer in [0, n) */
  int(n: number): number { return Math.floor(this.next() * n); }
}

/** Derive an independent seed from a base seed and a label, so each pipeline stage has its own stream. */
export function subSeed(seed: number, label: string): number {
  return fmix32((seed ^ fnv1a(label)) >>> 0);
}

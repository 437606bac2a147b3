// Float32 buffers come from a size-keyed pool, and `tidy` returns every buffer a step allocated to it
// when the step ends. A training loop therefore reuses the same memory at every step (RSS stays
// flat) instead of leaving megabytes of garbage per step to the collector.
import type { Tensor } from './tensor.js';

const free = new Map<number, Float32Array[]>();
const scopes: Tensor[][] = [];
let pooledBytes = 0;

/**
 * Buffers are pooled by size class: small sizes exactly, larger ones rounded up to 1/8 of their power
 * of two (at most 12.5% slack), so steps whose shapes vary a little (a serving batch of N tokens, a
 * growing prompt) still reuse memory. A caller gets a view of exactly n floats.
 */
function sizeClass(n: number): number {
  if (n <= 4096) return n;
  const step = 2 ** (Math.floor(Math.log2(n)) - 3);
  return Math.ceil(n / step) * step;
}

/** Larger classes a request may take when its own has no free buffer (each at most 12.5% above the last). */
const SPILL_CLASSES = 3;

/**
 * A buffer of n floats; zeroed unless `zero` is false (then its contents are arbitrary). When n's class
 * has no free buffer, one of the next few larger classes serves it: a step whose row length varies a
 * little (packed rollouts) reuses warm memory instead of taking fresh pages, which cost a page fault
 * each on first touch (several microseconds apiece in a VM).
 */
export function allocF32(n: number, zero = true): Float32Array {
  let cls = sizeClass(n);
  for (let k = 0; k <= SPILL_CLASSES; k++, cls = sizeClass(cls + 1)) {
    const full = free.get(cls)?.pop();
    if (!full) continue;
    pooledBytes -= cls * 4;
    const buf = cls === n ? full : full.subarray(0, n);
    if (zero) buf.fill(0);
    return buf;
  }
  cls = sizeClass(n);
  const fresh = new Float32Array(cls);
  return cls === n ? fresh : fresh.subarray(0, n);
}

/** Gives a buffer from allocF32 back to the pool; the caller must not use it afterwards. */
export function release(buf: Float32Array): void {
  const cls = buf.buffer.byteLength / 4;
  // Only whole allocations of ours come back (a view from the start of a class-sized buffer, which a
  // smaller request may have been served from); anything else is left to the garbage collector.
  if (buf.byteOffset !== 0 || sizeClass(cls) !== cls) return;
  const full = buf.length === cls ? buf : new Float32Array(buf.buffer, 0, cls);
  let list = free.get(cls);
  if (!list) free.set(cls, (list = []));
  list.push(full);
  pooledBytes += cls * 4;
}

/** Called by the Tensor constructor: a tensor that owns its buffer joins the innermost scope. */
export function track(t: Tensor): void {
  if (scopes.length > 0) scopes[scopes.length - 1].push(t);
}

/**
 * Runs fn; every tensor created inside that is not part of its result (a Tensor, an array of them or
 * an object whose values are tensors) or passed to keep() gives its buffer back to the pool.
 * Tensors from before the scope, such as parameters and their gradients, are never touched.
 */
export function tidy<T>(fn: () => T): T {
  scopes.push([]);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    throw e;
  }
  const created = scopes.pop()!;
  const kept = new Set<Float32Array>();
  collect(result, kept);
  for (const t of created) {
    if (t.kept) kept.add(t.base);
  }
  const seen = new Set<Float32Array>();
  for (const t of created) {
    if (!t.ownsBase || kept.has(t.base) || seen.has(t.base)) continue;
    seen.add(t.base);
    t.released = true;
    release(t.base);
  }
  // Survivors move to the enclosing scope so an outer tidy can still reclaim them.
  if (scopes.length > 0) for (const t of created) if (kept.has(t.base)) scopes[scopes.length - 1].push(t);
  return result;
}

function collect(v: unknown, out: Set<Float32Array>): void {
  if (v === null || typeof v !== 'object') return;
  if (isTensor(v)) { out.add(v.base); return; }
  if (Array.isArray(v)) { for (const x of v) collect(x, out); return; }
  for (const x of Object.values(v as Record<string, unknown>)) collect(x, out);
}

function isTensor(v: object): v is Tensor {
  return 'base' in v && 'shape' in v && (v as Tensor).base instanceof Float32Array;
}

export function poolStats(): { pooledBytes: number; sizes: number } {
  return { pooledBytes, sizes: free.size };
}

/** Drops every pooled buffer (for long-lived processes that change shapes). */
export function clearPool(): void {
  free.clear();
  pooledBytes = 0;
}

// The Tensor: a shape over a contiguous Float32Array, with the bookkeeping reverse-mode autograd needs.
// Views (reshape, leading-axis slices, detach) share the buffer and cost no copy.
import { allocF32, track } from './pool.js';

/** What an op leaves behind so backward() can run it in reverse. */
export interface GradNode {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  /** Given the output's gradient, add each input's gradient through ctx.gradFor(i). */
  backward(gradOut: Float32Array, ctx: BackwardContext): void;
}

export interface BackwardContext {
  /**
   * The gradient buffer of input i: [buffer, accumulate]. When accumulate is false the buffer's
   * contents are undefined and the op must overwrite it; when true the op must add into it.
   * Returns null when input i needs no gradient. Call it for one input right before writing that
   * input's gradient: the same tensor may appear twice among the inputs (mul(x, x)).
   */
  gradFor(i: number): [Float32Array, boolean] | null;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function checkShape(shape: readonly number[], what = 'shape'): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${what}: invalid dimension ${d} in [${shape.join(', ')}]`);
  }
}

let nextId = 1;

export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  /** This tensor's elements, contiguous, row-major. */
  readonly data: Float32Array;
  /** The allocation `data` lives in (shared by views). */
  readonly base: Float32Array;
  readonly ownsBase: boolean;
  requiresGrad: boolean;
  grad: Tensor | null = null;
  node: GradNode | null = null;
  /** Set by keep(): survives the enclosing tidy(). */
  kept = false;
  /** Set when tidy() gave the buffer back to the pool: using the tensor afterwards is a bug. */
  released = false;
  /** Bumped by whatever changes the data in place (optimizers), so derived copies (bf16) know to refresh. */
  version = 0;
  name?: string;

  /**
   * A tensor whose contents are arbitrary (a pooled buffer is not cleared): for op outputs that the
   * kernel overwrites completely, saving a memset of every activation.
   */
  static empty(shape: readonly number[]): Tensor {
    return new Tensor(shape, undefined, { zero: false });
  }

  constructor(shape: readonly number[], data?: Float32Array, opts: { requiresGrad?: boolean; base?: Float32Array; untracked?: boolean; zero?: boolean } = {}) {
    checkShape(shape);
    const n = numel(shape);
    this.shape = shape.slice();
    if (data) {
      if (data.length !== n) throw new Error(`tensor data has ${data.length} elements, shape [${shape.join(', ')}] needs ${n}`);
      this.data = data;
    } else this.data = allocF32(n, opts.zero ?? true);
    this.base = opts.base ?? this.data;
    this.ownsBase = !opts.base && !data;
    this.requiresGrad = opts.requiresGrad ?? false;
    if (this.ownsBase && !opts.untracked) track(this);
  }

  get size(): number { return this.data.length; }
  get ndim(): number { return this.shape.length; }
  get isLeaf(): boolean { return this.node === null; }

  /** Reads a scalar tensor (or element 0). */
  item(): number {
    this.assertLive();
    return this.data[0];
  }

  toArray(): number[] {
    this.assertLive();
    return Array.from(this.data);
  }

  assertLive(): void {
    if (this.released) throw new Error(`tensor ${this.name ?? this.id} was released by tidy(); keep() it or return it from the scope`);
  }

  /** Marks this tensor to survive the enclosing tidy(). */
  keep(): this {
    this.kept = true;
    return this;
  }

  /** A tensor sharing this one's data, cut off from the graph. */
  detach(): Tensor {
    return new Tensor(this.shape, this.data, { base: this.base });
  }

  /** Clears the accumulated gradient (keeps the buffer for reuse). */
  zeroGrad(): void {
    if (this.grad) this.grad.data.fill(0);
  }

  toString(): string {
    return `Tensor[${this.shape.join('x')}]`;
  }
}

// Constructors ---------------------------------------------------------------------------------

export function tensor(values: ArrayLike<number>, shape?: readonly number[], requiresGrad = false): Tensor {
  const s = shape ?? [values.length];
  const t = new Tensor(s, undefined, { requiresGrad });
  if (values.length !== t.size) throw new Error(`tensor(): ${values.length} values for shape [${s.join(', ')}]`);
  t.data.set(values);
  return t;
}

export function zeros(shape: readonly number[], requiresGrad = false): Tensor {
  return new Tensor(shape, undefined, { requiresGrad });
}

export function full(shape: readonly number[], value: number): Tensor {
  const t = new Tensor(shape);
  t.data.fill(value);
  return t;
}

/** A parameter: requires grad and lives outside every tidy() scope. */
export function parameter(shape: readonly number[], init?: (data: Float32Array) => void, name?: string): Tensor {
  const t = new Tensor(shape, undefined, { requiresGrad: true, untracked: true });
  init?.(t.data);
  if (name) t.name = name;
  return t;
}

/** Wraps an existing Float32Array (no copy, not pooled). */
export function fromData(data: Float32Array, shape: readonly number[], requiresGrad = false): Tensor {
  return new Tensor(shape, data, { requiresGrad, base: data });
}

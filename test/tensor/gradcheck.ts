// Test helper: checks an op's forward output against a float64 reference and its gradient against
// central finite differences of that reference, computed in float64.
import assert from 'node:assert/strict';
import { Tensor, backward, Rng } from '../../src/tensor/index.js';

export type Ref = (xs: Float64Array[]) => Float64Array;

export interface CheckSpec {
  name: string;
  shapes: number[][];
  run: (ts: Tensor[]) => Tensor;
  ref: Ref;
  /** Which inputs get gradients checked (default all). */
  diff?: number[];
  /** Custom initialiser per input (default standard normal). */
  init?: (i: number, a: Float32Array, rng: Rng) => void;
  seed?: number;
  fwdTol?: number;
  gradTol?: number;
  /** Elements probed per input (sampled when larger). */
  probes?: number;
}

export function gradcheck(spec: CheckSpec): void {
  const rng = new Rng(spec.seed ?? 7);
  const diff = spec.diff ?? spec.shapes.map((_, i) => i);
  const ts = spec.shapes.map((s, i) => {
    const t = new Tensor(s, undefined, { requiresGrad: diff.includes(i), untracked: true });
    if (spec.init) spec.init(i, t.data, rng);
    else rng.fillNormal(t.data);
    return t;
  });
  const xs = ts.map((t) => Float64Array.from(t.data));
  const y = spec.run(ts);
  const yr = spec.ref(xs);
  assert.equal(y.size, yr.length, `${spec.name}: output has ${y.size} elements, reference ${yr.length}`);
  const fwdTol = spec.fwdTol ?? 1e-4;
  for (let i = 0; i < yr.length; i++) {
    const e = Math.abs(y.data[i] - yr[i]);
    assert.ok(e <= fwdTol * (1 + Math.abs(yr[i])), `${spec.name}: forward[${i}] = ${y.data[i]}, reference ${yr[i]}`);
  }
  if (diff.length === 0) return;
  const cot = new Float32Array(y.size);
  rng.fillNormal(cot);
  backward(y, cot);
  const dot = (a: Float64Array) => a.reduce((s, v, i) => s + v * cot[i], 0);
  const gradTol = spec.gradTol ?? 2e-3;
  for (const i of diff) {
    const grad = ts[i].grad?.data;
    assert.ok(grad, `${spec.name}: input ${i} got no gradient`);
    const n = xs[i].length;
    const probes = Math.min(n, spec.probes ?? 24);
    const idx = probes === n ? [...Array(n).keys()] : Array.from({ length: probes }, () => rng.int(n));
    let scale = 0;
    const pairs: [number, number, number][] = [];
    for (const j of idx) {
      const x0 = xs[i][j];
      const h = 1e-6 * Math.max(1, Math.abs(x0));
      xs[i][j] = x0 + h;
      const fp = dot(spec.ref(xs));
      xs[i][j] = x0 - h;
      const fm = dot(spec.ref(xs));
      xs[i][j] = x0;
      const num = (fp - fm) / (2 * h);
      pairs.push([j, grad[j], num]);
      scale = Math.max(scale, Math.abs(num));
    }
    for (const [j, a, num] of pairs) {
      const err = Math.abs(a - num);
      assert.ok(err <= gradTol * (Math.abs(num) + 0.1 * scale + 1e-3),
        `${spec.name}: d/dinput${i}[${j}] = ${a}, finite difference ${num} (error ${err.toExponential(2)})`);
    }
  }
}

export function randInts(n: number, hi: number, rng: Rng): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.int(hi);
  return a;
}

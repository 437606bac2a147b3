import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdamW, SGD, F, Tensor, backward, clipGradNorm, cosineLr, parameter, tensor, tidy, Rng } from '../../src/tensor/index.js';

// PyTorch's AdamW step written out in float64.
function adamwRef(p: number[], grads: number[][], lr: number, b1: number, b2: number, eps: number, wd: number): number[] {
  const m = p.map(() => 0), v = p.map(() => 0);
  grads.forEach((g, t) => {
    const step = t + 1;
    for (let i = 0; i < p.length; i++) {
      p[i] *= 1 - lr * wd;
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const mh = m[i] / (1 - b1 ** step), vh = v[i] / (1 - b2 ** step);
      p[i] -= (lr * mh) / (Math.sqrt(vh) + eps);
    }
  });
  return p;
}

test('AdamW matches the reference update over 5 steps, with and without weight decay', () => {
  const rng = new Rng(1);
  const w = parameter([4, 3], (d) => rng.fillNormal(d));
  const b = parameter([3], (d) => rng.fillNormal(d));
  const w0 = Array.from(w.data), b0 = Array.from(b.data);
  const opt = new AdamW([w, b], { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1 });
  const gw: number[][] = [], gb: number[][] = [];
  for (let s = 0; s < 5; s++) {
    w.grad = new Tensor(w.shape, new Float32Array(12).map(() => rng.normal()));
    b.grad = new Tensor(b.shape, new Float32Array(3).map(() => rng.normal()));
    gw.push(Array.from(w.grad.data));
    gb.push(Array.from(b.grad.data));
    opt.update(0.01);
  }
  const rw = adamwRef(w0, gw, 0.01, 0.9, 0.99, 1e-8, 0.1);
  const rb = adamwRef(b0, gb, 0.01, 0.9, 0.99, 1e-8, 0); // 1-D: no decay by default
  rw.forEach((v, i) => assert.ok(Math.abs(v - w.data[i]) < 1e-5, `w[${i}] ${w.data[i]} vs ${v}`));
  rb.forEach((v, i) => assert.ok(Math.abs(v - b.data[i]) < 1e-5, `b[${i}] ${b.data[i]} vs ${v}`));
});

test('optimizer state saves and restores exactly: resumed run equals uninterrupted run', () => {
  const target = tensor([1, -2, 3, 0.5]);
  const train = (steps: number, resumeAt?: number) => {
    let p = parameter([4], (d) => d.fill(0));
    let opt = new AdamW([p], { weightDecay: 0.01 });
    for (let s = 0; s < steps; s++) {
      if (s === resumeAt) {
        // Simulate a restart: fresh parameter and optimizer built from copies of the saved state.
        const st = opt.state();
        const copy = { ...st, tensors: Object.fromEntries(Object.entries(st.tensors).map(([k, v]) => [k, v.slice()])) };
        const values = p.data.slice();
        p = parameter([4], (d) => d.set(values));
        opt = new AdamW([p], { weightDecay: 0.01 });
        opt.loadState(copy);
      }
      tidy(() => {
        opt.zeroGrad();
        backward(F.sum(F.square(F.sub(p, target))));
      });
      opt.update(cosineLr({ maxLr: 0.1, warmupSteps: 2, totalSteps: steps }, s));
    }
    return Array.from(p.data);
  };
  assert.deepEqual(train(10, 4), train(10));
});

test('loadState rejects mismatched state with a clear message', () => {
  const p = parameter([4]);
  const opt = new AdamW([p]);
  assert.throws(() => opt.loadState({ kind: 'sgd', step: 1, hyper: {}, tensors: {} }), /for sgd, not adamw/);
  assert.throws(() => opt.loadState({ kind: 'adamw', step: 1, hyper: {}, tensors: { 'm.0': new Float32Array(3), 'v.0': new Float32Array(4) } }), /m\.0 has 3 values/);
});

test('SGD with momentum follows the PyTorch recurrence', () => {
  const p = parameter([1], (d) => d.set([1]));
  const opt = new SGD([p], { momentum: 0.9 });
  let ref = 1, buf = 0;
  for (let s = 0; s < 4; s++) {
    opt.zeroGrad();
    backward(F.sum(F.square(p)));
    const g = 2 * ref;
    buf = s === 0 ? g : 0.9 * buf + g;
    ref -= 0.1 * buf;
    opt.update(0.1);
  }
  assert.ok(Math.abs(p.data[0] - ref) < 1e-6, `${p.data[0]} vs ${ref}`);
});

test('clipGradNorm scales gradients to the maximum norm and reports the original', () => {
  const a = parameter([2]), b = parameter([1]);
  backward(F.add(F.sum(F.mul(a, tensor([3, 0]))), F.sum(F.mul(b, tensor([4])))));
  const n = clipGradNorm([a, b], 1);
  assert.ok(Math.abs(n - 5) < 1e-6);
  assert.ok(Math.abs(Math.hypot(a.grad!.data[0], a.grad!.data[1], b.grad!.data[0]) - 1) < 1e-5);
});

test('cosine schedule: linear warmup, cosine decay to the floor', () => {
  const s = { maxLr: 1, minLr: 0.1, warmupSteps: 10, totalSteps: 110 };
  assert.ok(Math.abs(cosineLr(s, 0) - 0.1) < 1e-12);
  assert.equal(cosineLr(s, 9), 1);
  assert.ok(Math.abs(cosineLr(s, 60) - 0.55) < 1e-12);
  assert.ok(Math.abs(cosineLr(s, 110) - 0.1) < 1e-12);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, tensor } from '../../src/tensor/index.js';
import { gradcheck } from './gradcheck.js';

function permuteRef(x: Float64Array, shape: number[], perm: number[]): Float64Array {
  const os = perm.map((p) => shape[p]);
  const st = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const y = new Float64Array(x.length);
  for (let i = 0; i < y.length; i++) {
    let rem = i, off = 0;
    for (let d = os.length - 1; d >= 0; d--) { off += (rem % os[d]) * st[perm[d]]; rem = Math.floor(rem / os[d]); }
    y[i] = x[off];
  }
  return y;
}

test('reshape is a view and passes gradients through', () => {
  const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  const y = F.reshape(x, [3, -1]);
  assert.deepEqual(y.shape, [3, 2]);
  assert.equal(y.data.buffer, x.data.buffer);
  gradcheck({ name: 'reshape', shapes: [[7, 33]], run: ([t]) => F.reshape(t, [33, 7]), ref: ([t]) => t.slice() });
  assert.throws(() => F.reshape(x, [4, 2]), /cannot view/);
});

for (const perm of [[1, 0, 2], [2, 0, 1], [0, 2, 1], [2, 1, 0]]) {
  test(`permute [${perm}] of [3, 7, 5]`, () => {
    gradcheck({ name: 'permute', shapes: [[3, 7, 5]], run: ([x]) => F.permute(x, perm), ref: ([x]) => permuteRef(x, [3, 7, 5], perm) });
  });
}

test('transpose swaps the last two axes', () => {
  gradcheck({ name: 'transpose', shapes: [[2, 7, 33]], run: ([x]) => F.transpose(x), ref: ([x]) => permuteRef(x, [2, 7, 33], [0, 2, 1]) });
});

test('slice on the leading axis is a view; on other axes a copy', () => {
  const x = tensor([0, 1, 2, 3, 4, 5], [3, 2]);
  assert.equal(F.slice(x, 0, 1, 3).data.buffer, x.data.buffer);
  gradcheck({ name: 'slice0', shapes: [[7, 3]], run: ([t]) => F.slice(t, 0, 2, 5), ref: ([t]) => t.slice(6, 15) });
  gradcheck({
    name: 'slice1',
    shapes: [[3, 7, 2]],
    run: ([t]) => F.slice(t, 1, 1, 4),
    ref: ([t]) => Float64Array.from({ length: 18 }, (_, p) => t[(Math.floor(p / 6) * 7 + 1 + Math.floor((p % 6) / 2)) * 2 + (p % 2)]),
  });
  assert.throws(() => F.slice(x, 0, 2, 4), /out of range/);
});

test('concat along axis 1', () => {
  gradcheck({
    name: 'concat',
    shapes: [[2, 3, 4], [2, 1, 4], [2, 2, 4]],
    run: (ts) => F.concat(ts, 1),
    ref: ([a, b, c]) => {
      const y: number[] = [];
      for (let o = 0; o < 2; o++) y.push(...a.slice(o * 12, o * 12 + 12), ...b.slice(o * 4, o * 4 + 4), ...c.slice(o * 8, o * 8 + 8));
      return Float64Array.from(y);
    },
  });
});

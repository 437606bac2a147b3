import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native, setThreads, numThreads } from '../src/native/index.js';

test('addon loads and reports an ISA', () => {
  assert.match(native.isaName(), /^(portable|avx2|avx512(\+bf16)?)$/);
});

test('thread count can be changed and restored', () => {
  const before = numThreads();
  setThreads(1);
  assert.equal(numThreads(), 1);
  setThreads(before);
  assert.equal(numThreads(), before);
  assert.throws(() => setThreads(0), /positive integer/);
});

test('parallel jobs run every task exactly once while another thread competes for the cores', async () => {
  const { Worker } = await import('node:worker_threads');
  const { F, Tensor, noGrad } = await import('../src/tensor/index.js');
  const before = numThreads();
  const x = new Tensor([1 << 17]);
  for (let i = 0; i < x.size; i++) x.data[i] = Math.sin(i) * 4;
  setThreads(1);
  const want = noGrad(() => F.silu(x)).data.slice();
  setThreads(2);
  // A busy thread makes the pool's worker late or descheduled now and then: the caller then runs the
  // worker's share itself, and late arrivals must neither repeat a task nor touch a finished job.
  const spinner = new Worker('const t = Date.now(); while (Date.now() - t < 1500) {}', { eval: true });
  try {
    for (let it = 0; it < 1000; it++) {
      const got = noGrad(() => F.silu(x)).data;
      for (let i = 0; i < got.length; i += 997) if (got[i] !== want[i]) assert.fail(`iteration ${it}: element ${i} is ${got[i]}, want ${want[i]}`);
      if (it % 50 === 0) native.warmPool();
    }
  } finally {
    await spinner.terminate();
    setThreads(before);
  }
});

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

// Test helper: re-exports the engine plus a way to run a block at a fixed thread count.
import { native } from '../../src/native/index.js';
export * from '../../src/tensor/index.js';

export function setThreadsForTest<T>(n: number, fn: () => T): T {
  const before = native.numThreads();
  native.setThreads(n);
  try {
    return fn();
  } finally {
    native.setThreads(before);
  }
}

import { defineCommand } from '../args.js';
import { native } from '../../native/index.js';

export const command = defineCommand({
  summary: 'print the kernel addon, CPU features and thread count',
  options: {},
  async run() {
    console.log(JSON.stringify({ isa: native.isaName(), bf16Dot: native.hasBf16Dot(), threads: native.numThreads(), node: process.version }, null, 2));
  },
});

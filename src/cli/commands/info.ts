import { defineCommand } from '../args.js';
import { native } from '../../native/index.js';

export const command = defineCommand({
  summary: 'print the kernel addon, CPU features, thread count, and the code sandbox\'s mechanisms',
  options: {},
  async run() {
    const { sandboxMechanisms } = await import('../../eval/sandbox.js');
    console.log(JSON.stringify({ isa: native.isaName(), bf16Dot: native.hasBf16Dot(), threads: native.numThreads(), node: process.version, sandbox: sandboxMechanisms() }, null, 2));
  },
});

// llama.cpp's Python converter (convert_hf_to_gguf.py, conversion/, gguf-py/) from the llama.cpp source that
// node-llama-cpp ships as a git bundle (node_modules/node-llama-cpp/llama/gitRelease.bundle): checked out once
// into os.tmpdir(), keyed by the bundle's size and time, so tests convert with the llama.cpp that hcx runs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

function bundlePath(): string | null {
  // node-llama-cpp's exports hide package.json: find its folder from the entry point it does export.
  let dir = path.dirname(createRequire(import.meta.url).resolve('node-llama-cpp'));
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  const b = path.join(dir, 'llama', 'gitRelease.bundle');
  return existsSync(b) ? b : null;
}

/** The converter's directory, or why it is unavailable (for node:test's `skip`). */
export function llamaCppConverter(): { dir: string } | { missing: string } {
  const bundle = bundlePath();
  if (!bundle) return { missing: 'node-llama-cpp ships no llama.cpp source bundle (llama/gitRelease.bundle)' };
  const st = statSync(bundle);
  const dir = path.join(os.tmpdir(), `hcx-llama.cpp-${st.size}-${Math.floor(st.mtimeMs)}`);
  if (existsSync(path.join(dir, 'convert_hf_to_gguf.py'))) return { dir };
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(path.dirname(tmp), { recursive: true });
  const git = (args: string[]): boolean => spawnSync('git', args, { stdio: 'ignore' }).status === 0;
  if (!git(['clone', '-q', '--no-checkout', bundle, tmp]) || !git(['-C', tmp, 'checkout', '-q', 'HEAD', '--', 'convert_hf_to_gguf.py', 'conversion', 'gguf-py'])) {
    rmSync(tmp, { recursive: true, force: true });
    return { missing: `cannot check out llama.cpp's converter from ${bundle} (is git installed?)` };
  }
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another process won the race
  }
  return { dir };
}

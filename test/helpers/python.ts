// The Python that cross-check tests run references in (transformers, TRL, peft, gguf, lm-eval, tensorboard):
// the venv scripts/python-venv.sh makes ($HCX_PY_VENV, default /tmp/hcx-py), or $HCX_PYTHON. Where it or a
// module is missing the test skips, saying why; under HCX_REQUIRE_PYTHON=1 (set by .ci/run) a missing
// reference fails instead, so a cross-check never silently skips in CI.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export function pythonPath(): string {
  return process.env.HCX_PYTHON ?? path.join(process.env.HCX_PY_VENV ?? '/tmp/hcx-py', 'bin', 'python');
}

const probed = new Map<string, string | null>();

/**
 * null when `python` imports every module, else why not. Pass the result as node:test's `skip` option:
 * `test('...', { skip: pythonMissing(['torch', 'transformers']) }, ...)`.
 */
export function pythonMissing(modules: string[]): string | false {
  const key = modules.join(',');
  if (!probed.has(key)) {
    const py = pythonPath();
    let why: string | null = null;
    if (!existsSync(py)) why = `no Python venv at ${py} (run sh scripts/python-venv.sh)`;
    else {
      const r = spawnSync(py, ['-c', modules.map((m) => `import ${m}`).join('; ')], { encoding: 'utf8' });
      if (r.status !== 0) why = `${py} cannot import ${modules.join(', ')}: ${(r.stderr ?? '').trim().split('\n').pop()}`;
    }
    probed.set(key, why);
  }
  const why = probed.get(key) ?? null;
  if (why && process.env.HCX_REQUIRE_PYTHON === '1') throw new Error(`HCX_REQUIRE_PYTHON=1 but ${why}`);
  return why ?? false;
}

/** Runs a Python script (a file path or `-c` code) in the venv; throws with its stderr when it fails. */
export function runPython(args: string[], opts: SpawnSyncOptions & { input?: string } = {}): string {
  const env = { ...process.env, ...(opts.env ?? {}) };
  // This machine pins OpenBLAS to an old core type; torch's CPU kernels are slower under it.
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync(pythonPath(), args, { encoding: 'utf8', maxBuffer: 1 << 30, timeout: 600_000, ...opts, env });
  if (r.status !== 0) throw new Error(`python ${args.join(' ').slice(0, 200)} exited with ${r.status ?? r.signal}:\n${String(r.stderr ?? '').slice(-4000)}`);
  return String(r.stdout);
}

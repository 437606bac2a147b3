// `hcx bench sandbox`: the per-sample cost of the code sandbox. The same small Python program (a
// HumanEval-style function and its asserts) runs bare — `python3 -I -B main.py` spawned in a temp folder,
// the floor any harness pays — and through runPython (cgroup set-up and removal, rlimits, privilege drop,
// bubblewrap's namespaces and mounts), alternating, --repeat times each after a warm-up. Rows: wall
// seconds per sample, median, and the sandbox's overhead over bare.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defineCommand, type OptionTable, type Values } from '../cli/args.js';
import { pythonPath, runPython, sandboxMechanisms } from '../eval/sandbox.js';
import { median, table } from './stats.js';

const PROGRAM = 'def add(a, b):\n    return a + b\n\nassert add(2, 3) == 5\nassert add(-1, 1) == 0\n';

const options = {
  json: { type: 'boolean', description: 'print one JSON document' },
  repeat: { type: 'number', integer: true, min: 3, default: 21, description: 'samples per system (median)' },
} as const satisfies OptionTable;

export const command = defineCommand({ summary: 'per-sample overhead of the code sandbox against running the same Python program bare', options, run });

function bare(dir: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const c = spawn(pythonPath(), ['-I', '-B', 'main.py'], { cwd: dir, stdio: 'ignore' });
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - t0) / 1e9) : reject(new Error(`bare python exited with ${code}`))));
  });
}

async function sandboxed(): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = await runPython(PROGRAM);
  if (r.status !== 'passed') throw new Error(`sandboxed program ${r.status}: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function run(o: Values<typeof options>): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hcx-bench-sandbox-'));
  writeFileSync(path.join(dir, 'main.py'), PROGRAM);
  const mech = sandboxMechanisms();
  const times = { bare: [] as number[], sandbox: [] as number[] };
  try {
    await bare(dir); await sandboxed(); // warm-up (the first sandbox run also probes the machine)
    for (let i = 0; i < o.repeat; i++) {
      times.bare.push(await bare(dir));
      times.sandbox.push(await sandboxed());
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const b = median(times.bare), s = median(times.sandbox);
  const rows = [
    { system: 'python3 bare', seconds: b, repeat: o.repeat },
    { system: `sandbox (${mech.isolation}${mech.tool ? `, ${mech.tool}` : ''})`, seconds: s, repeat: o.repeat, overhead_seconds: s - b, ratio_over_bare: s / b },
  ];
  const load = os.loadavg()[0];
  if (o.json) { console.log(JSON.stringify({ program: 'HumanEval-style function + 2 asserts', mechanisms: mech, load, rows }, null, 2)); return; }
  console.log(table(['system', 'seconds/sample (median)', 'overhead s', 'x bare'], rows.map((r) => [r.system, r.seconds, r.overhead_seconds ?? '', r.ratio_over_bare ?? ''])));
  console.log(`median of ${o.repeat} alternating samples; load average ${load.toFixed(1)} on ${os.cpus().length} CPUs (other jobs share them).`);
}

// Deterministic crash points for fault tests: HCX_CRASH_AT=name (or name@N: the Nth time that point is
// reached in this process) kills the process with SIGKILL right there, as `kill -9` would, so a test can
// land a kill at an exact place (between a checkpoint's marker and its event, mid-evaluation, ...).
const hits = new Map<string, number>();

export function crashPoint(name: string): void {
  const spec = process.env.HCX_CRASH_AT;
  if (!spec) return;
  for (const one of spec.split(',')) {
    const [point, nth] = one.split('@');
    if (point !== name) continue;
    const n = (hits.get(name) ?? 0) + 1;
    hits.set(name, n);
    if (n === (nth ? Number(nth) : 1)) {
      process.stderr.write(`crash point ${name} (#${n}): SIGKILL\n`);
      process.kill(process.pid, 'SIGKILL');
    }
  }
}

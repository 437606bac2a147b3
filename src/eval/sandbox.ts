// Runs untrusted programs (HumanEval/MBPP completions) each in its own process:
// - full isolation (root with unshare(1), setpriv(1) and prlimit(1), as on Linux CI): new network namespace
//   (no interfaces but a down loopback), new PID namespace (a fork bomb dies with its init), new mount namespace
//   where every mount is read-only except the program's own temporary directory (mounted on /tmp), and the
//   program runs as nobody (65534) with no capabilities and no_new_privs;
// - always: CPU-time, address-space, process-count, file-size and open-file limits, a clean environment,
//   and a wall-clock kill of the whole process group.
// Without root or unshare the harness falls back to limits only (`isolation: "limits-only"`) and says so.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, chownSync, chmodSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface SandboxOptions {
  timeoutMs?: number;
  memoryMb?: number;
  maxProcesses?: number;
  /** Bytes of stdout/stderr kept. */
  outputLimit?: number;
}

export interface RunResult {
  status: 'passed' | 'failed' | 'timeout' | 'error';
  passed: boolean;
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  isolation: Isolation;
}

export type Isolation = 'full' | 'limits-only';

let detected: Isolation | undefined;
const NOBODY = 65534;

/** Whether namespaces and privilege dropping are available (root, unshare, setpriv, prlimit). */
export function detectIsolation(): Isolation {
  if (detected) return detected;
  const ok = (cmd: string, args: string[]): boolean => spawnSync(cmd, args, { stdio: 'ignore', timeout: 5000 }).status === 0;
  detected = process.getuid?.() === 0 && ok('unshare', ['--net', '--mount', '--pid', '--fork', 'true']) && ok('setpriv', ['--version']) && ok('prlimit', ['--version'])
    ? 'full' : 'limits-only';
  return detected;
}

/** A python3 that the nobody user can execute (pyenv shims under /root are not reachable). */
export function pythonPath(): string {
  for (const p of ['/usr/bin/python3', '/usr/local/bin/python3']) if (existsSync(p)) return p;
  return 'python3';
}

// Inside the new namespaces (as root): make every mount read-only, put the work dir on /tmp, fresh /proc,
// then drop to nobody under resource limits and exec the program.
const INNER = `set -e
W="$1"; shift
mount --make-rprivate /
mount --bind "$W" /tmp
awk '{print $2}' /proc/self/mounts | sort -u | while read -r m; do
  case "$m" in /tmp|*\\\\*) continue;; esac
  mount -o remount,bind,ro "$m" 2>/dev/null || true
done
mount -t proc proc /proc 2>/dev/null || true
cd /tmp
exec "$@"`;

export async function runPython(program: string, o: SandboxOptions = {}): Promise<RunResult> {
  return runProgram([pythonPath(), '-I', '-B', 'main.py'], { 'main.py': program }, o);
}

export async function runProgram(argv: string[], files: Record<string, string>, o: SandboxOptions = {}): Promise<RunResult> {
  const isolation = detectIsolation();
  const timeoutMs = o.timeoutMs ?? 10_000;
  const memBytes = (o.memoryMb ?? 512) * 1024 * 1024;
  const nproc = o.maxProcesses ?? 32;
  const outLimit = o.outputLimit ?? 65536;
  const work = mkdtempSync(path.join(os.tmpdir(), 'hcx-sbx-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(work, name), text);
  const cpuS = Math.max(1, Math.ceil(timeoutMs / 1000));
  const limits = ['prlimit', `--as=${memBytes}`, `--cpu=${cpuS}`, `--nproc=${nproc}`, `--fsize=${16 * 1024 * 1024}`, `--nofile=64`, `--core=0`, '--'];
  let cmd: string;
  let args: string[];
  if (isolation === 'full') {
    chownSync(work, NOBODY, NOBODY);
    chmodSync(work, 0o700);
    for (const name of Object.keys(files)) chownSync(path.join(work, name), NOBODY, NOBODY);
    cmd = 'unshare';
    args = ['--net', '--mount', '--pid', '--fork', '--kill-child=SIGKILL', '--', '/bin/sh', '-c', INNER, 'sh', work,
      ...limits, 'setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--no-new-privs', '--inh-caps=-all', '--bounding-set=-all', '--', ...argv];
  } else {
    const hasPrlimit = spawnSync('prlimit', ['--version'], { stdio: 'ignore' }).status === 0;
    [cmd, ...args] = hasPrlimit ? [...limits, ...argv] : argv;
  }
  const started = Date.now();
  return new Promise<RunResult>((resolve) => {
    const child = spawn(cmd, args, {
      cwd: work, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/bin:/bin', HOME: isolation === 'full' ? '/tmp' : work, LANG: 'C.UTF-8', PYTHONDONTWRITEBYTECODE: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { if (stdout.length < outLimit) stdout += c.toString('utf8').slice(0, outLimit - stdout.length); });
    child.stderr.on('data', (c: Buffer) => { if (stderr.length < outLimit) stderr += c.toString('utf8').slice(0, outLimit - stderr.length); });
    let timedOut = false;
    const killAll = (): void => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } };
    const timer = setTimeout(() => { timedOut = true; killAll(); }, timeoutMs);
    child.on('error', (e) => { stderr += String(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      killAll();
      rmSync(work, { recursive: true, force: true });
      const status: RunResult['status'] = timedOut ? 'timeout' : code === 0 ? 'passed' : code === null ? 'error' : 'failed';
      resolve({ status, passed: status === 'passed', exitCode: code, signal, stdout, stderr, durationMs: Date.now() - started, isolation });
    });
  });
}

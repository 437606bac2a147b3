// Runs untrusted programs (HumanEval/MBPP completions), each in its own sandbox:
// - isolation 'full' (bubblewrap, run as nobody when the harness is root): new user, PID, network, IPC, UTS
//   and cgroup namespaces; a filesystem of the interpreter, its libraries and standard library (read-only)
//   and a size-limited tmpfs at /tmp as the only writable place; no further user namespaces (so no tmpfs
//   mounts of its own); no capabilities; the PID namespace's init is killed at the deadline, which kills
//   every process the program started, new sessions and daemons included;
// - always: one cgroup per run where v2 or v1 is writable (memory and task limits for the program as a
//   whole, and a kill that reaches every member), CPU-time, address-space, process-count, file-size and
//   open-file limits, a clean environment, and PR_SET_PDEATHSIG so the sandbox dies with the harness,
//   even when the harness is killed with SIGKILL.
// Where a mechanism is missing the sandbox still runs, and sandboxMechanisms() lists what is not enforced.
import { spawn, spawnSync, type StdioOptions } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { detectCgroups, SandboxCgroup } from './sandbox-cgroup.js';
import { programView, type ProgramView } from './sandbox-view.js';

export interface SandboxOptions {
  timeoutMs?: number;
  /** memory of the whole program (every process it starts), and the address-space limit of each */
  memoryMb?: number;
  maxProcesses?: number;
  /** size of the writable tmpfs (full isolation) or the largest file (limits only) */
  diskMb?: number;
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
  /** the whole program hit its memory limit (cgroup) */
  oomKilled?: boolean;
}

export type Isolation = 'full' | 'limits-only';

export interface SandboxMechanisms {
  isolation: Isolation;
  tool: string | null;
  runsAs: string;
  namespaces: string[];
  filesystem: string;
  nestedUserNamespaces: 'forbidden' | 'allowed';
  memory: string;
  processes: string;
  disk: string;
  kill: string;
  orphans: string;
  /** what this machine cannot enforce, in words */
  notEnforced: string[];
}

const NOBODY = 65534;
const has = (cmd: string, args = ['--version']): boolean => spawnSync(cmd, args, { stdio: 'ignore', timeout: 5000 }).status === 0;

/** A python3 that the nobody user can execute (pyenv shims under /root are not reachable). */
export function pythonPath(): string {
  for (const p of ['/usr/bin/python3', '/usr/local/bin/python3']) if (spawnSync(p, ['-c', ''], { stdio: 'ignore' }).status === 0) return p;
  return 'python3';
}

interface Tools { root: boolean; prlimit: boolean; setpriv: boolean; bwrap: string | null; bwrapError?: string }
let tools: Tools | undefined;

function detectTools(): Tools {
  if (tools) return tools;
  const root = process.getuid?.() === 0;
  const t: Tools = { root, prlimit: has('prlimit'), setpriv: has('setpriv'), bwrap: null };
  const v = spawnSync('bwrap', ['--version'], { encoding: 'utf8', timeout: 5000 });
  // HCX_SANDBOX=limits-only: the weaker tier on purpose (its tests run it on machines that have bwrap)
  if (process.env.HCX_SANDBOX === 'limits-only') t.bwrapError = 'HCX_SANDBOX=limits-only is set';
  else if (v.status !== 0) t.bwrapError = 'bubblewrap (bwrap) is not installed (Debian: apt-get install bubblewrap)';
  else if (root && !t.setpriv) t.bwrapError = 'setpriv is missing, so bwrap would run as root';
  else {
    // a real run: user namespaces may be disabled for unprivileged users, or a kernel may lack one
    const probe = spawnSync(...commandLine(programView(pythonPath()), t, true, ['-I', '-S', '-c', 'print(6 * 7)'], { diskBytes: 1 << 20 }), { encoding: 'utf8', timeout: 20_000 });
    if (probe.stdout?.trim() === '42') t.bwrap = v.stdout.trim();
    else t.bwrapError = `bwrap does not run here: ${(probe.stderr || probe.error?.message || `status ${probe.status}`).trim().split('\n').pop()}`;
  }
  tools = t;
  return t;
}

/** Whether the program runs in namespaces with the minimal filesystem ('full') or under limits only. */
export function detectIsolation(): Isolation {
  return detectTools().bwrap ? 'full' : 'limits-only';
}

/** The mechanisms in use on this machine, and what they cannot enforce (printed by `hcx info`). */
export function sandboxMechanisms(): SandboxMechanisms {
  const t = detectTools(), cg = detectCgroups(), full = !!t.bwrap;
  const missing: string[] = [];
  if (!full) {
    missing.push(`no namespaces (${t.bwrapError}): the program can use the network, see and signal host processes, ` +
      'read every file its user can read, and write wherever its user may');
    missing.push('nested user namespaces are not forbidden');
  }
  if (!cg.version) missing.push(`no usable cgroup (${cg.reason}): memory is limited per process only, processes by a tighter count, and a process that leaves the process group outlives the deadline`);
  if (!t.prlimit) missing.push('prlimit is missing: no CPU-time, address-space or file-size limits');
  if (!t.root && !full) missing.push('the program runs as the harness\'s own user');
  const cgName = cg.version === 'v2' ? 'cgroup v2' : 'cgroup v1';
  const viewNotes = full ? programView(pythonPath()).notes : [];
  missing.push(...viewNotes);
  return {
    isolation: full ? 'full' : 'limits-only',
    tool: t.bwrap,
    runsAs: t.root ? `nobody (${NOBODY})` : `uid ${process.getuid?.()}`,
    namespaces: full ? ['user', 'pid', 'network', 'ipc', 'uts', 'cgroup', 'mount'] : [],
    filesystem: full ? 'the interpreter, its shared libraries and standard library (read-only); nothing else of the host' : 'the host\'s',
    nestedUserNamespaces: full ? 'forbidden' : 'allowed',
    memory: cg.version ? `${cgName} limit on the whole program${cg.version === 'v1' && !cg.memsw ? '' : ' (swap included)'}, and RLIMIT_AS per process` : 'RLIMIT_AS per process',
    processes: cg.version ? `${cgName} pids.max, and RLIMIT_NPROC` : 'RLIMIT_NPROC (at most 8 per program)',
    disk: full ? 'a size-limited tmpfs at /tmp is the only writable place' : 'RLIMIT_FSIZE per file',
    kill: [full ? 'PID namespace (its init is killed)' : 'process group', cg.version ? `${cgName} members` : ''].filter(Boolean).join(' + '),
    orphans: t.setpriv || full ? 'PR_SET_PDEATHSIG: killed when the harness dies, even by SIGKILL' : 'not handled (no setpriv)',
    notEnforced: missing,
  };
}

function bwrapArgs(view: ProgramView, files: string[], diskBytes: number): string[] {
  const a = ['bwrap', '--unshare-all', '--unshare-user', '--uid', String(NOBODY), '--gid', String(NOBODY), '--disable-userns',
    '--die-with-parent', '--new-session', '--cap-drop', 'ALL', '--hostname', 'sandbox'];
  for (const [target, link] of view.links) a.push('--symlink', target, link);
  for (const b of view.binds) a.push('--ro-bind', b, b);
  a.push('--proc', '/proc');
  for (const d of ['/dev/null', '/dev/zero', '/dev/urandom', '/dev/random']) a.push('--dev-bind', d, d);
  a.push('--size', String(diskBytes), '--perms', '1777', '--tmpfs', '/tmp');
  files.forEach((name, i) => a.push('--file', String(3 + i), `/tmp/${name}`));
  // bwrap's own root is a tmpfs without a size limit: make it read-only once everything is in place
  a.push('--remount-ro', '/', '--chdir', '/tmp', '--clearenv');
  for (const [k, v] of Object.entries(sandboxEnv('/tmp'))) a.push('--setenv', k, v);
  return a;
}

const sandboxEnv = (home: string): Record<string, string> => ({ PATH: '/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8', PYTHONDONTWRITEBYTECODE: '1' });

interface Limits { memBytes: number; cpuS: number; nproc: number; fileBytes: number }

/** The command line: [join the cgroup] [rlimits] [drop to nobody + parent-death signal] [bwrap ...] program. */
function commandLine(view: ProgramView, t: Tools, full: boolean, args: string[], o: { cgroupProcs?: string[]; limits?: Limits; files?: string[]; diskBytes: number }):
  [string, string[]] {
  const argv: string[] = [];
  if (o.cgroupProcs?.length) {
    // the shell joins the group(s) before anything else runs, so every later process starts inside
    argv.push('/bin/sh', '-c', 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"', 'sh', ...o.cgroupProcs, '--');
  }
  const l = o.limits;
  if (l && t.prlimit) argv.push('prlimit', `--as=${l.memBytes}`, `--cpu=${l.cpuS}`, `--nproc=${l.nproc}`, `--fsize=${l.fileBytes}`, '--nofile=64', '--core=0', '--');
  if (t.setpriv) {
    argv.push('setpriv', '--pdeathsig', 'KILL');
    if (t.root) argv.push(`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups');
    if (!full) argv.push('--no-new-privs', '--inh-caps=-all', ...(t.root ? ['--bounding-set=-all'] : []));
    argv.push('--');
  }
  if (full) argv.push(...bwrapArgs(view, o.files ?? [], o.diskBytes), '--', view.exe, ...args);
  else argv.push(view.exe, ...args);
  return [argv[0], argv.slice(1)];
}

export async function runPython(program: string, o: SandboxOptions = {}): Promise<RunResult> {
  return runProgram([pythonPath(), '-I', '-B', 'main.py'], { 'main.py': program }, o);
}

/** Runs argv[0] (an interpreter or binary) with `files` in its working folder. */
export async function runProgram(argv: string[], files: Record<string, string>, o: SandboxOptions = {}): Promise<RunResult> {
  const t = detectTools();
  const isolation: Isolation = t.bwrap ? 'full' : 'limits-only';
  const timeoutMs = o.timeoutMs ?? 10_000;
  const memBytes = (o.memoryMb ?? 512) * 2 ** 20;
  const diskBytes = (o.diskMb ?? 64) * 2 ** 20;
  const outLimit = o.outputLimit ?? 65536;
  const names = Object.keys(files);
  for (const n of names) if (!/^[A-Za-z0-9._-]+$/.test(n) || n === '.' || n === '..') throw new Error(`sandbox: bad file name "${n}"`);
  if (names.length > 32) throw new Error(`sandbox: at most 32 files, got ${names.length}`);
  const view = programView(argv[0]);
  // bwrap and its init are two more tasks; without a pids cgroup the per-user count is all there is
  const cg = SandboxCgroup.create({ memoryBytes: memBytes + diskBytes + 16 * 2 ** 20, tasks: (o.maxProcesses ?? 32) + 2 });
  const nproc = (cg ? o.maxProcesses ?? 32 : Math.min(o.maxProcesses ?? 32, 8)) + 2;
  const limits: Limits = { memBytes, cpuS: Math.max(1, Math.ceil(timeoutMs / 1000)), nproc, fileBytes: diskBytes };
  let work: string | undefined;
  let cwd = '/';
  if (isolation === 'limits-only') {
    work = mkdtempSync(path.join(os.tmpdir(), 'hcx-sbx-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(work, name), text);
    if (t.root) {
      chownSync(work, NOBODY, NOBODY);
      chmodSync(work, 0o700);
      for (const name of names) chownSync(path.join(work, name), NOBODY, NOBODY);
    }
    cwd = work;
  }
  const [cmd, args] = commandLine(view, t, isolation === 'full', argv.slice(1), { cgroupProcs: cg?.procsFiles, limits, files: isolation === 'full' ? names : [], diskBytes });
  const started = Date.now();
  const stdio: StdioOptions = ['ignore', 'pipe', 'pipe', ...(isolation === 'full' ? names.map(() => 'pipe' as const) : [])];
  const result = await new Promise<RunResult>((resolve) => {
    const child = spawn(cmd, args, { cwd, detached: true, stdio, env: sandboxEnv(work ?? '/tmp') });
    // bwrap copies each file from its pipe into the tmpfs before the program starts
    if (isolation === 'full') names.forEach((n, i) => { const s = child.stdio[3 + i] as NodeJS.WritableStream; s.on('error', () => {}); s.end(files[n]); });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => { if (stdout.length < outLimit) stdout += c.toString('utf8').slice(0, outLimit - stdout.length); });
    child.stderr!.on('data', (c: Buffer) => { if (stderr.length < outLimit) stderr += c.toString('utf8').slice(0, outLimit - stderr.length); });
    let timedOut = false;
    let done = false;
    const killAll = (): void => {
      // the outer bwrap first: its death takes the namespace's init, and with it every process inside
      try { process.kill(child.pid!, 'SIGKILL'); } catch { /* gone */ }
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
      cg?.kill();
    };
    const finish = (code: number | null, signal: string | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(straggler);
      killAll();
      const status: RunResult['status'] = timedOut ? 'timeout' : code === 0 ? 'passed' : code === null || code === 125 ? 'error' : 'failed';
      resolve({ status, passed: status === 'passed', exitCode: code, signal, stdout, stderr, durationMs: Date.now() - started, isolation });
    };
    let straggler: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killAll();
      // Without namespaces or a cgroup a process that left the group can hold the pipes open: stop waiting.
      straggler = setTimeout(() => { child.stdout!.destroy(); child.stderr!.destroy(); finish(null, 'SIGKILL'); }, 2000);
    }, timeoutMs);
    child.on('error', (e) => { stderr += String(e); });
    child.on('close', (code, signal) => finish(code, signal));
  });
  if (cg) {
    const m = cg.memoryStats();
    if (m.oomKilled) {
      result.oomKilled = true;
      if (result.status === 'failed') result.status = 'error';
      result.stderr += `\nsandbox: the program reached its memory limit (${o.memoryMb ?? 512} MiB for all its processes)`;
    }
    await cg.remove();
  }
  if (work) rmSync(work, { recursive: true, force: true });
  return result;
}

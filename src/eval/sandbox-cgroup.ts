// Whole-program limits for the code sandbox: one control group per run, under this process's own group,
// holding every process the program starts (forked children, new sessions, daemons): a memory limit for
// all of them together (tmpfs pages included), a task limit, and a kill that reaches all of them. cgroup v2
// where its memory and pids controllers can be used here, else the v1 memory and pids hierarchies (a
// hybrid host like this one mounts them under /sys/fs/cgroup/{memory,pids} and an empty cgroup2 at
// /sys/fs/cgroup/unified). Groups are named hcx-sbx-<harness pid>-<n>; those of a harness that died
// (kill -9 leaves no chance to clean up) are removed the next time a sandbox starts.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export type CgroupVersion = 'v2' | 'v1';

export interface CgroupSupport {
  version: CgroupVersion | null;
  /** parent folders new groups are made in, per controller (v2: one folder for both) */
  memoryParent?: string;
  pidsParent?: string;
  /** v1: memory.memsw.limit_in_bytes exists (swap is limited too) */
  memsw?: boolean;
  /** why no cgroup can be used, when version is null */
  reason?: string;
}

export interface Mount { point: string; root: string; fstype: string; superOptions: string[] }

/** /proc/self/mountinfo: id parent major:minor root mountpoint options [optional...] - fstype source superoptions */
export function parseMountinfo(text: string): Mount[] {
  return text.split('\n').filter(Boolean).map((l) => {
    const [pre, post] = l.split(' - ');
    const f = pre.split(' '), g = (post ?? '').split(' ');
    const unescape = (s: string) => s.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    return { point: unescape(f[4]), root: unescape(f[3]), fstype: g[0], superOptions: (g[2] ?? '').split(',') };
  });
}

/** /proc/self/cgroup: controller ('' for v2) -> path of this process's group. */
export function parseProcCgroup(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of text.split('\n').filter(Boolean)) {
    const [, , ctrls, p] = /^(\d+):([^:]*):(.*)$/.exec(l) ?? [];
    if (p === undefined) continue;
    if (ctrls === '') m.set('', p);
    for (const c of ctrls.split(',')) if (c) m.set(c, p);
  }
  return m;
}

/** The folder of a group under a mount (a mount of a sub-tree, as in a container, strips its root). */
export function folderOf(mount: Mount, groupPath: string): string | undefined {
  const at = (rel: string): string => path.join(mount.point, rel).replace(/(.)\/+$/, '$1');
  if (mount.root === '/') return at(groupPath);
  if (groupPath === mount.root || groupPath.startsWith(mount.root + '/')) return at(groupPath.slice(mount.root.length));
  return undefined;
}

/** Can a child group be made (and removed) here? */
function writable(dir: string): boolean {
  const probe = path.join(dir, `hcx-sbx-probe-${process.pid}`);
  try { mkdirSync(probe); rmdirSync(probe); return true; } catch { return false; }
}

const readText = (f: string): string => { try { return readFileSync(f, 'utf8'); } catch { return ''; } };

let support: CgroupSupport | undefined;

export function detectCgroups(): CgroupSupport {
  if (support) return support;
  support = probe();
  return support;
}

function probe(): CgroupSupport {
  let ms: Mount[], own: Map<string, string>;
  try { ms = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')); own = parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8')); } catch (e) { return { version: null, reason: `cannot read /proc: ${(e as Error).message}` }; }
  const reasons: string[] = [];
  // v2: our group's children can get memory and pids if they are enabled for them (or can be enabled here)
  const v2 = ms.find((m) => m.fstype === 'cgroup2');
  if (v2 && own.has('')) {
    const dir = folderOf(v2, own.get('')!);
    if (dir) {
      const has = (f: string) => readText(path.join(dir, f)).split(/\s+/);
      if (has('cgroup.controllers').includes('memory') && has('cgroup.controllers').includes('pids')) {
        if (!(has('cgroup.subtree_control').includes('memory') && has('cgroup.subtree_control').includes('pids'))) {
          // only possible where this group holds no processes of its own (the root group, or a delegated one)
          try { writeFileSync(path.join(dir, 'cgroup.subtree_control'), '+memory +pids'); } catch { /* below */ }
        }
        if (has('cgroup.subtree_control').includes('memory') && has('cgroup.subtree_control').includes('pids') && writable(dir)) {
          return { version: 'v2', memoryParent: dir, pidsParent: dir };
        }
        reasons.push(`cgroup v2 at ${dir}: cannot make child groups with memory and pids`);
      } else reasons.push(`cgroup v2 at ${v2.point}: memory/pids controllers are not available here`);
    }
  }
  const v1 = (ctrl: string): string | undefined => {
    const m = ms.find((x) => x.fstype === 'cgroup' && x.superOptions.includes(ctrl));
    const p = own.get(ctrl);
    const dir = m && p !== undefined ? folderOf(m, p) : undefined;
    if (!dir) { reasons.push(`no cgroup v1 ${ctrl} hierarchy`); return undefined; }
    if (!writable(dir)) { reasons.push(`cgroup v1 ${ctrl} at ${dir} is not writable`); return undefined; }
    return dir;
  };
  const memoryParent = v1('memory'), pidsParent = v1('pids');
  if (memoryParent && pidsParent) return { version: 'v1', memoryParent, pidsParent, memsw: existsSync(path.join(memoryParent, 'memory.memsw.limit_in_bytes')) };
  return { version: null, reason: reasons.join('; ') };
}

let counter = 0;
let swept = false;

const alive = (pid: number): boolean => {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
};

/** One run's group(s); every process started after joining (writing its pid to procsFiles) is inside. */
export class SandboxCgroup {
  private constructor(readonly version: CgroupVersion, readonly dirs: string[], private readonly memoryDir: string, readonly memoryBytes: number) {}

  get procsFiles(): string[] { return this.dirs.map((d) => path.join(d, 'cgroup.procs')); }

  static create(limits: { memoryBytes: number; tasks: number }): SandboxCgroup | null {
    const s = detectCgroups();
    if (!s.version) return null;
    if (!swept) { swept = true; sweepStale(s); }
    const name = `hcx-sbx-${process.pid}-${counter++}`;
    const dirs = [...new Set([s.memoryParent!, s.pidsParent!])].map((p) => path.join(p, name));
    const made: string[] = [];
    try {
      for (const d of dirs) { mkdirSync(d); made.push(d); }
      const mem = path.join(s.memoryParent!, name), pids = path.join(s.pidsParent!, name);
      if (s.version === 'v2') {
        writeFileSync(path.join(mem, 'memory.max'), String(limits.memoryBytes));
        if (existsSync(path.join(mem, 'memory.swap.max'))) writeFileSync(path.join(mem, 'memory.swap.max'), '0');
        // an out-of-memory kill takes the whole program, not one arbitrary process of it
        if (existsSync(path.join(mem, 'memory.oom.group'))) writeFileSync(path.join(mem, 'memory.oom.group'), '1');
      } else {
        writeFileSync(path.join(mem, 'memory.limit_in_bytes'), String(limits.memoryBytes));
        if (s.memsw) writeFileSync(path.join(mem, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
      }
      writeFileSync(path.join(pids, 'pids.max'), String(limits.tasks));
      return new SandboxCgroup(s.version, dirs, mem, limits.memoryBytes);
    } catch (e) {
      for (const d of made) try { rmdirSync(d); } catch { /* best effort */ }
      throw new Error(`sandbox: cannot set up cgroup ${name}: ${(e as Error).message}`);
    }
  }

  members(): number[] {
    const pids = new Set<number>();
    for (const f of this.procsFiles) for (const l of readText(f).split('\n')) if (l) pids.add(Number(l));
    return [...pids];
  }

  /** SIGKILL every process in the group, repeating until none is left (a fork may race one pass). */
  kill(): void {
    if (this.version === 'v2' && existsSync(path.join(this.dirs[0], 'cgroup.kill'))) {
      try { writeFileSync(path.join(this.dirs[0], 'cgroup.kill'), '1'); } catch { /* fall through to the loop */ }
    }
    for (let pass = 0; pass < 100; pass++) {
      const left = this.members();
      if (left.length === 0) return;
      for (const pid of left) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }

  /** Whether the kernel killed a process of the group for memory, and the group's peak usage. */
  memoryStats(): { oomKilled: boolean; peakBytes?: number } {
    const d = this.memoryDir;
    if (this.version === 'v2') {
      const ev = /oom_kill (\d+)/.exec(readText(path.join(d, 'memory.events')));
      const peak = readText(path.join(d, 'memory.peak')).trim();
      return { oomKilled: Number(ev?.[1] ?? 0) > 0, peakBytes: peak ? Number(peak) : undefined };
    }
    const oc = /oom_kill (\d+)/.exec(readText(path.join(d, 'memory.oom_control')));
    const failcnt = Number(readText(path.join(d, 'memory.failcnt')).trim() || 0);
    const peak = readText(path.join(d, 'memory.max_usage_in_bytes')).trim();
    return { oomKilled: oc ? Number(oc[1]) > 0 : failcnt > 0, peakBytes: peak ? Number(peak) : undefined };
  }

  /** Kill what is left and remove the group (an exiting process leaves the group a moment after it dies). */
  async remove(): Promise<void> {
    this.kill();
    for (const d of this.dirs) {
      for (let i = 0; ; i++) {
        try { rmdirSync(d); break; } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') break;
          if (i >= 50) throw new Error(`sandbox: cannot remove cgroup ${d}: ${(e as Error).message}`);
          this.kill();
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    }
  }
}

/** Removes the groups of harness processes that no longer run (killing anything still inside them). */
export function sweepStale(s: CgroupSupport = detectCgroups()): string[] {
  const removed: string[] = [];
  for (const parent of new Set([s.memoryParent, s.pidsParent].filter((x): x is string => !!x))) {
    let names: string[];
    try { names = readdirSync(parent); } catch { continue; }
    for (const n of names) {
      const m = /^hcx-sbx-(\d+)-\d+$/.exec(n);
      if (!m || alive(Number(m[1]))) continue;
      const d = path.join(parent, n);
      for (const l of readText(path.join(d, 'cgroup.procs')).split('\n')) if (l) try { process.kill(Number(l), 'SIGKILL'); } catch { /* gone */ }
      try { rmdirSync(d); removed.push(d); } catch { /* still busy: next time */ }
    }
  }
  return removed;
}

// The files a sandboxed program may see: its interpreter binary, the shared libraries that binary and its
// extension modules load (as ldd lists them), and for Python its standard library folders — read-only —
// and nothing else of the host (no /etc, no /home, no /work, no other user's files).
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';

export interface ProgramView {
  /** the interpreter, by its real path (what the sandbox runs) */
  exe: string;
  /** host paths bound read-only at the same place (files and whole folders) */
  binds: string[];
  /** top-level links of a merged-/usr system, recreated inside: [target, link], e.g. ['usr/lib', '/lib'] */
  links: Array<[string, string]>;
  /** what could not be worked out exactly (then whole library folders are bound instead) */
  notes: string[];
}

const cache = new Map<string, ProgramView>();

/** Shared objects an ELF file loads, by the path the loader opens (ldd's "=>" column and the loader itself). */
function sharedLibraries(files: string[]): string[] | null {
  const out = new Set<string>();
  for (let i = 0; i < files.length; i += 64) {
    const r = spawnSync('ldd', files.slice(i, i + 64), { encoding: 'utf8', timeout: 20_000 });
    if (r.error || r.status === null) return null;
    for (const line of r.stdout.split('\n')) {
      const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s+(\/\S+)\s+\(0x/.exec(line);
      if (m) out.add(m[1]);
    }
  }
  return [...out];
}

/** A path with its folder's links resolved but the file name kept (libz.so.1 stays libz.so.1, under /usr/lib). */
function canonicalFolder(p: string): string {
  try { return path.join(realpathSync(path.dirname(p)), path.basename(p)); } catch { return p; }
}

function pythonLayout(exe: string): { exe: string; folders: string[] } | null {
  const code = 'import sys, sysconfig, os, json; print(json.dumps({"exe": os.path.realpath(sys.executable), ' +
    '"folders": sorted({sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]} | {p for p in sys.path if p.endswith("lib-dynload")})}))';
  const r = spawnSync(exe, ['-I', '-S', '-c', code], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) return null;
  try {
    const j = JSON.parse(r.stdout) as { exe: string; folders: string[] };
    return { exe: j.exe, folders: j.folders.filter((f) => existsSync(f)).map((f) => realpathSync(f)) };
  } catch { return null; }
}

function elfFilesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, depth: number): void => {
    if (depth > 3) return;
    let names: string[];
    try { names = readdirSync(d); } catch { return; }
    for (const n of names) {
      const p = path.join(d, n);
      let st;
      try { st = lstatSync(p); } catch { continue; }
      if (st.isDirectory()) { if (n !== 'site-packages' && n !== 'dist-packages' && n !== 'test') walk(p, depth + 1); }
      else if (st.isFile() && /\.so(\.|$)/.test(n)) out.push(p);
    }
  };
  walk(dir, 0);
  return out;
}

/** What a program run by `exe` needs to see; Python's standard library comes with a Python. */
export function programView(exe: string): ProgramView {
  const hit = cache.get(exe);
  if (hit) return hit;
  const notes: string[] = [];
  let real = existsSync(exe) ? realpathSync(exe) : exe;
  const folders: string[] = [];
  if (/python/.test(path.basename(real))) {
    const py = pythonLayout(exe);
    if (py) { real = py.exe; folders.push(...py.folders); } else notes.push(`${exe}: could not ask it for its standard library folders`);
  }
  const elves = [real, ...folders.flatMap(elfFilesUnder)];
  const libs = sharedLibraries(elves);
  const binds = new Set<string>([real, ...folders]);
  if (libs) for (const l of libs) binds.add(canonicalFolder(l));
  else {
    notes.push('ldd is missing: the whole system library folders are visible');
    for (const d of ['/usr/lib', '/usr/lib64', '/lib', '/lib64']) if (existsSync(d)) binds.add(realpathSync(d));
  }
  // merged /usr: /lib -> usr/lib and friends, recreated so that paths baked into binaries resolve
  const links: Array<[string, string]> = [];
  for (const top of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    try { if (lstatSync(top).isSymbolicLink()) links.push([readlinkSync(top), top]); } catch { /* absent */ }
  }
  const view: ProgramView = { exe: real, binds: [...binds].sort(), links, notes };
  cache.set(exe, view);
  return view;
}

// Expands a source path (file, directory, or glob with * ? ** {a,b}) into a sorted file list.
// Node 20 has no fs.glob, and a dependency for this much is not worth it.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const MAGIC = /[*?{[]/;

/** Translates one glob to a RegExp over '/'-separated relative paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // "**/" matches zero or more directories; a bare "**" matches anything
        if (glob[i + 2] === '/') { re += '(?:.*/)?'; i += 2; } else { re += '.*'; i += 1; }
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '{') {
      const end = glob.indexOf('}', i);
      if (end < 0) { re += '\\{'; continue; }
      re += '(?:' + glob.slice(i + 1, end).split(',').map((s) => s.replace(/[.+^$()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')).join('|') + ')';
      i = end;
    } else re += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  return new RegExp('^' + re + '$');
}

function walk(dir: string, out: string[]): void {
  let names: string[];
  try { names = readdirSync(dir).sort(); } catch { return; }
  for (const name of names) {
    if (name.startsWith('.')) continue; // hidden files and .git are never corpus
    const p = path.join(dir, name);
    let st;
    try { st = statSync(p); } catch { continue; }
    if (st.isDirectory()) walk(p, out);
    else if (st.isFile()) out.push(p);
  }
}

/** Files named by a path spec, resolved against baseDir; sorted so builds are deterministic. */
export function expandPath(spec: string, baseDir = process.cwd()): string[] {
  const abs = path.resolve(baseDir, spec);
  if (!MAGIC.test(spec)) {
    let st;
    try { st = statSync(abs); } catch { throw new Error(`no such file or directory: ${spec}`); }
    if (st.isFile()) return [abs];
    const out: string[] = [];
    walk(abs, out);
    return out;
  }
  // fixed prefix up to the first segment with a wildcard is the directory to walk
  const parts = abs.split(path.sep);
  const k = parts.findIndex((p) => MAGIC.test(p));
  const root = parts.slice(0, k).join(path.sep) || path.sep;
  const re = globToRegExp(parts.slice(k).join('/'));
  const all: string[] = [];
  walk(root, all);
  return all.filter((f) => re.test(path.relative(root, f).split(path.sep).join('/')));
}

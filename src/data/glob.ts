// Expands a source path (file, directory, or glob: * ? ** [ab] {a,b}) into a sorted list of files.
// Matching is tinyglobby's (picomatch), which also walks symlinked folders without looping on a cycle;
// a file reached along several paths (a symlink back to a parent) is listed once, under its shortest path.
// Hidden files and folders (names starting with '.', e.g. .git) are never corpus. As in picomatch, a
// bracket expression also matches its literal text ("[ab]1.txt" matches a1.txt, b1.txt and a file named so).
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { globSync } from 'tinyglobby';

const MAGIC = /[*?{[]/;

function walkGlob(root: string, pattern: string): string[] {
  return globSync(pattern, { cwd: root, absolute: true, onlyFiles: true, dot: false, followSymbolicLinks: true, expandDirectories: false });
}

/** One path per real file: the one with the fewest segments, then the first in code-point order. */
function dedupeByRealPath(files: string[]): string[] {
  const best = new Map<string, string>();
  const depth = (p: string): number => p.split(path.sep).length;
  for (const f of files) {
    let real: string;
    try { real = realpathSync(f); } catch { continue; } // a dangling link
    const cur = best.get(real);
    if (cur === undefined || depth(f) < depth(cur) || (depth(f) === depth(cur) && f < cur)) best.set(real, f);
  }
  return [...best.values()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Files named by a path spec, resolved against baseDir; sorted so builds are deterministic. */
export function expandPath(spec: string, baseDir = process.cwd()): string[] {
  const abs = path.resolve(baseDir, spec);
  if (!MAGIC.test(spec)) {
    let st;
    try { st = statSync(abs); } catch { throw new Error(`no such file or directory: ${spec}`); }
    if (st.isFile()) return [abs];
    if (!st.isDirectory()) throw new Error(`not a file or directory: ${spec}`);
    return dedupeByRealPath(walkGlob(abs, '**/*'));
  }
  // the fixed prefix up to the first segment with a wildcard is the folder to walk
  const parts = abs.split(path.sep);
  const k = parts.findIndex((p) => MAGIC.test(p));
  const root = parts.slice(0, k).join(path.sep) || path.sep;
  return dedupeByRealPath(walkGlob(root, parts.slice(k).join('/')));
}

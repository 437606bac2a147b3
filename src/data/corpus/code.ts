// The code third of the built-in corpus: source files of packages installed with hcx (the JavaScript of
// small dependencies, TypeScript's lib.*.d.ts declarations) and then hcx's own sources, read at run time,
// never copied into the repository.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The package root: the nearest folder above this module with a package.json named hcx. */
export function packageRoot(): string {
  let d = here;
  for (let i = 0; i < 8; i++) {
    const pj = path.join(d, 'package.json');
    if (existsSync(pj)) { try { if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'hcx') return d; } catch { /* keep looking */ } }
    d = path.dirname(d);
  }
  return process.cwd();
}

function list(dir: string, re: RegExp, out: string[], depth = 0): void {
  if (depth > 6 || !existsSync(dir)) return;
  for (const n of readdirSync(dir).sort()) {
    if (n.startsWith('.') || n === 'test' || n === 'tests' || n === 'dist' && depth === 0) continue;
    const p = path.join(dir, n);
    const st = statSync(p);
    if (st.isDirectory()) list(p, re, out, depth + 1);
    else if (re.test(n) && st.size >= 200 && st.size <= 200_000) out.push(p);
  }
}

/**
 * Candidate code files in a fixed order: installed packages first (their versions are pinned by the lockfile,
 * so the demo's corpus, tokenizer and model stay the same from one hcx commit to the next), then hcx's own
 * sources (used only when a larger code share asks for more).
 */
export function codeFiles(): string[] {
  const root = packageRoot();
  const files: string[] = [];
  const nm = path.join(root, 'node_modules');
  for (const pkg of ['unbzip2-stream', 'through', 'buffer', 'base64-js', 'ieee754', 'semver', 'minimatch', 'glob', 'which', 'node-gyp', 'tar']) list(path.join(nm, pkg), /\.(js|mjs|cjs|ts)$/, files);
  list(path.join(nm, 'typescript', 'lib'), /^lib\..*\.d\.ts$/, files);
  list(path.join(root, 'src'), /\.(ts|cc|h)$/, files);
  return files.filter((f) => !/\.min\.js$/.test(f));
}

/** Up to maxBytes of source files: [path relative to the package root, contents]. */
export function codeDocs(maxBytes: number): { file: string; text: string }[] {
  const root = packageRoot();
  const out: { file: string; text: string }[] = [];
  let total = 0;
  for (const f of codeFiles()) {
    if (total >= maxBytes) break;
    const text = readFileSync(f, 'utf8');
    out.push({ file: path.relative(root, f), text });
    total += Buffer.byteLength(text);
  }
  return out;
}

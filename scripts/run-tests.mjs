// Runs every compiled test file under dist/test with node's built-in runner.
// (Node 20's `node --test DIR` does not pick up nested folders reliably, so list them here.)
import { readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'dist', 'test');
const filter = process.argv.slice(2);
function walk(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js') && (filter.length === 0 || filter.some((f) => p.includes(f)))) out.push(p);
  }
  return out;
}
const files = walk(root, []);
if (files.length === 0) { console.error('no test files found under ' + root); process.exit(1); }
// A per-test timeout turns a hang into a failure that names the test, well inside CI's time limit.
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=300000', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);

// Builds the C++ kernel addon with node-gyp against the headers of the node that runs this script.
// A bare `node-gyp rebuild` would try to download headers, which fails offline: --nodedir points
// it at the installation that process.execPath belongs to (…/bin/node -> …/include/node).
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const nodedir = path.dirname(path.dirname(process.execPath));
if (!existsSync(path.join(nodedir, 'include', 'node', 'node_api.h'))) {
  console.error(`hcx: Node headers not found under ${nodedir}/include/node; install Node with its headers.`);
  process.exit(1);
}
const require = createRequire(import.meta.url);
let gyp;
try { gyp = require.resolve('node-gyp/bin/node-gyp.js'); }
catch { gyp = process.env.npm_config_node_gyp; }
if (!gyp) { console.error('hcx: node-gyp not found (npm ci installs it as a dev dependency)'); process.exit(1); }
const jobs = String(Math.max(1, Math.min(4, (await import('node:os')).availableParallelism())));
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
// Incremental when the build folder is configured for the current binding.gyp (make rebuilds only the
// changed sources); a full rebuild otherwise.
const makefile = path.join(root, 'build', 'Makefile');
const fresh = existsSync(makefile) && statSync(makefile).mtimeMs >= statSync(path.join(root, 'binding.gyp')).mtimeMs;
const r = spawnSync(process.execPath, [gyp, fresh ? 'build' : 'rebuild', `--nodedir=${nodedir}`, '-j', jobs], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);

// Hostile programs in the code sandbox: no writes outside their directory, no network, no fork bomb or
// memory exhaustion, and a wall-clock kill. Skipped where the machine offers only resource limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, existsSync, rmSync, chmodSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runPython, detectIsolation } from '../../src/eval/sandbox.js';

const full = detectIsolation() === 'full';
const skip = full ? false : 'needs root with unshare/setpriv/prlimit (limits-only here)';

test('a correct program passes and a failing assertion fails', async () => {
  assert.equal((await runPython('def f(x):\n    return x + 1\nassert f(1) == 2\n')).status, 'passed');
  assert.equal((await runPython('assert 1 == 2\n')).status, 'failed');
});

test('cannot write outside its own directory', { skip }, async () => {
  const outside = mkdtempSync(path.join(os.tmpdir(), 'hcx-outside-'));
  chmodSync(outside, 0o777);
  const targets = [path.join(outside, 'pwned'), '/etc/hcx-pwned', '/var/tmp/hcx-pwned', '/dev/shm/hcx-pwned', path.join(process.cwd(), 'hcx-pwned')];
  const prog = `import os\nok = []\nfor p in ${JSON.stringify(targets)}:\n    try:\n        open(p, 'w').write('x'); ok.append(p)\n    except OSError:\n        pass\nopen('inside.txt', 'w').write('fine')\nprint(ok)\nassert ok == [], ok\n`;
  const r = await runPython(prog);
  assert.equal(r.status, 'passed', r.stdout + r.stderr);
  for (const t of targets) assert.equal(existsSync(t), false, t);
  rmSync(outside, { recursive: true, force: true });
});

test('cannot reach the network, not even loopback', { skip }, async () => {
  let connections = 0;
  const server = net.createServer((s) => { connections++; s.destroy(); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const r = await runPython(`import socket\ntry:\n    socket.create_connection(('127.0.0.1', ${port}), timeout=2)\n    print('connected')\nexcept OSError as e:\n    print('blocked', e)\n`);
  server.close();
  assert.match(r.stdout, /blocked/);
  assert.equal(connections, 0);
});

test('a fork bomb is contained and killed', { skip }, async () => {
  const r = await runPython('import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n', { timeoutMs: 1500, maxProcesses: 16 });
  assert.equal(r.status, 'timeout');
  // the machine is still usable: a normal program runs right after
  assert.equal((await runPython('print(1)')).status, 'passed');
});

test('cannot exhaust memory', { skip }, async () => {
  const r = await runPython('x = bytearray(4 * 1024 ** 3)\n', { memoryMb: 256 });
  assert.equal(r.status, 'failed');
  assert.match(r.stderr, /MemoryError/);
});

test('an endless loop is killed at the wall-clock limit', async () => {
  const r = await runPython('while True:\n    pass\n', { timeoutMs: 1000 });
  assert.ok(r.status === 'timeout' || r.status === 'error', r.status);
  assert.ok(r.durationMs < 5000);
});

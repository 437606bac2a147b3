// Hostile programs in the code sandbox: no writes outside its tmpfs, no network, no host files, no fork bomb,
// no memory or disk exhaustion (for one process or many), no escape from the deadline by a new session,
// no nested user namespace, and nothing left running when the harness itself is killed. Tests of a
// mechanism this machine lacks are skipped, saying which (sandboxMechanisms() lists them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectIsolation, runPython, sandboxMechanisms } from '../../src/eval/sandbox.js';
import { detectCgroups, sweepStale } from '../../src/eval/sandbox-cgroup.js';

const full = detectIsolation() === 'full';
// CI installs bubblewrap and sets HCX_REQUIRE_SANDBOX=1: there the namespace tests cannot silently skip
test('sandbox: full isolation where it is required', { skip: process.env.HCX_REQUIRE_SANDBOX === '1' ? false : 'HCX_REQUIRE_SANDBOX is not set' }, () => {
  assert.equal(detectIsolation(), 'full', sandboxMechanisms().notEnforced.join('; '));
});
const skip = full ? false : `needs bubblewrap namespaces: ${sandboxMechanisms().notEnforced.join('; ')}`;
const cgroups = detectCgroups().version !== null;
const skipCg = cgroups ? false : `needs a writable cgroup: ${detectCgroups().reason}`;

/** Host processes whose name (comm) is `name`: how a test finds what a program left behind. */
function processesNamed(name: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try { if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === name) out.push(Number(d)); } catch { /* exited */ }
  }
  return out;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(50)) if (cond()) return true;
  return cond();
}
// Python that renames its process (PR_SET_NAME), so the host can look for it by name.
const NAME = (name: string) => `import ctypes\nctypes.CDLL(None).prctl(15, ${JSON.stringify(name)}.encode(), 0, 0, 0)\n`;

test('sandbox: the mechanisms in use are reported', () => {
  const m = sandboxMechanisms();
  assert.ok(m.isolation === 'full' || m.isolation === 'limits-only');
  assert.ok(Array.isArray(m.notEnforced));
  if (m.isolation === 'limits-only') assert.ok(m.notEnforced.some((s) => /no namespaces/.test(s)), JSON.stringify(m));
  if (!cgroups) assert.ok(m.notEnforced.some((s) => /no usable cgroup/.test(s)));
  if (full) assert.equal(m.nestedUserNamespaces, 'forbidden');
});

test('a correct program passes and a failing assertion fails', async () => {
  assert.equal((await runPython('def f(x):\n    return x + 1\nassert f(1) == 2\n')).status, 'passed');
  assert.equal((await runPython('assert 1 == 2\n')).status, 'failed');
  // the standard library works inside (C extension modules included)
  const r = await runPython('import json, sqlite3, decimal, hashlib, re, collections, itertools, math, heapq, ctypes\nprint(json.dumps([1]))\n');
  assert.equal(r.status, 'passed', r.stderr);
  assert.equal(r.stdout.trim(), '[1]');
});

test('cannot write outside its own directory', { skip }, async () => {
  const outside = mkdtempSync(path.join(os.tmpdir(), 'hcx-outside-'));
  chmodSync(outside, 0o777);
  const targets = [path.join(outside, 'pwned'), '/etc/hcx-pwned', '/var/tmp/hcx-pwned', '/dev/shm/hcx-pwned', path.join(process.cwd(), 'hcx-pwned'), '/hcx-pwned', '/usr/hcx-pwned', '/proc/hcx-pwned', '/dev/hcx-pwned'];
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

test('sees no host files: not /etc, not other users\' working trees, not the harness\'s own folders', { skip }, async () => {
  const mine = mkdtempSync(path.join(os.tmpdir(), 'hcx-secret-'));
  chmodSync(mine, 0o755);
  const secret = path.join(mine, 'secret.txt');
  writeFileSync(secret, 'world-readable secret');
  chmodSync(secret, 0o644);
  const probes = ['/etc/passwd', '/etc/hostname', '/proc/1/root/etc/passwd', secret, path.join(process.cwd(), 'package.json'), '/work/wt', '/home', '/root', os.homedir(), '/usr/share', '/usr/local', '/var'];
  const prog = `import os\nseen = []\nfor p in ${JSON.stringify(probes)}:\n    try:\n        (os.listdir(p) if os.path.isdir(p) else open(p).read(1)); seen.append(p)\n    except OSError:\n        pass\nprint(repr(seen))\nprint(sorted(os.listdir('/')))\n`;
  const r = await runPython(prog);
  assert.equal(r.status, 'passed', r.stderr);
  const [seen, top] = r.stdout.trim().split('\n');
  assert.equal(seen, '[]', `visible inside the sandbox: ${seen}`);
  for (const entry of JSON.parse(top.replace(/'/g, '"')) as string[]) assert.ok(['bin', 'dev', 'lib', 'lib32', 'lib64', 'libx32', 'proc', 'sbin', 'tmp', 'usr'].includes(entry), `/${entry} is visible`);
  rmSync(mine, { recursive: true, force: true });
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

test('memory is limited for the program as a whole: 8 forked children cannot hold 8 x 200 MB', { skip: skipCg }, async () => {
  // each child fills 200 MB, reports it, then holds it; the parent counts those still alive at the end
  const prog = `import os, time
r, w = os.pipe()
kids = []
for i in range(8):
    pid = os.fork()
    if pid == 0:
        b = bytearray(200 * 1024 * 1024)
        for j in range(0, len(b), 4096): b[j] = 1
        os.write(w, bytes([i]))
        time.sleep(30)
        os._exit(0)
    kids.append(pid)
os.close(w)
os.set_blocking(r, False)
# Wait until every child has reported or died (not a fixed sleep: a loaded machine fills memory slowly),
# then a moment more for the limit to settle, and count the children still alive that had filled.
filled, dead = set(), set()
deadline = time.time() + 6
while time.time() < deadline and len(filled | dead) < len(kids):
    try:
        filled |= set(os.read(r, 100))
    except BlockingIOError:
        pass
    dead |= {i for i, pid in enumerate(kids) if i not in dead and os.waitpid(pid, os.WNOHANG) != (0, 0)}
    time.sleep(0.05)
time.sleep(0.5)
try:
    filled |= set(os.read(r, 100))
except BlockingIOError:
    pass
held = [i for i, pid in enumerate(kids) if i in filled and i not in dead and os.waitpid(pid, os.WNOHANG) == (0, 0)]
print('held', len(held))
`;
  const r = await runPython(prog, { memoryMb: 512, diskMb: 16, timeoutMs: 8000, maxProcesses: 16 });
  const held = Number(/held (\d+)/.exec(r.stdout)?.[1] ?? -1);
  // the group's limit is the program's memory plus its tmpfs and 16 MiB for the sandbox's own processes
  assert.ok(held >= 0 && held * 200 <= 512 + 16 + 16, `children holding 200 MB: ${held} (${r.status}) ${r.stderr.slice(-300)}`);
  assert.ok(held >= 1, 'one child fits: the limit is not far below what was asked');
});

test('no nested user namespace, so no tmpfs of its own to fill', { skip }, async () => {
  const prog = `import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER, CLONE_NEWNS = 0x10000000, 0x00020000
rc = libc.unshare(CLONE_NEWUSER | CLONE_NEWNS)
print('unshare', rc, os.strerror(ctypes.get_errno()))
if rc == 0:
    os.makedirs('/tmp/m', exist_ok=True)
    print('mount', libc.mount(b'none', b'/tmp/m', b'tmpfs', 0, None))
`;
  const r = await runPython(prog);
  assert.equal(r.status, 'passed', r.stderr);
  assert.match(r.stdout, /^unshare -1 /, r.stdout);
  assert.doesNotMatch(r.stdout, /mount 0/);
});

test('disk: writes stop at the tmpfs size; the host disk is untouched', { skip }, async () => {
  const before = statfsSync(os.tmpdir());
  const prog = `import os
n = 0
try:
    for i in range(10000):
        with open(f'f{i}', 'wb') as f:
            f.write(b'x' * (1 << 20))
        n += 1
except OSError as e:
    print('stopped', e.errno)
print('mb', n)
`;
  const r = await runPython(prog, { diskMb: 32 });
  const after = statfsSync(os.tmpdir());
  assert.equal(r.status, 'passed', r.stderr);
  assert.match(r.stdout, /stopped (28|27)/); // ENOSPC, or EFBIG from the file-size limit
  const mb = Number(/mb (\d+)/.exec(r.stdout)![1]);
  assert.ok(mb <= 32, `${mb} MB written`);
  // the host file system did not lose the space (allowing for other jobs on the machine)
  assert.ok((before.bavail - after.bavail) * before.bsize < 200 * 2 ** 20);
});

test('a new session does not escape the deadline: the whole namespace dies with it', { skip }, async () => {
  const prog = NAME('hcxsetsid') + `import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(600)
    time.sleep(600)
os.setsid() if os.getpid() != os.getsid(0) else None
time.sleep(600)
`;
  const t0 = Date.now();
  const r = await runPython(prog, { timeoutMs: 1500 });
  assert.equal(r.status, 'timeout');
  assert.ok(Date.now() - t0 < 6000, `returned after ${Date.now() - t0} ms`);
  assert.ok(await waitFor(() => processesNamed('hcxsetsid').length === 0, 3000), `left running: ${processesNamed('hcxsetsid')}`);
});

test('killing its parent, or everything it can see, kills only the sandbox', { skip }, async () => {
  // a host process of the same user the program runs as: kill(-1) must not reach it
  const asNobody = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'] : [];
  const bystander = spawn(asNobody[0] ?? 'sleep', [...asNobody.slice(1), ...(asNobody.length ? ['sleep'] : []), '30'], { stdio: 'ignore' });
  try {
    await sleep(200);
    const r = await runPython('import os, signal\nfor pid in (os.getppid(), 1, -1):\n    try:\n        os.kill(pid, signal.SIGKILL)\n    except OSError as e:\n        print(pid, e)\nprint("still here")\n', { timeoutMs: 3000 });
    assert.notEqual(r.status, 'timeout');
    assert.equal(bystander.exitCode, null, 'the host process was killed');
    assert.equal(bystander.signalCode, null);
    assert.equal((await runPython('print(2)')).stdout.trim(), '2');
  } finally {
    bystander.kill('SIGKILL');
  }
});

test('the sandbox dies with the harness, even when the harness is killed with SIGKILL', { skip, timeout: 30_000 }, async () => {
  const sandboxJs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/eval/sandbox.js');
  const prog = NAME('hcxorphan') + 'import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(600)\ntime.sleep(600)\n';
  const harness = spawn(process.execPath, ['-e', `import(${JSON.stringify(sandboxJs)}).then((m) => m.runPython(${JSON.stringify(prog)}, { timeoutMs: 600000 }))`], { stdio: 'ignore' });
  try {
    assert.ok(await waitFor(() => processesNamed('hcxorphan').length === 2, 15_000), `the program did not start: ${processesNamed('hcxorphan')}`);
    process.kill(harness.pid!, 'SIGKILL');
    assert.ok(await waitFor(() => processesNamed('hcxorphan').length === 0, 5000), `orphans: ${processesNamed('hcxorphan')}`);
  } finally {
    try { process.kill(harness.pid!, 'SIGKILL'); } catch { /* gone */ }
  }
  // the dead harness's cgroups are removed by the next sandbox to start
  if (cgroups) {
    const s = detectCgroups();
    const left = () => [s.memoryParent!, s.pidsParent!].flatMap((p) => readdirSync(p).filter((n) => n.startsWith(`hcx-sbx-${harness.pid}-`)).map((n) => path.join(p, n)));
    assert.ok(left().length > 0, 'the killed harness had made a cgroup');
    assert.ok(await waitFor(() => { sweepStale(); return left().length === 0; }, 5000), `left behind: ${left()}`);
  }
});

test('limits only (HCX_SANDBOX=limits-only): the cgroup still kills a new session at the deadline', { skip: skipCg, timeout: 30_000 }, async () => {
  const sandboxJs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/eval/sandbox.js');
  const prog = NAME('hcxlimits') + 'import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(600)\ntime.sleep(600)\n';
  const script = `import(${JSON.stringify(sandboxJs)}).then(async (m) => { const a = await m.runPython('print(3)'); const b = await m.runPython(${JSON.stringify(prog)}, { timeoutMs: 1500 }); ` +
    `console.log(JSON.stringify({ a: [a.status, a.stdout.trim(), a.isolation], b: [b.status, b.durationMs], gaps: m.sandboxMechanisms().notEnforced })); })`;
  const out = await new Promise<string>((resolve, reject) => {
    const c = spawn(process.execPath, ['-e', script], { env: { ...process.env, HCX_SANDBOX: 'limits-only' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let s = '';
    c.stdout.on('data', (d: Buffer) => { s += d; });
    c.on('close', (code) => (code === 0 ? resolve(s) : reject(new Error(`exit ${code}`))));
  });
  const r = JSON.parse(out) as { a: [string, string, string]; b: [string, number]; gaps: string[] };
  assert.deepEqual(r.a, ['passed', '3', 'limits-only']);
  assert.equal(r.b[0], 'timeout');
  assert.ok(r.b[1] < 5000, `${r.b[1]} ms`);
  assert.ok(r.gaps.some((g) => /no namespaces \(HCX_SANDBOX=limits-only is set\)/.test(g)), r.gaps.join('; '));
  assert.ok(await waitFor(() => processesNamed('hcxlimits').length === 0, 3000), `left running: ${processesNamed('hcxlimits')}`);
});

test('an endless loop is killed at the wall-clock limit', async () => {
  const r = await runPython('while True:\n    pass\n', { timeoutMs: 1000 });
  assert.ok(r.status === 'timeout' || r.status === 'error', r.status);
  assert.ok(r.durationMs < 5000);
});

test('each run removes its cgroup', { skip: skipCg }, async () => {
  await runPython('print(1)');
  const s = detectCgroups();
  for (const parent of [s.memoryParent!, s.pidsParent!]) assert.deepEqual(readdirSync(parent).filter((n) => n.startsWith(`hcx-sbx-${process.pid}-`)), [], parent);
});

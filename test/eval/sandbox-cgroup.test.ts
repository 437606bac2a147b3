// Finding this process's cgroup folders from /proc, on the layouts hosts have: hybrid (v1 controllers plus
// an empty cgroup2, as on this machine), pure v2 (systemd), and a container whose mounts show a sub-tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { folderOf, parseMountinfo, parseProcCgroup } from '../../src/eval/sandbox-cgroup.js';

test('cgroup folders: hybrid v1, pure v2, and a container sub-tree mount', () => {
  const hybrid = parseMountinfo([
    '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
    '39 31 0:36 / /sys/fs/cgroup/pids rw,relatime shared:7 - cgroup cgroup rw,pids',
    '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
  ].join('\n'));
  assert.deepEqual(hybrid.map((m) => [m.point, m.fstype, m.superOptions]), [
    ['/sys/fs/cgroup/memory', 'cgroup', ['rw', 'memory']], ['/sys/fs/cgroup/pids', 'cgroup', ['rw', 'pids']], ['/sys/fs/cgroup/unified', 'cgroup2', ['rw']]]);
  const own = parseProcCgroup('8:pids:/\n4:memory:/process_api/abc\n3:cpu,cpuacct:/x\n0::/\n');
  assert.equal(own.get('memory'), '/process_api/abc');
  assert.equal(own.get('cpuacct'), '/x');
  assert.equal(own.get(''), '/');
  assert.equal(folderOf(hybrid[0], own.get('memory')!), '/sys/fs/cgroup/memory/process_api/abc');
  assert.equal(folderOf(hybrid[1], own.get('pids')!), '/sys/fs/cgroup/pids');

  const v2 = parseMountinfo('30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot');
  const ownV2 = parseProcCgroup('0::/user.slice/user-1000.slice/session-2.scope\n');
  assert.equal(folderOf(v2[0], ownV2.get('')!), '/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope');

  // a container sees its own sub-tree mounted at /sys/fs/cgroup/memory; escaped characters in paths
  const sub = parseMountinfo('50 40 0:32 /docker/f00 /sys/fs/cgroup/memory\\040x ro - cgroup cgroup rw,memory');
  assert.equal(sub[0].point, '/sys/fs/cgroup/memory x');
  assert.equal(folderOf(sub[0], '/docker/f00/job'), '/sys/fs/cgroup/memory x/job');
  assert.equal(folderOf(sub[0], '/docker/f00'), '/sys/fs/cgroup/memory x');
  assert.equal(folderOf(sub[0], '/elsewhere'), undefined);
});

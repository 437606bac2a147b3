// A private redis-server (Debian's; .ci/run installs it) on a free loopback port, for tests of the
// Redis/BullMQ pipeline store. Tests skip with the reason when it is not installed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

const BIN = process.env.HCX_REDIS_SERVER ?? 'redis-server';

/** Why the Redis suites skip, or false; with HCX_REQUIRE_REDIS=1 (CI, where it is installed) a skip is an error. */
export function redisMissing(): string | false {
  const r = spawnSync(BIN, ['--version'], { encoding: 'utf8' });
  if (r.status === 0) return false;
  const why = `${BIN} not installed (apt-get install -y redis-server)`;
  if (process.env.HCX_REQUIRE_REDIS === '1') throw new Error(`HCX_REQUIRE_REDIS=1 but ${why}`);
  return why;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RedisServer { url: string; port: number; stop(): Promise<void> }

/** Starts redis-server (no persistence) on `port` or a free one and waits until it accepts connections. */
export async function startRedis(port?: number): Promise<RedisServer> {
  const p = port ?? (await freePort());
  const child: ChildProcess = spawn(BIN, ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (b: Buffer) => {
      out += b.toString();
      if (out.includes('Ready to accept connections')) resolve();
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out.slice(-2000)}`)));
    setTimeout(() => reject(new Error(`redis-server did not start in 10 s: ${out.slice(-2000)}`)), 10_000);
  });
  return {
    url: `redis://127.0.0.1:${p}`, port: p,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    }),
  };
}

// The stores every pipeline test suite runs over: SQLite always, Redis/BullMQ where redis-server is
// installed (each suite gets its own redis-server and key prefix).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openStore, type Store } from '../../src/pipeline/store.js';
import { redisMissing, startRedis, type RedisServer } from '../helpers/redis.js';

export interface StoreBackend {
  name: string;
  skip: string | false;
  /** A fresh, empty store URL (a new SQLite file or a new Redis prefix). */
  freshUrl(): Promise<string>;
  open(url: string): Promise<Store>;
  teardown(): Promise<void>;
}

let n = 0;

export function backends(): StoreBackend[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'hcx-store-'));
  let redis: RedisServer | undefined;
  return [
    {
      name: 'sqlite', skip: false,
      freshUrl: async () => `sqlite:${path.join(dir, `s${++n}.db`)}`,
      open: openStore,
      teardown: async () => rmSync(dir, { recursive: true, force: true }),
    },
    {
      name: 'redis', skip: redisMissing(),
      freshUrl: async () => {
        redis ??= await startRedis();
        return `${redis.url}?prefix=t${++n}`;
      },
      open: openStore,
      teardown: async () => { await redis?.stop(); },
    },
  ];
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls fn until it returns a truthy value or timeoutMs passes. */
export async function waitFor<T>(fn: () => Promise<T> | T, timeoutMs: number, what: string): Promise<NonNullable<T>> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

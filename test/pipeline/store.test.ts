// One suite, both stores: the journal adds an event once, a job id is added once, only a live lease
// can finish a job, an expired lease's job is retried, attempts run out into a failure.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { backends, sleep, waitFor } from './stores.js';

for (const b of backends()) {
  describe(`pipeline store: ${b.name}`, { skip: b.skip }, () => {
    after(() => b.teardown());

    test('journal: an event is appended once per key and read back in order, from any handle', async () => {
      const url = await b.freshUrl();
      const s1 = await b.open(url), s2 = await b.open(url);
      try {
        assert.deepEqual(await s1.appendEvent('ck|pretrain|10|abc', 'checkpoint.saved', { step: 10 }), { seq: 1, fresh: true });
        assert.deepEqual(await s2.appendEvent('ck|pretrain|20|def', 'checkpoint.saved', { step: 20 }), { seq: 2, fresh: true });
        assert.deepEqual(await s2.appendEvent('ck|pretrain|10|abc', 'checkpoint.saved', { step: 10 }), { seq: 1, fresh: false });
        const all = await s1.readEvents(0);
        assert.deepEqual(all.map((e) => [e.seq, e.key, e.type, e.data]), [[1, 'ck|pretrain|10|abc', 'checkpoint.saved', { step: 10 }], [2, 'ck|pretrain|20|def', 'checkpoint.saved', { step: 20 }]]);
        assert.deepEqual((await s1.readEvents(1)).map((e) => e.seq), [2]);
        assert.deepEqual(await s1.readEvents(2), []);
      } finally {
        await s1.close(); await s2.close();
      }
    });

    test('jobs: added once, claimed by one worker, finished only under a live lease', async () => {
      const s = await b.open(await b.freshUrl());
      try {
        assert.equal(await s.enqueue({ id: 'a', queue: 'eval', kind: 'k', payload: { n: 1 } }), true);
        assert.equal(await s.enqueue({ id: 'a', queue: 'eval', kind: 'k', payload: { n: 99 } }), false);
        assert.equal(await s.enqueue({ id: 'b', queue: 'eval', kind: 'k', payload: { n: 2 } }), true);
        assert.equal(await s.claim('other', 'w1', 5000), null, 'queues are separate');
        const j1 = await s.claim('eval', 'w1', 5000);
        const j2 = await s.claim('eval', 'w2', 5000);
        assert.ok(j1 && j2);
        assert.deepEqual([j1.id, j1.payload, j1.attempt], ['a', { n: 1 }, 1]);
        assert.equal(j2.id, 'b');
        assert.equal(await s.claim('eval', 'w3', 5000), null, 'both jobs are leased');
        assert.equal(await s.heartbeat(j1.lease, 5000), true);
        assert.equal((await s.getJob('a'))?.state, 'running');
        assert.equal(await s.complete({ ...j1.lease, token: 'forged' }, { bad: true }), false, 'a wrong token cannot finish the job');
        assert.equal(await s.complete(j1.lease, { ok: 1 }), true);
        assert.equal(await s.complete(j1.lease, { ok: 2 }), false, 'a job finishes once');
        assert.equal(await s.heartbeat(j1.lease, 5000), false, 'no heartbeat on a finished job');
        const a = await s.getJob('a');
        assert.deepEqual([a?.state, a?.result, a?.attempts, a?.worker], ['done', { ok: 1 }, 1, 'w1']);
        assert.equal(await s.enqueue({ id: 'a', queue: 'eval', kind: 'k', payload: {} }), false, 'a finished job is not added again');
        assert.equal(await s.claim('eval', 'w3', 5000), null);
        assert.deepEqual((await s.listJobs()).map((j) => [j.id, j.state]), [['a', 'done'], ['b', 'running']]);
      } finally {
        await s.close();
      }
    });

    test('leases: a job whose worker stops heartbeating is retried by another; the old lease is dead', async () => {
      const s = await b.open(await b.freshUrl());
      try {
        await s.enqueue({ id: 'x', queue: 'q', kind: 'k', payload: null });
        const first = await s.claim('q', 'dead-worker', 400);
        assert.ok(first);
        const second = await waitFor(() => s.claim('q', 'w2', 5000), 8000, 'the expired job to be claimed again');
        assert.deepEqual([second.id, second.attempt], ['x', 2]);
        assert.equal(await s.heartbeat(first.lease, 5000), false);
        assert.equal(await s.complete(first.lease, 'late'), false, 'the dead worker cannot finish it any more');
        assert.equal(await s.complete(second.lease, 'ok'), true);
        assert.equal((await s.getJob('x'))?.result, 'ok');
      } finally {
        await s.close();
      }
    });

    test('failures: retried after the delay until attempts run out; an expired last attempt fails', async () => {
      const s = await b.open(await b.freshUrl());
      try {
        await s.enqueue({ id: 'f', queue: 'q', kind: 'k', payload: null, maxAttempts: 2, retryDelayMs: 300 });
        const a1 = await s.claim('q', 'w', 5000);
        assert.equal(await s.fail(a1!.lease, 'boom 1'), 'retry');
        assert.equal(await s.claim('q', 'w', 5000), null, 'not before the retry delay');
        const a2 = await waitFor(() => s.claim('q', 'w', 5000), 5000, 'the retry');
        assert.equal(a2.attempt, 2);
        assert.equal(await s.fail(a2.lease, 'boom 2'), 'failed');
        const f = await s.getJob('f');
        assert.equal(f?.state, 'failed');
        assert.match(f?.error ?? '', /boom 2/);

        await s.enqueue({ id: 'g', queue: 'q', kind: 'k', payload: null, maxAttempts: 1 });
        assert.ok(await s.claim('q', 'dies', 300));
        await sleep(400);
        await waitFor(async () => {
          assert.equal(await s.claim('q', 'w', 5000), null, 'no attempt is left');
          return (await s.getJob('g'))?.state === 'failed';
        }, 8000, 'g to fail');
        assert.match((await s.getJob('g'))?.error ?? '', /last attempt/);
      } finally {
        await s.close();
      }
    });

    test('key-value space: put, get, entries per namespace', async () => {
      const s = await b.open(await b.freshUrl());
      try {
        await s.put('stages', 'b', { state: 'done' });
        await s.put('stages', 'a', { state: 'running' });
        await s.put('stages', 'a', { state: 'done', n: [1, 2] });
        await s.put('other', 'a', 1);
        assert.deepEqual(await s.get('stages', 'a'), { state: 'done', n: [1, 2] });
        assert.equal(await s.get('stages', 'zz'), undefined);
        assert.deepEqual(await s.entries('stages'), [['a', { state: 'done', n: [1, 2] }], ['b', { state: 'done' }]]);
      } finally {
        await s.close();
      }
    });
  });
}

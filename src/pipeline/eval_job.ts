// The eval job: one suite on one checkpoint, keyed by (stage, step, content hash, suite). The result is
// written into the checkpoint's folder and the store. A retry after a kill that came after the result
// file was written adopts that file instead of evaluating again, so an evaluation completes once.
import { existsSync } from 'node:fs';
import { crashPoint } from '../util/crash.js';
import { readMarker } from './checkpoint_events.js';
import { runSuite } from './eval_suites.js';
import { readResult, resultKey, writeResult, type EvalResult } from './results.js';
import type { Json, Store } from './store.js';
import { trace } from './trace.js';
import { LeaseLost, type JobHandler } from './worker.js';

export interface EvalPayload { stage: string; runDir: string; step: number; dir: string; hash: string; suite: string }

export const evalJobId = (p: EvalPayload): string => `eval|${p.stage}|${p.step}|${p.hash.slice(0, 16)}|${p.suite}`;

export function evalJobHandler(store: Store): JobHandler {
  return async (job, ctx): Promise<Json> => {
    const p = job.payload as unknown as EvalPayload;
    if (!existsSync(p.dir)) return { skipped: `checkpoint ${p.dir} is no longer on disk` };
    const m = readMarker(p.dir);
    if (!m || m.hash !== p.hash) return { skipped: `checkpoint ${p.dir} changed since it was announced` };
    let r = readResult(p.dir, p.suite);
    if (r && r.hash === p.hash) ctx.log(`${job.id}: result already attached by an earlier attempt; recording it`);
    else {
      const res = await runSuite(p.suite, p.dir, {
        runDir: p.runDir,
        alive: () => {
          crashPoint('eval.item');
          if (ctx.lost.aborted) throw new LeaseLost(`lost the lease on ${job.id}`);
        },
      });
      trace('eval.done', job.id);
      r = { stage: p.stage, step: p.step, hash: p.hash, suite: p.suite, metrics: res.metrics, ...(res.samples !== undefined ? { samples: res.samples } : {}), worker: ctx.worker, time: Date.now() } satisfies EvalResult;
      writeResult(p.dir, r);
      crashPoint('eval.written');
    }
    await store.put('results', resultKey(p.stage, p.step, p.suite), r as unknown as Json);
    return { metrics: r.metrics };
  };
}

// The stage job, worker side: runs the stage in its own process (src/pipeline/stage_process.ts) so the
// worker's event loop stays free for lease heartbeats while training blocks its own; the stage's output
// goes to a log file, whose tail becomes the job's error when it fails. A lost lease kills the process.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeJsonAtomic } from '../util/atomic.js';
import type { StageOutput } from './stages.js';
import type { Json, Store } from './store.js';
import { LeaseLost, type JobHandler } from './worker.js';

export interface StagePayload {
  name: string; kind: string; key: string;
  /** With upstream references substituted. */
  config: Record<string, unknown>;
  dir: string; cwd: string; where: string; pipelineDir: string;
  inputs: Record<string, { kind: string; output: StageOutput }>;
  /** The evaluation suites the plan runs on this stage's checkpoints. */
  suites?: string[];
}

const STAGE_PROCESS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'stage_process.js');

export const safeName = (id: string): string => id.replace(/[^A-Za-z0-9_.-]+/g, '_');

/** Fault tests' crash points (HCX_CRASH_AT) apply to a job's first attempt only, so the retry can finish. */
export function attemptEnv(attempt: number): NodeJS.ProcessEnv {
  if (attempt <= 1) return process.env;
  const { HCX_CRASH_AT: _c, ...env } = process.env;
  return env;
}

export function tail(file: string, lines: number): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').split('\n').slice(-lines - 1).join('\n');
}

export function stageJobHandler(store: Store): JobHandler {
  return async (job, ctx) => {
    const p = job.payload as unknown as StagePayload;
    const base = safeName(job.id);
    const jobsDir = path.join(p.pipelineDir, 'jobs'), logsDir = path.join(p.pipelineDir, 'logs');
    mkdirSync(jobsDir, { recursive: true });
    mkdirSync(logsDir, { recursive: true });
    const jobFile = path.join(jobsDir, `${base}.json`), outFile = path.join(jobsDir, `${base}.out.json`);
    const logFile = path.join(logsDir, `${base}.attempt-${job.attempt}.log`);
    writeJsonAtomic(jobFile, { ...p, outFile });
    await store.put('logs', job.id, { file: logFile, worker: ctx.worker, attempt: job.attempt });
    const fd = openSync(logFile, 'a');
    const child = spawn(process.execPath, [STAGE_PROCESS, jobFile], { cwd: p.cwd, stdio: ['ignore', fd, fd], env: attemptEnv(job.attempt) });
    closeSync(fd);
    const onLost = () => child.kill('SIGKILL');
    ctx.lost.addEventListener('abort', onLost, { once: true });
    const code = await new Promise<number | string>((res) => child.on('exit', (c, sig) => res(c ?? sig ?? -1)));
    ctx.lost.removeEventListener('abort', onLost);
    if (ctx.lost.aborted) throw new LeaseLost(`lost the lease on ${job.id}`);
    if (code !== 0) {
      const t = tail(logFile, 40);
      const why = t.split('\n').reverse().find((l) => /^\w*Error\b/.test(l)) ?? `exited with ${code}`;
      throw new Error(`stage ${p.name} (${p.kind}): ${why.replace(/^Error: /, '')} [exit ${code}; log ${logFile}]\n${t}`);
    }
    return JSON.parse(readFileSync(outFile, 'utf8')) as Json;
  };
}

// The run directory every training stage writes: a lock against a second process, the config record,
// metrics.jsonl (tolerating a torn last line), checkpoints (atomic, checksummed, pruned without ever
// deleting the newest good one) and the loss plot. A stage opens one with openRun(), then reads
// top to bottom as its own loop; this file holds the bookkeeping they share, not a trainer.
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { type CheckpointContents, firstNonFinite, listCheckpoints, modelTensors, saveCheckpoint } from '../model/checkpoint.js';
import { announceCheckpoint } from '../pipeline/checkpoint_events.js';
import { writeFileAtomic } from '../util/atomic.js';
import { lineChartSvg, type Series } from './plot.js';
import { TensorBoardWriter, metricScalars } from './tensorboard.js';

const held = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

export interface Run {
  dir: string;
  metricsFile: string;
  /** Writes config.json (every setting, defaults included). */
  recordConfig(cfg: unknown): void;
  /** Rows of metrics.jsonl; a torn last line (a crash or a full disk mid-write) is dropped. */
  readMetrics<T>(): T[];
  /** Keeps only rows with step <= step (the rest belong to the lost tail of a killed run). */
  truncateMetrics(step: number): void;
  appendMetrics(row: object): void;
  /**
   * Saves a checkpoint after checking every parameter is finite (a NaN model is never written, so
   * pruning cannot replace good checkpoints with bad ones), then prunes all but the newest `keep`.
   */
  saveCheckpoint(c: CheckpointContents, keep: number): string;
  /** Releases the lock. */
  close(): void;
}

/**
 * Opens (creating) a run directory: takes its lock (run.lock with our PID; a lock left by a dead process
 * is taken over, a live one is an error naming it), removes the temporaries of dead processes
 * (checkpoints/step-N.tmp-PID, *.tmp-PID files), and on a fresh start clears old metrics.
 */
export function openRun(dir: string, opts: { resume: boolean }): Run {
  mkdirSync(dir, { recursive: true });
  const lockFile = path.join(dir, 'run.lock');
  takeLock(dir, lockFile);
  const release = () => {
    process.removeListener('exit', release); // a process that opens many runs keeps no listener per closed one
    if (!held.delete(dir)) return;
    try {
      if (JSON.parse(readFileSync(lockFile, 'utf8')).pid === process.pid) rmSync(lockFile, { force: true });
    } catch { /* already gone */ }
  };
  process.once('exit', release);
  try {
    removeStaleTemporaries(dir);
  } catch (e) {
    release();
    throw e;
  }
  const metricsFile = path.join(dir, 'metrics.jsonl');
  if (!opts.resume) rmSync(metricsFile, { force: true });
  if (!opts.resume) rmSync(path.join(dir, 'tb'), { recursive: true, force: true });
  let tb: TensorBoardWriter | undefined, resumedAfter: number | undefined; // TensorBoard: every metrics row as scalars
  const run: Run = {
    dir, metricsFile,
    recordConfig: (cfg) => writeFileAtomic(path.join(dir, 'config.json'), JSON.stringify(cfg, null, 2) + '\n'),
    readMetrics: <T>() => readMetricsFile(metricsFile) as T[],
    truncateMetrics(step) {
      resumedAfter = step;
      if (!existsSync(metricsFile)) return;
      const kept = readMetricsFile(metricsFile).filter((r) => (r as { step: number }).step <= step);
      writeFileAtomic(metricsFile, kept.map((r) => JSON.stringify(r) + '\n').join(''));
    },
    appendMetrics(row) {
      appendFileSync(metricsFile, JSON.stringify(row) + '\n');
      tb ??= new TensorBoardWriter(path.join(dir, 'tb'), resumedAfter);
      tb.scalars((row as { step: number }).step, metricScalars(row as Record<string, unknown>));
    },
    saveCheckpoint(c, keep) {
      for (const [name, t] of c.weights ?? modelTensors(c.model)) {
        const bad = firstNonFinite(t.data as Float32Array);
        if (bad >= 0) throw new Error(`step ${c.state.step}: parameter ${name} holds ${t.data[bad]} at element ${bad}; not saving a diverged model`);
      }
      const out = saveCheckpoint(dir, c);
      announceCheckpoint(dir, out, c.state.step); // completion marker + checkpoint.saved event (src/pipeline)
      prune(dir, keep);
      return out;
    },
    close() {
      tb?.close();
      tb = undefined;
      release();
    },
  };
  return run;
}

function takeLock(dir: string, lockFile: string): void {
  if (held.has(dir)) throw new Error(`${dir} is already open in this process`);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), started: new Date().toISOString() }) + '\n');
      closeSync(fd);
      held.add(dir);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner: { pid?: number; host?: string } = {};
    try { owner = JSON.parse(readFileSync(lockFile, 'utf8')); } catch { /* torn lock file: treat as stale */ }
    if (owner.pid !== undefined && owner.host === hostname() && alive(owner.pid)) {
      throw new Error(`${dir} is in use by process ${owner.pid} (${lockFile}); wait for it or stop it first`);
    }
    if (owner.pid !== undefined && owner.host !== undefined && owner.host !== hostname()) {
      throw new Error(`${dir} is locked by process ${owner.pid} on ${owner.host} (${lockFile}); remove the file if that run is gone`);
    }
    rmSync(lockFile, { force: true }); // left behind by a process that died (kill -9)
  }
  throw new Error(`${lockFile}: could not take the lock`);
}

/** Deletes step-N.tmp-PID folders and NAME.tmp-PID files whose process is gone. */
export function removeStaleTemporaries(dir: string): string[] {
  const removed: string[] = [];
  for (const d of [dir, path.join(dir, 'checkpoints')]) {
    if (!existsSync(d)) continue;
    for (const name of readdirSync(d)) {
      const m = /\.tmp-(\d+)$/.exec(name);
      if (!m || alive(Number(m[1]))) continue;
      rmSync(path.join(d, name), { recursive: true, force: true });
      removed.push(path.join(d, name));
    }
  }
  return removed;
}

/** Parses metrics.jsonl; a last line without its newline is a torn write and is dropped; other bad lines are errors. */
export function readMetricsFile(file: string): unknown[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  lines.pop(); // after the last newline: '' or a torn line
  return lines.flatMap((l, i) => {
    if (!l) return [];
    try {
      return [JSON.parse(l)];
    } catch (e) {
      throw new Error(`${file}:${i + 1}: not a JSON line (${(e as Error).message})`);
    }
  });
}

function prune(dir: string, keep: number): void {
  if (keep <= 0) return;
  const all = listCheckpoints(dir);
  for (const c of all.slice(0, Math.max(0, all.length - Math.max(1, keep)))) rmSync(c.dir, { recursive: true, force: true });
}

/** Renders metrics rows as an SVG line chart of train and held-out loss against x. */
export function writeLossPlot(run: Run | string, title: string, x = 'tokens'): string {
  const dir = typeof run === 'string' ? run : run.dir;
  const rows = readMetricsFile(path.join(dir, 'metrics.jsonl')) as Record<string, number>[];
  const series: Series[] = [
    { name: 'train', points: rows.map((r) => [r[x], r.loss]) },
    { name: 'held-out', points: rows.filter((r) => r.eval_loss !== undefined).map((r) => [r[x], r.eval_loss]) },
  ];
  const out = path.join(dir, 'loss.svg');
  writeFileAtomic(out, lineChartSvg(title, x, 'cross-entropy (nats)', series));
  return out;
}

/** "field: a -> b" for every top-level field that differs (objects compared by their JSON). */
export function changedFields(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
    .map((k) => `${k} ${JSON.stringify(before[k]) ?? '(unset)'} -> ${JSON.stringify(after[k]) ?? '(unset)'}`);
}

/**
 * What --resume must refuse: a checkpoint without its optimizer state (AdamW would silently restart
 * from zero moments) or one trained with another model config (the weights would not mean the same).
 */
export function checkResumable(ck: string, c: Pick<CheckpointContents, 'optimizer' | 'trainConfig'>, model: object): void {
  if (!c.optimizer) throw new Error(`--resume: ${ck} has no optimizer.safetensors; resuming would restart AdamW from zero moments (start afresh without --resume instead)`);
  const recorded = (c.trainConfig as { model?: Record<string, unknown> } | undefined)?.model;
  if (!recorded) throw new Error(`--resume: ${path.join(ck, 'state.json')} records no training config, so the model config cannot be checked`);
  const diff = changedFields(recorded, model as Record<string, unknown>);
  if (diff.length) throw new Error(`--resume: the model config differs from the one ${ck} was trained with: ${diff.join('; ')}`);
}

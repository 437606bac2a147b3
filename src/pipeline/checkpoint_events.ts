// The checkpoint event protocol. A checkpoint folder is written under a temporary name, synced and
// renamed (saveCheckpoint); then announceCheckpoint syncs the rename, writes the completion marker
// (complete.json: step and content hash) and appends a `checkpoint.saved` line to the run's durable
// journal (RUN/events.jsonl, fsynced). The trainer needs no connection to the pipeline's store: the
// orchestrator ingests each run's journal into the store, keyed by (stage, step, content hash), so an
// event read twice is added once. recoverCheckpointEvents repairs a kill between rename and marker or
// between marker and event, so no saved checkpoint goes unannounced.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, fsyncSync, openSync, readFileSync, readSync, ftruncateSync, writeSync } from 'node:fs';
import path from 'node:path';
import { listCheckpoints } from '../model/checkpoint.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { crashPoint } from '../util/crash.js';

export const MARKER = 'complete.json';
export const JOURNAL = 'events.jsonl';
/** Files whose bytes identify a checkpoint's model (the optimizer state does not change what is evaluated). */
const HASHED = ['config.json', 'model.safetensors'];

export interface CheckpointEvent { type: 'checkpoint.saved'; step: number; dir: string; hash: string; time: number }
export interface Marker { step: number; hash: string; time: number }

export function checkpointHash(dir: string): string {
  const h = createHash('sha256');
  for (const f of HASHED) {
    h.update(f + '\0');
    h.update(readFileSync(path.join(dir, f)));
  }
  return h.digest('hex');
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try { fsyncSync(fd); } finally { closeSync(fd); }
}

export function readMarker(dir: string): Marker | null {
  const f = path.join(dir, MARKER);
  if (!existsSync(f)) return null;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as Marker;
  } catch {
    return null; // writeJsonAtomic never leaves a torn marker; an unreadable one is treated as absent
  }
}

/** Events of a run's journal, oldest first; a torn last line (a kill mid-append) is ignored. */
export function readJournal(runDir: string): CheckpointEvent[] {
  const f = path.join(runDir, JOURNAL);
  if (!existsSync(f)) return [];
  const text = readFileSync(f, 'utf8');
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete.split('\n').filter(Boolean).map((l) => JSON.parse(l) as CheckpointEvent);
}

/** Appends one line and fsyncs; first cuts off a torn tail left by a kill mid-append. */
function appendJournal(runDir: string, ev: CheckpointEvent): void {
  const fd = openSync(path.join(runDir, JOURNAL), 'a+');
  try {
    const size = fstatSync(fd).size;
    if (size > 0) {
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, size - 1);
      if (last[0] !== 0x0a) {
        const all = readFileSync(path.join(runDir, JOURNAL));
        ftruncateSync(fd, all.lastIndexOf(0x0a) + 1);
      }
    }
    writeSync(fd, JSON.stringify(ev) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Call right after a checkpoint folder `dir` of run `runDir` has been renamed into place: makes the
 * rename durable, writes the completion marker, then appends the checkpoint.saved event.
 */
export function announceCheckpoint(runDir: string, dir: string, step: number): CheckpointEvent {
  fsyncDir(path.dirname(dir));
  const hash = checkpointHash(dir);
  const time = Date.now();
  writeJsonAtomic(path.join(dir, MARKER), { step, hash, time } satisfies Marker);
  crashPoint('checkpoint.marker');
  const ev: CheckpointEvent = { type: 'checkpoint.saved', step, dir: path.relative(runDir, dir), hash, time };
  appendJournal(runDir, ev);
  crashPoint('checkpoint.event');
  return ev;
}

/** Marks and announces every renamed checkpoint a kill left without marker or event; returns what it appended. */
export function recoverCheckpointEvents(runDir: string): CheckpointEvent[] {
  const seen = new Set(readJournal(runDir).map((e) => `${e.step}|${e.hash}`));
  const out: CheckpointEvent[] = [];
  for (const c of listCheckpoints(runDir)) {
    const m = readMarker(c.dir);
    if (!m) { out.push(announceCheckpoint(runDir, c.dir, c.step)); continue; }
    if (seen.has(`${m.step}|${m.hash}`)) continue;
    const ev: CheckpointEvent = { type: 'checkpoint.saved', step: m.step, dir: path.relative(runDir, c.dir), hash: m.hash, time: m.time };
    appendJournal(runDir, ev);
    out.push(ev);
  }
  return out;
}

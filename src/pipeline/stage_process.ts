// The stage process: runs one attempt of one stage (node stage_process.js JOBFILE) and writes its
// output file. STAGE_DIR/stage.json records the stage key: an attempt with the same key resumes the
// killed one (training from its last checkpoint, the data build from its own resume points), and a
// finished stage's recorded output is returned without running it again. It exits by itself when the
// worker that started it dies, so a killed worker never leaves a trainer writing behind the retry.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { latestCheckpoint } from '../model/checkpoint.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { crashPoint } from '../util/crash.js';
import { JOURNAL, recoverCheckpointEvents } from './checkpoint_events.js';
import type { StagePayload } from './stage_job.js';
import { STAGES, type StageOutput } from './stages.js';
import { trace } from './trace.js';

interface StageState { key: string; name: string; kind: string; done?: boolean; output?: StageOutput }

async function main(): Promise<void> {
  const job = JSON.parse(readFileSync(process.argv[2], 'utf8')) as StagePayload & { outFile: string };
  const parent = process.ppid;
  const alive = (): void => {
    if (process.ppid !== parent) {
      process.stderr.write(`stage ${job.name}: the worker that started it is gone; stopping\n`);
      process.exit(3);
    }
  };
  setInterval(alive, 500).unref();
  const log = (l: string): void => { process.stderr.write(`[${new Date().toISOString()}] ${l}\n`); };
  crashPoint('stage.start');
  const kind = STAGES[job.kind];
  mkdirSync(job.dir, { recursive: true });
  await kind.claimDir?.(job.dir);
  const stateFile = path.join(job.dir, 'stage.json');
  const prev = existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as StageState) : null;
  if (prev?.key === job.key && prev.done && prev.output) {
    log(`stage ${job.name}: finished by an earlier attempt; reporting its output`);
    writeJsonAtomic(job.outFile, prev.output);
    return;
  }
  let resume = prev?.key === job.key;
  if (!resume && kind.checkpoints) {
    // Another config ran in this folder before: its checkpoints and events are not this stage's.
    for (const f of ['checkpoints', JOURNAL, 'metrics.jsonl']) rmSync(path.join(job.dir, f), { recursive: true, force: true });
  }
  writeJsonAtomic(stateFile, { key: job.key, name: job.name, kind: job.kind } satisfies StageState);
  if (kind.checkpoints) {
    const fixed = recoverCheckpointEvents(job.dir);
    if (fixed.length) log(`stage ${job.name}: announced ${fixed.length} checkpoint(s) a kill left unannounced`);
    resume = resume && latestCheckpoint(job.dir) !== null;
  }
  log(`stage ${job.name} (${job.kind}) ${resume ? 'resuming' : 'starting'} in ${job.dir}`);
  const output = await kind.run({ name: job.name, kind: job.kind, config: job.config, dir: job.dir, inputs: job.inputs, suites: job.suites ?? [], resume, where: job.where, log, alive });
  if (kind.checkpoints) recoverCheckpointEvents(job.dir);
  trace('stage.done', job.name);
  writeJsonAtomic(stateFile, { key: job.key, name: job.name, kind: job.kind, done: true, output } satisfies StageState);
  crashPoint('stage.finished');
  writeJsonAtomic(job.outFile, output);
}

main().then(() => process.exit(0), (e: Error) => {
  process.stderr.write(`${e.stack ?? e.message}\n`);
  process.exit(1);
});

// Which folders `hcx data build` may write into, and what --fresh may delete there. A dataset folder is
// one hcx created (it holds the marker file) or an empty one; anything else — `/`, a home folder, a
// project — is refused before a byte is written. --fresh removes only the files the build writes, by
// name, and leaves everything else in the folder alone.
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../util/atomic.js';
import { CATEGORIES } from './types.js';

export const DATASET_MARKER = '.hcx-dataset';

// Files a build writes, relative to the dataset folder (atomic writes leave NAME.tmp-PID if killed).
const TMP = String.raw`(\.tmp-\d+)?`;
const TOP_FILES = new RegExp(String.raw`^(index\.json|report\.json|report\.md|(short|long)-\d+\.bin)${TMP}$`);
const WORK_FILES = new RegExp(String.raw`^(progress\.json|(${CATEGORIES.join('|')})\.(text|meta))${TMP}$`);

function readJson(file: string): unknown {
  try { return JSON.parse(readFileSync(file, 'utf8')); } catch { return undefined; }
}

/** A folder built before the marker existed: its index or progress file is hcx's. */
function isLegacyDataset(dir: string): boolean {
  const idx = readJson(path.join(dir, 'index.json')) as { format?: unknown } | undefined;
  if (idx?.format === 'hcx-shards-v1') return true;
  const prog = readJson(path.join(dir, 'work', 'progress.json')) as { buildHash?: unknown; stage?: unknown } | undefined;
  return typeof prog?.buildHash === 'string' && typeof prog.stage === 'string';
}

/**
 * Makes `dir` an hcx dataset folder, or refuses: it is created (with the marker) if missing, claimed if
 * empty, accepted if it holds the marker (or an earlier hcx build), and otherwise an error naming it.
 */
export function claimDatasetDir(dir: string): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new Error(`outDir ${dir} is a file, not a folder`);
    const entries = readdirSync(dir);
    if (entries.length > 0 && !entries.includes(DATASET_MARKER) && !isLegacyDataset(dir)) {
      throw new Error(`outDir ${dir} is not empty and is not an hcx dataset folder (no ${DATASET_MARKER} file); ` +
        `hcx data build writes only into a new or empty folder, or one it made. Choose another outDir.`);
    }
    if (entries.includes(DATASET_MARKER)) return;
  } else mkdirSync(dir, { recursive: true });
  writeJsonAtomic(path.join(dir, DATASET_MARKER), { format: 'hcx-dataset', note: 'made by hcx data build; --fresh removes only the files hcx writes here' });
}

/** --fresh: deletes the files an earlier build wrote (never the marker, the corpus cache or anything else). */
export function removeBuildFiles(dir: string): string[] {
  const removed: string[] = [];
  if (!existsSync(path.join(dir, DATASET_MARKER))) throw new Error(`${dir}: not an hcx dataset folder; refusing to delete anything there`);
  const rm = (f: string): void => {
    if (!lstatSync(f).isFile()) return; // hcx writes regular files only
    unlinkSync(f);
    removed.push(f);
  };
  for (const n of readdirSync(dir)) if (TOP_FILES.test(n)) rm(path.join(dir, n));
  const work = path.join(dir, 'work');
  if (existsSync(work) && lstatSync(work).isDirectory()) {
    for (const n of readdirSync(work)) if (WORK_FILES.test(n)) rm(path.join(work, n));
    if (readdirSync(work).length === 0) rmdirSync(work);
  }
  return removed;
}

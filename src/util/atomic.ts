// Atomic file writes for every stage: write a temporary name in the same folder, fsync, rename, so a
// reader (or a resumed run after a crash) never sees half a file.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

export const writeJsonAtomic = (file: string, obj: unknown): void => writeFileAtomic(file, JSON.stringify(obj, null, 2) + '\n');

/**
 * Atomic write of a file produced piece by piece: `write(fd)` writes into a temporary file in the same folder
 * (with writeAll), which is fsynced and renamed over `file`; on an error the temporary file is removed. For
 * outputs too large for one buffer (a model's weights).
 */
export function writeFileAtomicWith(file: string, write: (fd: number) => void): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  let ok = false;
  try {
    write(fd);
    fsyncSync(fd);
    ok = true;
  } finally {
    closeSync(fd);
    if (!ok) rmSync(tmp, { force: true });
  }
  renameSync(tmp, file);
}

/** Writes all of `data` at the file's current position (writeSync may write less than asked; at most 1 GiB a call). */
export function writeAll(fd: number, data: Uint8Array): void {
  const CHUNK = 1 << 30;
  for (let off = 0; off < data.length;) off += writeSync(fd, data, off, Math.min(CHUNK, data.length - off));
}

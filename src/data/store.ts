// The intermediate document store between the filtering pass and the mixing pass: per category, the
// kept (cleaned) texts appended to one file, and a fixed-size record per document in a second file.
// Both are append-only, so a resumed build truncates them to the last checkpoint's lengths.
import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';

/** Per-document record: offset (f64), byte length, token count, weight (f32), flags. */
export const META_BYTES = 24;
export const FLAG_KNOWLEDGE = 1;

export interface DocMeta { offset: number; bytes: number; tokens: number; weight: number; flags: number }

export class DocStoreWriter {
  private textFd: number;
  private metaFd: number;
  textBytes: number;
  docs: number;
  private rec = Buffer.alloc(META_BYTES);

  constructor(readonly textPath: string, readonly metaPath: string, resumeAt?: { textBytes: number; docs: number }) {
    const flag = resumeAt ? 'r+' : 'w';
    if (resumeAt && !existsSync(textPath)) throw new Error(`resume: missing ${textPath}`);
    this.textFd = openSync(textPath, flag);
    this.metaFd = openSync(metaPath, flag);
    this.textBytes = resumeAt?.textBytes ?? 0;
    this.docs = resumeAt?.docs ?? 0;
    if (resumeAt) {
      // a killed build may have written past its last checkpoint: cut back to it
      ftruncateSync(this.textFd, this.textBytes);
      ftruncateSync(this.metaFd, this.docs * META_BYTES);
    }
  }

  append(text: string, tokens: number, weight: number, flags: number): void {
    const buf = Buffer.from(text, 'utf8');
    writeSync(this.textFd, buf, 0, buf.length, this.textBytes);
    const r = this.rec;
    r.writeDoubleLE(this.textBytes, 0);
    r.writeUInt32LE(buf.length, 8);
    r.writeUInt32LE(tokens, 12);
    r.writeFloatLE(weight, 16);
    r.writeUInt32LE(flags, 20);
    writeSync(this.metaFd, r, 0, META_BYTES, this.docs * META_BYTES);
    this.textBytes += buf.length;
    this.docs++;
  }

  close(): void { closeSync(this.textFd); closeSync(this.metaFd); }
}

/** Random access to a finished store (the mixing pass reads documents in shuffled order). */
export class DocStoreReader {
  private textFd: number;
  readonly meta: Buffer;
  readonly docs: number;

  constructor(textPath: string, metaPath: string) {
    this.textFd = openSync(textPath, 'r');
    const fd = openSync(metaPath, 'r');
    const size = fstatSync(fd).size;
    this.meta = Buffer.alloc(size);
    if (size) readSync(fd, this.meta, 0, size, 0);
    closeSync(fd);
    this.docs = Math.floor(size / META_BYTES);
  }

  metaOf(i: number): DocMeta {
    const o = i * META_BYTES, m = this.meta;
    return { offset: m.readDoubleLE(o), bytes: m.readUInt32LE(o + 8), tokens: m.readUInt32LE(o + 12), weight: m.readFloatLE(o + 16), flags: m.readUInt32LE(o + 20) };
  }

  text(i: number): string {
    const { offset, bytes } = this.metaOf(i);
    const buf = Buffer.alloc(bytes);
    if (bytes) readSync(this.textFd, buf, 0, bytes, offset);
    return buf.toString('utf8');
  }

  close(): void { closeSync(this.textFd); }
}

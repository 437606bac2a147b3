// TensorBoard event files (RUN/tb/events.out.tfevents.*), so the tools users already have show hcx runs.
// No maintained npm package writes them without TensorFlow's native library (tfjs-node downloads one),
// so the two small formats are written here: TFRecord framing (uint64 length, masked CRC32C of the
// length, payload, masked CRC32C of the payload; CRC32C from @aws-crypto/crc32c) around Event protos
// with scalar summaries. A resumed run starts its file with SessionLog START at the resume step, which
// makes TensorBoard drop the killed run's points from that step on.
import { crc32c } from '@aws-crypto/crc32c';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';

let fileCounter = 0;

// --- protobuf wire format, the few field types Event needs ---
function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  while (v > 0x7fn) { out.push(Number(v & 0x7fn) | 0x80); v >>= 7n; }
  out.push(Number(v));
  return out;
}
const tag = (field: number, wire: number): number[] => varint((field << 3) | wire);
const bytesField = (field: number, b: Uint8Array): number[] => [...tag(field, 2), ...varint(b.length), ...b];
function doubleField(field: number, v: number): number[] {
  const b = Buffer.alloc(8); b.writeDoubleLE(v);
  return [...tag(field, 1), ...b];
}
function floatField(field: number, v: number): number[] {
  const b = Buffer.alloc(4); b.writeFloatLE(v);
  return [...tag(field, 5), ...b];
}

/** Event { wall_time = 1; step = 2; file_version = 3 | summary = 5 | session_log = 7 } */
export function encodeEvent(e: { wallTime: number; step: number; fileVersion?: string; scalars?: [string, number][]; sessionStart?: boolean }): Uint8Array {
  const out = [...doubleField(1, e.wallTime), ...tag(2, 0), ...varint(e.step)];
  if (e.fileVersion) out.push(...bytesField(3, Buffer.from(e.fileVersion)));
  if (e.scalars) {
    // Summary { repeated Value value = 1 }, Value { tag = 1; simple_value = 2 }
    const summary = e.scalars.flatMap(([t, v]) => bytesField(1, Uint8Array.from([...bytesField(1, Buffer.from(t)), ...floatField(2, v)])));
    out.push(...bytesField(5, Uint8Array.from(summary)));
  }
  if (e.sessionStart) out.push(...bytesField(7, Uint8Array.from([...tag(1, 0), 1]))); // SessionLog { status = START }
  return Uint8Array.from(out);
}

export const maskedCrc32c = (b: Uint8Array): number => {
  const c = crc32c(b);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
};

/** One TFRecord: length, its masked CRC, the payload, its masked CRC. */
export function tfRecord(payload: Uint8Array): Buffer {
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(payload.length));
  const c1 = Buffer.alloc(4), c2 = Buffer.alloc(4);
  c1.writeUInt32LE(maskedCrc32c(len));
  c2.writeUInt32LE(maskedCrc32c(payload));
  return Buffer.concat([len, c1, payload, c2]);
}

const NOT_SCALARS = new Set(['step', 'tokens', 'elapsed_s']);

/** A metrics.jsonl row as TensorBoard tags: eval_X -> eval/X, other numbers -> train/X. */
export function metricScalars(row: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(row)) {
    if (typeof v !== 'number' || NOT_SCALARS.has(k)) continue;
    out[k.startsWith('eval_') ? `eval/${k.slice(5)}` : `train/${k}`] = v;
  }
  return out;
}

export class TensorBoardWriter {
  readonly file: string;
  private fd: number;

  /** resumeStep: the run continues after this step; earlier files' points from it on are dropped by TensorBoard. */
  constructor(logDir: string, resumeStep?: number) {
    mkdirSync(logDir, { recursive: true });
    const now = Date.now() / 1000;
    this.file = path.join(logDir, `events.out.tfevents.${Math.floor(now)}.${hostname()}.${process.pid}.${fileCounter++}`);
    this.fd = openSync(this.file, 'a');
    this.write(encodeEvent({ wallTime: now, step: 0, fileVersion: 'brain.Event:2' }));
    if (resumeStep !== undefined) this.write(encodeEvent({ wallTime: now, step: resumeStep + 1, sessionStart: true }));
  }

  private write(ev: Uint8Array): void {
    writeSync(this.fd, tfRecord(ev));
  }

  /** Scalars of one step (tags like train/loss); non-finite values are skipped. */
  scalars(step: number, values: Record<string, number | undefined>, wallTime = Date.now() / 1000): void {
    const s = Object.entries(values).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]));
    if (s.length) this.write(encodeEvent({ wallTime, step, scalars: s }));
  }

  close(): void {
    closeSync(this.fd);
  }
}

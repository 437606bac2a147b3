// Reading GGUF files (v2 and v3) without loading them whole: the header (metadata and tensor infos) is parsed
// through a small read window, then each tensor is read with positioned reads and dequantised into a float32 or
// bf16 array, both on the native thread pool (readTensorData). A model split by gguf-split (PREFIX-00001-of-0000N.gguf, with split.no /
// split.count / split.tensors.count in each part) opens as one: the metadata is the first part's, the tensors
// are the union of all parts'.
//
// Layout (little-endian; ggml's docs/gguf.md): "GGUF", u32 version, u64 tensor count, u64 metadata count,
// metadata (string key, u32 type, value)*, tensor infos (string name, u32 n_dims, u64 dims (dims[0] contiguous),
// u32 ggml type, u64 offset into the data section)*, padding to general.alignment (default 32), tensor data.
import { closeSync, existsSync, fstatSync, openSync } from 'node:fs';
import path from 'node:path';
import { readExact } from '../safetensors.js';
import { ggmlLayout, ggmlTypeName, GgufType, readTensorData, type GgufScalarType, type GgufValue } from './types.js';

export interface GgufTensorInfo {
  name: string;
  /** GGUF order: dims[0] is the contiguous (row) length; a [rows, cols] matrix is [cols, rows]. */
  dims: number[];
  /** ggml type id (see GGML_TYPE_NAMES). */
  type: number;
  /** Absolute byte offset in `file`, and the byte size (0 for a type hcx cannot size). */
  offset: number;
  bytes: number;
  file: string;
}

export interface GgufHeader {
  file: string;
  version: number;
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  alignment: number;
  dataStart: number;
  fileSize: number;
}

/** Byte source of a header parse: a whole buffer, or a file read through a window. */
class Cursor {
  pos = 0;
  what = 'the header';
  private win: Buffer = Buffer.alloc(0);
  private winStart = 0;
  constructor(private readonly src: Buffer | number, readonly size: number, readonly file: string) {}

  private need(n: number): Buffer {
    if (this.pos + n > this.size) throw new Error(`${this.file}: truncated GGUF: ${this.what} runs past the end of the file (at byte ${this.pos}, file ${this.size} bytes)`);
    if (typeof this.src !== 'number') return this.src;
    if (this.pos < this.winStart || this.pos + n > this.winStart + this.win.length) {
      const len = Math.min(Math.max(n, 1 << 20), this.size - this.pos);
      this.win = Buffer.alloc(len);
      readExact(this.src, this.win, this.pos, this.file, this.what);
      this.winStart = this.pos;
    }
    return this.win;
  }
  private at(n: number): [Buffer, number] {
    const b = this.need(n);
    const o = this.pos - (typeof this.src === 'number' ? this.winStart : 0);
    this.pos += n;
    return [b, o];
  }
  u8(): number { const [b, o] = this.at(1); return b.readUInt8(o); }
  i8(): number { const [b, o] = this.at(1); return b.readInt8(o); }
  u16(): number { const [b, o] = this.at(2); return b.readUInt16LE(o); }
  i16(): number { const [b, o] = this.at(2); return b.readInt16LE(o); }
  u32(): number { const [b, o] = this.at(4); return b.readUInt32LE(o); }
  i32(): number { const [b, o] = this.at(4); return b.readInt32LE(o); }
  f32(): number { const [b, o] = this.at(4); return b.readFloatLE(o); }
  f64(): number { const [b, o] = this.at(8); return b.readDoubleLE(o); }
  u64(): bigint { const [b, o] = this.at(8); return b.readBigUInt64LE(o); }
  i64(): bigint { const [b, o] = this.at(8); return b.readBigInt64LE(o); }
  /** A u64 count, length or offset, which must fit a JS number and `limit`. */
  count(limit = Number.MAX_SAFE_INTEGER): number {
    const v = this.u64();
    if (v > BigInt(limit)) throw new Error(`${this.file}: ${this.what}: size ${v} is larger than the file allows`);
    return Number(v);
  }
  str(): string {
    const n = this.count(this.size);
    const [b, o] = this.at(n);
    return b.toString('utf8', o, o + n);
  }
}

function readScalar(c: Cursor, type: number): number | bigint | boolean | string {
  switch (type) {
    case GgufType.UINT8: return c.u8();
    case GgufType.INT8: return c.i8();
    case GgufType.UINT16: return c.u16();
    case GgufType.INT16: return c.i16();
    case GgufType.UINT32: return c.u32();
    case GgufType.INT32: return c.i32();
    case GgufType.FLOAT32: return c.f32();
    case GgufType.FLOAT64: return c.f64();
    case GgufType.UINT64: return c.u64();
    case GgufType.INT64: return c.i64();
    case GgufType.BOOL: return c.u8() !== 0;
    case GgufType.STRING: return c.str();
    default: throw new Error(`${c.file}: ${c.what} has unknown GGUF value type ${type}`);
  }
}

/** Parses and validates the header of a whole GGUF held in `src` (a Buffer), or of the open file `src` (an fd). */
export function parseGgufHeader(src: Buffer | number, file: string): GgufHeader {
  const fileSize = typeof src === 'number' ? fstatSync(src).size : src.length;
  const c = new Cursor(src, fileSize, file);
  c.what = 'the magic';
  if (fileSize < 4) throw new Error(`${file}: not a GGUF file (${fileSize} bytes)`);
  const magic = [c.u8(), c.u8(), c.u8(), c.u8()];
  if (String.fromCharCode(...magic) !== 'GGUF') throw new Error(`${file}: not a GGUF file (bad magic)`);
  c.what = 'the version';
  const version = c.u32();
  if (version !== 2 && version !== 3) throw new Error(`${file}: unsupported GGUF version ${version} (hcx reads 2 and 3)`);
  c.what = 'the tensor count';
  const nTensors = c.count(fileSize);
  c.what = 'the metadata count';
  const nKv = c.count(fileSize);
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < nKv; i++) {
    c.what = `metadata key #${i}`;
    const key = c.str();
    c.what = `metadata ${JSON.stringify(key)}`;
    const type = c.u32();
    if (type === GgufType.ARRAY) {
      const itemType = c.u32();
      if (itemType === GgufType.ARRAY) throw new Error(`${file}: metadata ${JSON.stringify(key)}: nested arrays are not supported`);
      const n = c.count(fileSize);
      const value: (number | bigint | boolean | string)[] = new Array(n);
      for (let j = 0; j < n; j++) value[j] = readScalar(c, itemType);
      metadata.set(key, { type: 9, itemType: itemType as GgufScalarType, value });
    } else metadata.set(key, { type: type as GgufScalarType, value: readScalar(c, type) });
  }
  const al = metadata.get('general.alignment');
  const alignment = al === undefined ? 32 : Number(al.value);
  if (al !== undefined && (al.type === 9 || !Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0)) {
    throw new Error(`${file}: metadata "general.alignment" must be a power of two, got ${String(al.value)}`);
  }
  const tensors: GgufTensorInfo[] = [];
  for (let i = 0; i < nTensors; i++) {
    c.what = `tensor info #${i}`;
    const name = c.str();
    c.what = `tensor ${JSON.stringify(name)}`;
    const nd = c.u32();
    if (nd < 1 || nd > 4) throw new Error(`${file}: tensor ${JSON.stringify(name)} has ${nd} dimensions (1 to 4 allowed)`);
    const dims: number[] = [];
    for (let j = 0; j < nd; j++) dims.push(c.count());
    const type = c.u32();
    const offset = c.count();
    tensors.push({ name, dims, type, offset, bytes: 0, file });
  }
  const dataStart = Math.ceil(c.pos / alignment) * alignment;
  validateTensors(tensors, file, dataStart, fileSize, alignment);
  return { file, version, metadata, tensors, alignment, dataStart, fileSize };
}

/** Sizes each tensor, makes offsets absolute, and checks names, alignment, bounds and overlaps. */
function validateTensors(ts: GgufTensorInfo[], file: string, dataStart: number, fileSize: number, alignment: number): void {
  const names = new Set<string>();
  for (const t of ts) {
    const where = `${file}: tensor ${JSON.stringify(t.name)}`;
    if (names.has(t.name)) throw new Error(`${where} appears twice`);
    names.add(t.name);
    if (t.offset % alignment) throw new Error(`${where}: offset ${t.offset} is not a multiple of the alignment ${alignment}`);
    const n = t.dims.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(n)) throw new Error(`${where}: dims [${t.dims}] are too large`);
    const l = ggmlLayout(t.type);
    if (l) {
      if (t.dims[0] % l.block) throw new Error(`${where}: row length ${t.dims[0]} is not a multiple of the ${l.name} block size ${l.block}`);
      t.bytes = (n / l.block) * l.bytes;
    }
    t.offset += dataStart;
    if (t.offset + t.bytes > fileSize) throw new Error(`${where} (${ggmlTypeName(t.type)} [${t.dims}]) runs past the end of the file (${fileSize} bytes): the file is truncated`);
  }
  const sorted = ts.filter((t) => t.bytes > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const p = sorted[i - 1], t = sorted[i];
    if (t.offset < p.offset + p.bytes) throw new Error(`${file}: tensors ${JSON.stringify(p.name)} and ${JSON.stringify(t.name)} overlap`);
  }
}

const SPLIT_NAME = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/;

function metaInt(h: GgufHeader, key: string): number | undefined {
  const v = h.metadata.get(key);
  if (v === undefined) return undefined;
  if (v.type === 9 || typeof v.value === 'string' || typeof v.value === 'boolean') throw new Error(`${h.file}: metadata ${JSON.stringify(key)} must be an integer`);
  return Number(v.value);
}

/** An open GGUF model (one file or all parts of a split one); tensors read on demand. */
export class GgufReader {
  readonly tensors = new Map<string, GgufTensorInfo>();
  private constructor(readonly files: string[], private fds: Map<string, number>, readonly headers: GgufHeader[]) {
    for (const h of headers) for (const t of h.tensors) {
      if (this.tensors.has(t.name)) throw new Error(`${h.file}: tensor ${JSON.stringify(t.name)} is also in ${this.tensors.get(t.name)!.file}`);
      this.tensors.set(t.name, t);
    }
  }

  /** The first part's metadata (a split model's later parts only carry split.*). */
  get metadata(): Map<string, GgufValue> { return this.headers[0].metadata; }
  get version(): number { return this.headers[0].version; }

  /** Opens `file`; a part of a split model (any of its parts) opens every part. */
  static open(file: string): GgufReader {
    const fds = new Map<string, number>();
    const headers: GgufHeader[] = [];
    const openOne = (f: string): GgufHeader => {
      const fd = openSync(f, 'r');
      fds.set(f, fd);
      const h = parseGgufHeader(fd, f);
      headers.push(h);
      return h;
    };
    try {
      const m = SPLIT_NAME.exec(path.basename(file));
      const first = openOne(m ? path.join(path.dirname(file), `${m[1]}-00001-of-${m[3]}.gguf`) : file);
      const count = metaInt(first, 'split.count');
      if (count === undefined || count <= 1) {
        if (m && Number(m[3]) > 1) throw new Error(`${first.file}: the name says part 1 of ${Number(m[3])} but the metadata has no split.count`);
        return new GgufReader([first.file], fds, headers);
      }
      if (!m) throw new Error(`${file}: split.count is ${count} but the name is not PREFIX-00001-of-${String(count).padStart(5, '0')}.gguf, so the other parts cannot be found`);
      if (Number(m[3]) !== count) throw new Error(`${first.file}: split.count is ${count} but the name says ${Number(m[3])} parts`);
      for (let i = 1; i <= count; i++) {
        const f = path.join(path.dirname(first.file), `${m[1]}-${String(i).padStart(5, '0')}-of-${m[3]}.gguf`);
        if (i > 1 && !existsSync(f)) throw new Error(`${first.file}: part ${i} of ${count}, ${f}, does not exist`);
        const h = i === 1 ? first : openOne(f);
        if (metaInt(h, 'split.no') !== i - 1) throw new Error(`${f}: split.no is ${metaInt(h, 'split.no')}, expected ${i - 1}`);
        if (metaInt(h, 'split.count') !== count) throw new Error(`${f}: split.count is ${metaInt(h, 'split.count')}, expected ${count}`);
      }
      const r = new GgufReader(headers.map((h) => h.file), fds, headers);
      const total = metaInt(first, 'split.tensors.count');
      if (total !== undefined && total !== r.tensors.size) throw new Error(`${first.file}: split.tensors.count is ${total} but the ${count} parts hold ${r.tensors.size} tensors`);
      return r;
    } catch (e) {
      for (const fd of fds.values()) closeSync(fd);
      throw e;
    }
  }

  info(name: string): GgufTensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`${this.files[0]}: no tensor ${JSON.stringify(name)}`);
    return t;
  }

  /** The tensor's bytes as stored (any type). */
  readRaw(name: string): Uint8Array {
    const t = this.info(name);
    if (!ggmlLayout(t.type)) throw new Error(`${t.file}: tensor ${JSON.stringify(t.name)} has ggml type ${ggmlTypeName(t.type)}, which hcx does not read`);
    const out = new Uint8Array(t.bytes);
    readTensorData(this.fds.get(t.file)!, t.offset, t.type, t.dims.reduce((a, b) => a * b, 1), out, true, t.file, `tensor ${JSON.stringify(t.name)}`);
    return out;
  }

  /**
   * The tensor's values, dequantised to float32 or bf16 (rounded to nearest even), into `into` when given. The
   * values are in GGUF order (dims[0] contiguous), i.e. row-major for the reversed dims.
   */
  read(name: string, as: 'f32' | 'bf16' = 'f32', into?: Float32Array | Uint16Array): Float32Array | Uint16Array {
    const t = this.info(name);
    const l = ggmlLayout(t.type);
    const where = `${t.file}: tensor ${JSON.stringify(t.name)}`;
    if (!l) throw new Error(`${where} has ggml type ${ggmlTypeName(t.type)}, which hcx does not read (it reads F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K)`);
    const n = t.dims.reduce((a, b) => a * b, 1);
    const out = into ?? (as === 'f32' ? new Float32Array(n) : new Uint16Array(n));
    if ((as === 'f32') !== out instanceof Float32Array || out.length !== n) throw new Error(`${where}: read as ${as} needs ${n} values in a ${as === 'f32' ? 'Float32Array' : 'Uint16Array'}`);
    const raw = (l.name === 'F32' && as === 'f32') || (l.name === 'BF16' && as === 'bf16');
    readTensorData(this.fds.get(t.file)!, t.offset, t.type, n, out, raw, t.file, `tensor ${JSON.stringify(t.name)}`);
    return out;
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}

// The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON mapping each
// tensor name to { dtype, shape, data_offsets: [begin, end) } (offsets into the data after the header), and an
// optional "__metadata__" of strings; then the raw little-endian data.
//
// Reading streams: the header is read and validated on its own (capped at 100 MB, as Hugging Face's library
// does), then each tensor is read with positioned reads straight into its destination typed array, so there is
// no whole-file buffer (files over 2 GiB load) and no copy. The reads run on the native thread pool (a fresh
// array's page faults, which cost more than the copy, are taken on every core); converting to float32 or bf16
// goes through a per-thread 4 MiB buffer. Writing streams too: header, then each tensor's own bytes.
//
//   const r = SafetensorsReader.open(file);            // header only
//   try { const t = r.read('model.norm.weight', 'f32'); ... } finally { r.close(); }
//   loadSafetensors(file, { as: 'bf16' })               // every tensor
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { dequantize, readTensorData } from './gguf/types.js';
import { writeAll, writeFileAtomicWith } from '../util/atomic.js';

export type StDtype = 'F32' | 'BF16' | 'F16' | 'I32';

export interface StTensor { dtype: StDtype; shape: number[]; data: Float32Array | Uint16Array | Int32Array }

export interface SafetensorsFile { tensors: Map<string, StTensor>; metadata: Record<string, string> }

/**
 * What to read float tensors as: as stored, float32 (F16 and BF16 widened exactly) or bf16 (F32 and F16 rounded
 * to nearest even). Integer tensors are always read as stored.
 */
export type StLoadAs = 'stored' | 'f32' | 'bf16';

/** One tensor of a header; begin/end are absolute byte offsets in the file. */
export interface StEntry { name: string; dtype: StDtype; shape: number[]; begin: number; end: number }

/** Hugging Face's limit on the header (safetensors' MAX_HEADER_SIZE): anything larger is not a real header. */
export const MAX_HEADER_BYTES = 100_000_000;

const BYTES: Record<StDtype, number> = { F32: 4, BF16: 2, F16: 2, I32: 4 };
/** Every dtype the format defines, so an unsupported one is told apart from a misspelt one. */
const KNOWN_DTYPES = new Set(['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2', 'I16', 'U16',
  'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64', 'C64']);
const GGML_ID: Record<string, number> = { F32: 0, F16: 1, BF16: 30 };

const numel = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

function typedArray(dtype: StDtype, n: number): Float32Array | Uint16Array | Int32Array {
  return dtype === 'F32' ? new Float32Array(n) : dtype === 'I32' ? new Int32Array(n) : new Uint16Array(n);
}
function arrayMatches(dtype: StDtype, a: unknown): boolean {
  return dtype === 'F32' ? a instanceof Float32Array : dtype === 'I32' ? a instanceof Int32Array : a instanceof Uint16Array;
}
const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * Validates a header's JSON against a data section of `dataBytes` and returns its tensors (offsets absolute,
 * counting `dataStart`) and metadata. Every error names the file and the tensor or field.
 */
export function parseSafetensorsHeader(json: string, file: string, dataStart: number, dataBytes: number): { entries: Map<string, StEntry>; metadata: Record<string, string> } {
  let header: unknown;
  try {
    header = JSON.parse(json);
  } catch (e) {
    throw new Error(`${file}: safetensors header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new Error(`${file}: safetensors header is not a JSON object`);
  const entries = new Map<string, StEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${file}: __metadata__ must be an object of strings`);
      for (const [k, s] of Object.entries(v)) if (typeof s !== 'string') throw new Error(`${file}: __metadata__.${k} must be a string, got ${JSON.stringify(s)}`);
      metadata = v as Record<string, string>;
      continue;
    }
    const where = `${file}: tensor ${JSON.stringify(name)}`;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${where}: expected { dtype, shape, data_offsets }`);
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e.dtype !== 'string' || !KNOWN_DTYPES.has(e.dtype)) throw new Error(`${where}: unknown dtype ${JSON.stringify(e.dtype)}`);
    if (!(e.dtype in BYTES)) throw new Error(`${where} has dtype ${e.dtype}, which hcx does not read (it reads F32, F16, BF16 and I32)`);
    const dtype = e.dtype as StDtype;
    if (!Array.isArray(e.shape) || !e.shape.every(isCount)) throw new Error(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(e.shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !isCount(off[0]) || !isCount(off[1]) || off[1] < off[0]) {
      throw new Error(`${where}: data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(off)}`);
    }
    const shape = e.shape as number[];
    const [a, b] = off as [number, number];
    const need = numel(shape) * BYTES[dtype];
    if (b - a !== need) throw new Error(`${where}: data_offsets [${a}, ${b}) hold ${b - a} bytes but ${dtype} shape [${shape}] needs ${need}`);
    if (b > dataBytes) throw new Error(`${where}: data_offsets [${a}, ${b}) run past the end of the data (${dataBytes} bytes): the file is truncated`);
    entries.set(name, { name, dtype, shape, begin: dataStart + a, end: dataStart + b });
  }
  const byStart = [...entries.values()].filter((t) => t.end > t.begin).sort((x, y) => x.begin - y.begin);
  for (let i = 1; i < byStart.length; i++) {
    const p = byStart[i - 1], t = byStart[i];
    if (t.begin < p.end) {
      throw new Error(`${file}: tensors ${JSON.stringify(p.name)} [${p.begin - dataStart}, ${p.end - dataStart}) and ${JSON.stringify(t.name)} [${t.begin - dataStart}, ${t.end - dataStart}) overlap`);
    }
  }
  return { entries, metadata };
}

/** Reads exactly dst.length bytes at `pos` (readSync may return less, and at most 2 GiB a call). */
export function readExact(fd: number, dst: Uint8Array, pos: number, file: string, what: string): void {
  const CHUNK = 1 << 30;
  for (let off = 0; off < dst.length;) {
    const n = readSync(fd, dst, off, Math.min(CHUNK, dst.length - off), pos + off);
    if (n === 0) throw new Error(`${file}: unexpected end of file reading ${what} (at byte ${pos + off})`);
    off += n;
  }
}

/** An open safetensors file: its validated header; tensors are read on demand. */
export class SafetensorsReader {
  private constructor(readonly file: string, private fd: number, readonly entries: Map<string, StEntry>,
    readonly metadata: Record<string, string>, readonly fileSize: number) {}

  static open(file: string): SafetensorsReader {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size < 8) throw new Error(`${file}: ${size} bytes is too short for a safetensors file`);
      const lenBuf = Buffer.alloc(8);
      readExact(fd, lenBuf, 0, file, 'the header length');
      const hlen = lenBuf.readBigUInt64LE(0);
      if (hlen > BigInt(MAX_HEADER_BYTES)) throw new Error(`${file}: header length ${hlen} exceeds the 100 MB limit (not a safetensors file?)`);
      const n = Number(hlen);
      if (n > size - 8) throw new Error(`${file}: header length ${n} runs past the end of the file (${size} bytes): truncated or not a safetensors file`);
      const json = Buffer.alloc(n);
      readExact(fd, json, 8, file, 'the header');
      const { entries, metadata } = parseSafetensorsHeader(json.toString('utf8'), file, 8 + n, size - 8 - n);
      return new SafetensorsReader(file, fd, entries, metadata, size);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  entry(name: string): StEntry {
    const e = this.entries.get(name);
    if (!e) throw new Error(`${this.file}: no tensor ${JSON.stringify(name)}`);
    return e;
  }

  /** Reads one tensor, into `into` when given (a typed array of the result dtype and the tensor's size). */
  read(name: string, as: StLoadAs = 'stored', into?: Float32Array | Uint16Array | Int32Array): StTensor {
    const e = this.entry(name);
    const target: StDtype = e.dtype === 'I32' || as === 'stored' ? e.dtype : as === 'f32' ? 'F32' : 'BF16';
    const n = numel(e.shape);
    let data = into;
    if (data) {
      if (!arrayMatches(target, data) || data.length !== n) {
        throw new Error(`${this.file}: tensor ${JSON.stringify(name)} (${e.dtype} [${e.shape}]) read as ${target} needs ${n} values in a ${target === 'F32' ? 'Float32Array' : target === 'I32' ? 'Int32Array' : 'Uint16Array'}`);
      }
    } else data = typedArray(target, n);
    // I32 is read raw, as 4-byte values: the ggml F32 layout has the same size.
    readTensorData(this.fd, e.begin, GGML_ID[e.dtype === 'I32' ? 'F32' : e.dtype], n, data, target === e.dtype, this.file, `tensor ${JSON.stringify(name)}`);
    return { dtype: target, shape: [...e.shape], data };
  }

  /** Every tensor (or those `names` accepts), in header order. */
  readAll(as: StLoadAs = 'stored', names?: (name: string) => boolean): Map<string, StTensor> {
    const out = new Map<string, StTensor>();
    for (const name of this.entries.keys()) if (!names || names(name)) out.set(name, this.read(name, as));
    return out;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

export interface LoadSafetensorsOptions { as?: StLoadAs; names?: (name: string) => boolean }

export function loadSafetensors(file: string, opts: LoadSafetensorsOptions = {}): SafetensorsFile {
  const r = SafetensorsReader.open(file);
  try {
    return { tensors: r.readAll(opts.as ?? 'stored', opts.names), metadata: r.metadata };
  } finally {
    r.close();
  }
}

/** The header JSON (padded so the data starts 8-byte aligned) of these tensors, and the data size. */
function buildHeader(tensors: [string, StTensor][], metadata: Record<string, string>): { header: Buffer; dataBytes: number } {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let off = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__' || Object.prototype.hasOwnProperty.call(header, name)) throw new Error(`safetensors: duplicate or reserved tensor name ${JSON.stringify(name)}`);
    if (!(t.dtype in BYTES)) throw new Error(`safetensors: ${name} has unsupported dtype ${t.dtype}`);
    if (!arrayMatches(t.dtype, t.data)) throw new Error(`safetensors: ${name}: ${t.dtype} data must be a ${t.dtype === 'F32' ? 'Float32Array' : t.dtype === 'I32' ? 'Int32Array' : 'Uint16Array'}`);
    const n = numel(t.shape);
    if (n !== t.data.length) throw new Error(`safetensors: ${name} has ${t.data.length} values for shape [${t.shape}]`);
    const bytes = n * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((Buffer.byteLength(json) + 8) % 8)) % 8);
  return { header: Buffer.from(json, 'utf8'), dataBytes: off };
}

/** Serialises tensors (in the given order) and string metadata to one buffer (small files; see saveSafetensors). */
export function encodeSafetensors(tensors: [string, StTensor][], metadata: Record<string, string> = {}): Buffer {
  const { header, dataBytes } = buildHeader(tensors, metadata);
  const out = Buffer.alloc(8 + header.length + dataBytes);
  out.writeBigUInt64LE(BigInt(header.length), 0);
  header.copy(out, 8);
  let p = 8 + header.length;
  for (const [, t] of tensors) { out.set(bytesOf(t.data), p); p += t.data.byteLength; }
  return out;
}

/** Parses a whole safetensors file held in memory (tensors copied out, so they are aligned). */
export function decodeSafetensors(buf: Buffer, file = '<buffer>'): SafetensorsFile {
  if (buf.length < 8) throw new Error(`${file}: ${buf.length} bytes is too short for a safetensors file`);
  const hlen = buf.readBigUInt64LE(0);
  if (hlen > BigInt(MAX_HEADER_BYTES)) throw new Error(`${file}: header length ${hlen} exceeds the 100 MB limit (not a safetensors file?)`);
  const n = Number(hlen);
  if (n > buf.length - 8) throw new Error(`${file}: header length ${n} runs past the end of the file (${buf.length} bytes): truncated or not a safetensors file`);
  const { entries, metadata } = parseSafetensorsHeader(buf.toString('utf8', 8, 8 + n), file, 8 + n, buf.length - 8 - n);
  const tensors = new Map<string, StTensor>();
  for (const e of entries.values()) {
    const data = typedArray(e.dtype, numel(e.shape));
    bytesOf(data).set(buf.subarray(e.begin, e.end));
    tensors.set(e.name, { dtype: e.dtype, shape: [...e.shape], data });
  }
  return { tensors, metadata };
}

export { writeFileAtomic } from '../util/atomic.js';

/** Writes a safetensors file atomically, streaming: the header, then each tensor's bytes from its own array. */
export function saveSafetensors(file: string, tensors: [string, StTensor][], metadata: Record<string, string> = {}): void {
  const { header } = buildHeader(tensors, metadata);
  writeFileAtomicWith(file, (fd) => {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length), 0);
    writeAll(fd, len);
    writeAll(fd, header);
    for (const [, t] of tensors) writeAll(fd, bytesOf(t.data));
  });
}

/** Any tensor as float32 (bf16 and f16 widened exactly; I32 converted). */
export function toFloat32(t: StTensor): Float32Array {
  if (t.dtype === 'F32') return t.data as Float32Array;
  if (t.dtype === 'I32') return Float32Array.from(t.data as Int32Array);
  const out = new Float32Array(t.data.length);
  dequantize(GGML_ID[t.dtype], bytesOf(t.data), out, out.length);
  return out;
}

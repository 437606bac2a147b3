// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header mapping
// each tensor name to dtype, shape and byte range, then the raw little-endian data.
import { readFileSync } from 'node:fs';

export type StDtype = 'F32' | 'BF16' | 'F16' | 'I32';

export interface StTensor { dtype: StDtype; shape: number[]; data: Float32Array | Uint16Array | Int32Array }

export interface SafetensorsFile { tensors: Map<string, StTensor>; metadata: Record<string, string> }

const BYTES: Record<StDtype, number> = { F32: 4, BF16: 2, F16: 2, I32: 4 };

/** Serialises tensors (in the given order) and string metadata to one buffer. */
export function encodeSafetensors(tensors: [string, StTensor][], metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let off = 0;
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`safetensors: ${name} has ${t.data.length} values for shape [${t.shape}]`);
    const bytes = n * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // keeps the data 8-byte aligned
  const hbuf = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + hbuf.length + off);
  out.writeBigUInt64LE(BigInt(hbuf.length), 0);
  hbuf.copy(out, 8);
  let p = 8 + hbuf.length;
  for (const [, t] of tensors) {
    const src = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    src.copy(out, p);
    p += src.length;
  }
  return out;
}

export function decodeSafetensors(buf: Buffer, file = '<buffer>'): SafetensorsFile {
  if (buf.length < 8) throw new Error(`${file}: too short for a safetensors file`);
  const hlen = Number(buf.readBigUInt64LE(0));
  if (hlen > buf.length - 8) throw new Error(`${file}: header length ${hlen} exceeds the file`);
  let header: Record<string, { dtype: StDtype; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + hlen).toString('utf8'));
  } catch (e) {
    throw new Error(`${file}: header is not valid JSON (${(e as Error).message})`);
  }
  const base = 8 + hlen;
  const tensors = new Map<string, StTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') { metadata = v as Record<string, string>; continue; }
    const e = v as { dtype: StDtype; shape: number[]; data_offsets: [number, number] };
    if (!(e.dtype in BYTES)) throw new Error(`${file}: tensor ${name} has unsupported dtype ${e.dtype}`);
    const [a, b] = e.data_offsets;
    const n = e.shape.reduce((x, y) => x * y, 1);
    if (b - a !== n * BYTES[e.dtype] || base + b > buf.length) throw new Error(`${file}: tensor ${name} has a bad byte range [${a}, ${b})`);
    // Copy into an aligned buffer: typed arrays need their element alignment.
    const bytes = new Uint8Array(b - a);
    bytes.set(buf.subarray(base + a, base + b));
    const data = e.dtype === 'F32' ? new Float32Array(bytes.buffer) : e.dtype === 'I32' ? new Int32Array(bytes.buffer) : new Uint16Array(bytes.buffer);
    tensors.set(name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}

export { writeFileAtomic } from '../util/atomic.js';
import { writeFileAtomic } from '../util/atomic.js';

export function saveSafetensors(file: string, tensors: [string, StTensor][], metadata: Record<string, string> = {}): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

export function loadSafetensors(file: string): SafetensorsFile {
  return decodeSafetensors(readFileSync(file), file);
}

/** Any float tensor as float32 (bf16 and f16 widened). */
export function toFloat32(t: StTensor): Float32Array {
  if (t.dtype === 'F32') return t.data as Float32Array;
  if (t.dtype === 'I32') return Float32Array.from(t.data as Int32Array);
  const src = t.data as Uint16Array;
  const out = new Float32Array(src.length);
  const u = new Uint32Array(out.buffer);
  if (t.dtype === 'BF16') for (let i = 0; i < src.length; i++) u[i] = src[i] << 16;
  else for (let i = 0; i < src.length; i++) out[i] = halfToFloat(src[i]);
  return out;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

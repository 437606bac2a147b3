// GGUF v3 (ggml's single-file model format): a writer, a reader, and the export of an hcx model +
// tokenizer as a llama-architecture GGUF that llama.cpp runs.
//
// File layout (little-endian), per ggml's docs/gguf.md:
//   "GGUF" u32 version=3, u64 tensor count, u64 metadata count,
//   metadata: (string key, u32 value type, value)*,
//   tensor infos: (string name, u32 n_dims, u64 dims[n_dims] (dims[0] = contiguous row length), u32 ggml type,
//                  u64 offset relative to the data section, a multiple of the alignment)*,
//   zero padding to general.alignment (default 32), then the tensor data, each tensor padded to the alignment.
// Strings are u64 byte length + UTF-8 bytes; arrays are u32 element type + u64 count + elements.
//
// Mapping hcx -> llama.cpp's LLAMA architecture:
// - Tensor names token_embd / blk.N.{attn_norm,attn_q,attn_k,attn_v,attn_output,ffn_norm,ffn_gate,ffn_up,ffn_down}
//   / output_norm / output (left out when embeddings are tied: llama.cpp then reuses token_embd).
// - RoPE: hcx rotates pairs (i, i + headDim/2) (Hugging Face's rotate_half); llama.cpp's LLAMA architecture
//   rotates adjacent pairs (2i, 2i+1). So the rows of Wq and Wk are permuted within each head, row
//   a*headDim/2 + b -> 2b + a, as convert_hf_to_gguf.py does for HF Llama checkpoints; q·k is unchanged.
// - Tokenizer: tokenizer.ggml.model "gpt2" (byte-level BPE: tokens spelt with GPT-2's byte map, merges as
//   "left right" strings), special tokens typed CONTROL. tokenizer.ggml.pre is "llama-bpe": llama.cpp runs Llama 3's
//   pre-tokenizer regex for it and looks a whole pre-token up in the vocabulary before merging (ignore_merges),
//   which is exactly what hcx's default split mode 'guided' encodes with, so llama.cpp gives hcx's ids on any
//   valid text (test/model/tokenizer_parity*.test.ts). The other split modes cut words that llama-bpe keeps whole
//   (by script, "GPT를" -> "GPT" + "를"; Hangul at morpheme boundaries), so llama.cpp's text tokenization differs
//   there (tokenizer/fidelity.ts says how; `hcx export` warns). Token ids fed to llama.cpp directly are unaffected.
import type { Tokenizer } from '../tokenizer/index.js';
import { bytesToByteLevel, CHAT_TEMPLATE_JINJA_PLAIN } from '../tokenizer/index.js';
import { type ModelConfig, headDimOf } from './config.js';
import { writeAll, writeFileAtomicWith } from '../util/atomic.js';
import type { Transformer } from './transformer.js';
import { f32ToBf16, f32ToF16 } from './export_hf.js';
import { GgufType, ggmlTypeName, type GgufScalarType, type GgufValue } from './gguf/types.js';
import { GgufReader, parseGgufHeader, type GgufHeader, type GgufTensorInfo } from './gguf/reader.js';

export { GgufType, type GgufScalarType, type GgufValue } from './gguf/types.js';

/** The ggml tensor types this module reads and writes. */
export const GgmlType = { F32: 0, F16: 1, BF16: 30 } as const;
export type GgufDtype = keyof typeof GgmlType;
const DTYPE_BYTES: Record<GgufDtype, number> = { F32: 4, F16: 2, BF16: 2 };

export interface GgufTensor {
  name: string;
  /** GGUF order: dims[0] is the contiguous (row) length, i.e. a [rows, cols] matrix is [cols, rows]. */
  dims: number[];
  dtype: GgufDtype;
  /** F32 values, or raw 16-bit patterns for F16 / BF16. */
  data: Float32Array | Uint16Array;
}

export interface GgufFile {
  version: number;
  metadata: Map<string, GgufValue>;
  tensors: GgufTensor[];
  alignment: number;
}

// Convenience constructors for metadata values.
export const gv = {
  u32: (v: number): GgufValue => ({ type: GgufType.UINT32, value: v }),
  i32: (v: number): GgufValue => ({ type: GgufType.INT32, value: v }),
  f32: (v: number): GgufValue => ({ type: GgufType.FLOAT32, value: v }),
  bool: (v: boolean): GgufValue => ({ type: GgufType.BOOL, value: v }),
  str: (v: string): GgufValue => ({ type: GgufType.STRING, value: v }),
  strs: (v: string[]): GgufValue => ({ type: GgufType.ARRAY, itemType: GgufType.STRING, value: v }),
  i32s: (v: number[]): GgufValue => ({ type: GgufType.ARRAY, itemType: GgufType.INT32, value: v }),
  f32s: (v: number[]): GgufValue => ({ type: GgufType.ARRAY, itemType: GgufType.FLOAT32, value: v }),
};

// ---------------------------------------------------------------------------------------------------
// Writer

class ByteWriter {
  private buf = Buffer.alloc(1 << 16);
  length = 0;
  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const b = Buffer.alloc(cap);
    this.buf.copy(b, 0, 0, this.length);
    this.buf = b;
  }
  u8(v: number): void { this.ensure(1); this.buf.writeUInt8(v, this.length); this.length += 1; }
  i8(v: number): void { this.ensure(1); this.buf.writeInt8(v, this.length); this.length += 1; }
  u16(v: number): void { this.ensure(2); this.buf.writeUInt16LE(v, this.length); this.length += 2; }
  i16(v: number): void { this.ensure(2); this.buf.writeInt16LE(v, this.length); this.length += 2; }
  u32(v: number): void { this.ensure(4); this.buf.writeUInt32LE(v, this.length); this.length += 4; }
  i32(v: number): void { this.ensure(4); this.buf.writeInt32LE(v, this.length); this.length += 4; }
  f32(v: number): void { this.ensure(4); this.buf.writeFloatLE(v, this.length); this.length += 4; }
  f64(v: number): void { this.ensure(8); this.buf.writeDoubleLE(v, this.length); this.length += 8; }
  u64(v: number | bigint): void { this.ensure(8); this.buf.writeBigUInt64LE(BigInt(v), this.length); this.length += 8; }
  i64(v: number | bigint): void { this.ensure(8); this.buf.writeBigInt64LE(BigInt(v), this.length); this.length += 8; }
  bytes(b: Uint8Array): void { this.ensure(b.length); this.buf.set(b, this.length); this.length += b.length; }
  str(s: string): void { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.bytes(b); }
  pad(align: number): void { const n = (align - (this.length % align)) % align; this.ensure(n); this.buf.fill(0, this.length, this.length + n); this.length += n; }
  result(): Buffer { return this.buf.subarray(0, this.length); }
}

function writeScalar(w: ByteWriter, type: GgufScalarType, v: number | bigint | boolean | string, key: string): void {
  const num = (): number => { if (typeof v !== 'number') throw new Error(`gguf: ${key}: expected a number, got ${typeof v}`); return v; };
  switch (type) {
    case GgufType.UINT8: w.u8(num()); break;
    case GgufType.INT8: w.i8(num()); break;
    case GgufType.UINT16: w.u16(num()); break;
    case GgufType.INT16: w.i16(num()); break;
    case GgufType.UINT32: w.u32(num()); break;
    case GgufType.INT32: w.i32(num()); break;
    case GgufType.FLOAT32: w.f32(num()); break;
    case GgufType.FLOAT64: w.f64(num()); break;
    case GgufType.UINT64: w.u64(typeof v === 'bigint' ? v : num()); break;
    case GgufType.INT64: w.i64(typeof v === 'bigint' ? v : num()); break;
    case GgufType.BOOL: w.u8(v ? 1 : 0); break;
    case GgufType.STRING: if (typeof v !== 'string') throw new Error(`gguf: ${key}: expected a string`); w.str(v); break;
    default: throw new Error(`gguf: ${key}: unknown value type ${type as number}`);
  }
}

const tensorBytes = (t: GgufTensor): number => t.dims.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];

/** The header (padded to the alignment) of a GGUF v3 file, and each tensor's offset in the data section. */
function ggufHead(metadata: Map<string, GgufValue> | [string, GgufValue][], tensors: GgufTensor[], alignment: number): { head: Buffer; offsets: number[]; dataBytes: number } {
  const meta = new Map(metadata);
  if (alignment !== 32) meta.set('general.alignment', gv.u32(alignment));
  else if (meta.has('general.alignment')) {
    const a = meta.get('general.alignment')!;
    if (a.value !== 32) throw new Error('gguf: general.alignment in the metadata disagrees with the alignment argument');
  }
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new Error(`gguf: duplicate tensor ${t.name}`);
    names.add(t.name);
    const n = t.dims.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`gguf: ${t.name} has ${t.data.length} values for dims [${t.dims}]`);
    if ((t.dtype === 'F32') !== (t.data instanceof Float32Array)) throw new Error(`gguf: ${t.name}: ${t.dtype} data must be a ${t.dtype === 'F32' ? 'Float32Array' : 'Uint16Array'}`);
    if (t.dims.length < 1 || t.dims.length > 4) throw new Error(`gguf: ${t.name}: 1 to 4 dimensions, got ${t.dims.length}`);
  }
  const w = new ByteWriter();
  w.bytes(Buffer.from('GGUF', 'ascii'));
  w.u32(3);
  w.u64(tensors.length);
  w.u64(meta.size);
  for (const [key, val] of meta) {
    w.str(key);
    w.u32(val.type);
    if (val.type === GgufType.ARRAY) {
      w.u32(val.itemType);
      w.u64(val.value.length);
      for (const x of val.value) writeScalar(w, val.itemType, x, key);
    } else writeScalar(w, val.type, val.value, key);
  }
  const align = (n: number): number => Math.ceil(n / alignment) * alignment;
  let off = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    w.str(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(GgmlType[t.dtype]);
    w.u64(off);
    offsets.push(off);
    off = align(off + tensorBytes(t));
  }
  w.pad(alignment);
  return { head: w.result(), offsets, dataBytes: off };
}

const tensorBuffer = (t: GgufTensor): Buffer => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

/** Serialises a GGUF v3 file to one buffer (small files; writeGguf streams). general.alignment is written when it differs from 32 (the default). */
export function encodeGguf(metadata: Map<string, GgufValue> | [string, GgufValue][], tensors: GgufTensor[], alignment = 32): Buffer {
  const { head, offsets, dataBytes } = ggufHead(metadata, tensors, alignment);
  const out = Buffer.alloc(head.length + dataBytes);
  head.copy(out, 0);
  tensors.forEach((t, i) => tensorBuffer(t).copy(out, head.length + offsets[i]));
  return out;
}

/** Writes a GGUF v3 file atomically, streaming: the header, then each tensor's bytes from its own array. */
export function writeGguf(file: string, metadata: Map<string, GgufValue> | [string, GgufValue][], tensors: GgufTensor[], alignment = 32): void {
  const { head, offsets, dataBytes } = ggufHead(metadata, tensors, alignment);
  writeFileAtomicWith(file, (fd) => {
    writeAll(fd, head);
    let at = 0;
    tensors.forEach((t, i) => {
      if (offsets[i] > at) writeAll(fd, new Uint8Array(offsets[i] - at));
      writeAll(fd, tensorBuffer(t));
      at = offsets[i] + t.data.byteLength;
    });
    if (dataBytes > at) writeAll(fd, new Uint8Array(dataBytes - at));
  });
}

// ---------------------------------------------------------------------------------------------------
// Reader

/** Parses a whole GGUF held in memory (versions 2 and 3; tensor types F32, F16, BF16; see gguf/reader.ts for the rest). */
export function decodeGguf(buf: Buffer, file = '<buffer>'): GgufFile {
  return plainTensors(parseGgufHeader(buf, file), (t) => buf.subarray(t.offset, t.offset + t.bytes));
}

/** Reads a GGUF file by positioned reads (tensor types F32, F16, BF16; GgufReader dequantises the others). */
export function readGguf(file: string): GgufFile {
  const r = GgufReader.open(file);
  try {
    if (r.headers.length > 1) throw new Error(`${file}: a split GGUF (${r.headers.length} parts); open it with GgufReader`);
    return plainTensors(r.headers[0], (t) => r.readRaw(t.name));
  } finally {
    r.close();
  }
}

function plainTensors(h: GgufHeader, bytes: (t: GgufTensorInfo) => Uint8Array): GgufFile {
  const tensors: GgufTensor[] = h.tensors.map((ti) => {
    const dtype = (Object.keys(GgmlType) as GgufDtype[]).find((k) => GgmlType[k] === ti.type);
    if (!dtype) throw new Error(`${h.file}: tensor ${ti.name} has ggml type ${ggmlTypeName(ti.type)}, which this reader does not decode (GgufReader dequantises it)`);
    const copy = new Uint8Array(ti.bytes);
    copy.set(bytes(ti));
    return { name: ti.name, dims: ti.dims, dtype, data: dtype === 'F32' ? new Float32Array(copy.buffer) : new Uint16Array(copy.buffer) };
  });
  return { version: h.version, metadata: h.metadata, tensors, alignment: h.alignment };
}

// ---------------------------------------------------------------------------------------------------
// hcx model -> llama GGUF

/** ggml's llama file types (general.file_type): all F32, mostly F16, mostly BF16. */
const FILE_TYPE: Record<GgufDtype, number> = { F32: 0, F16: 1, BF16: 32 };

/**
 * Rows of a [nHeads*headDim, cols] projection reordered from rotate-half pairs (i, i+hd/2) to adjacent
 * pairs (2i, 2i+1): within each head, source row a*hd/2 + b goes to row 2b + a.
 */
export function permuteRopeRows<T extends Float32Array | Uint16Array>(w: T, nHeads: number, headDim: number, cols: number): T {
  return moveRopeRows(w, nHeads, headDim, cols, false);
}

/** Inverse of permuteRopeRows (also for bf16 / f16 bits in a Uint16Array). */
export function unpermuteRopeRows<T extends Float32Array | Uint16Array>(w: T, nHeads: number, headDim: number, cols: number): T {
  return moveRopeRows(w, nHeads, headDim, cols, true);
}

function moveRopeRows<T extends Float32Array | Uint16Array>(w: T, nHeads: number, headDim: number, cols: number, inverse: boolean): T {
  const out = (w instanceof Float32Array ? new Float32Array(w.length) : new Uint16Array(w.length)) as T;
  const half = headDim / 2;
  for (let h = 0; h < nHeads; h++) for (let a = 0; a < 2; a++) for (let b = 0; b < half; b++) {
    const rot = (h * headDim + a * half + b) * cols, adj = (h * headDim + 2 * b + a) * cols;
    const [src, dst] = inverse ? [adj, rot] : [rot, adj];
    out.set(w.subarray(src, src + cols), dst);
  }
  return out;
}

/** hcx (HF Llama) parameter name -> GGUF tensor name, or null for a name that has none. */
export function ggufTensorName(hfName: string): string | null {
  if (hfName === 'model.embed_tokens.weight') return 'token_embd.weight';
  if (hfName === 'model.norm.weight') return 'output_norm.weight';
  if (hfName === 'lm_head.weight') return 'output.weight';
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hfName);
  if (!m) return null;
  const map: Record<string, string> = {
    'input_layernorm.weight': 'attn_norm.weight', 'self_attn.q_proj.weight': 'attn_q.weight', 'self_attn.k_proj.weight': 'attn_k.weight',
    'self_attn.v_proj.weight': 'attn_v.weight', 'self_attn.o_proj.weight': 'attn_output.weight', 'post_attention_layernorm.weight': 'ffn_norm.weight',
    'mlp.gate_proj.weight': 'ffn_gate.weight', 'mlp.up_proj.weight': 'ffn_up.weight', 'mlp.down_proj.weight': 'ffn_down.weight',
  };
  return map[m[2]] ? `blk.${m[1]}.${map[m[2]]}` : null;
}

export interface GgufExportOptions {
  /** Matrix dtype; norms stay F32 (as llama.cpp's converter keeps 1-D tensors). Default F32. */
  dtype?: GgufDtype;
  name?: string;
}

/** The llama.* hyperparameter keys of a config. */
export function llamaHparams(c: ModelConfig): [string, GgufValue][] {
  const hd = headDimOf(c);
  const kv: [string, GgufValue][] = [
    ['llama.context_length', gv.u32(c.maxSeqLen)],
    ['llama.embedding_length', gv.u32(c.dModel)],
    ['llama.block_count', gv.u32(c.nLayers)],
    ['llama.feed_forward_length', gv.u32(c.ffnHidden)],
    ['llama.attention.head_count', gv.u32(c.nHeads)],
    ['llama.attention.head_count_kv', gv.u32(c.nKvHeads)],
    ['llama.attention.layer_norm_rms_epsilon', gv.f32(c.normEps)],
    ['llama.rope.freq_base', gv.f32(c.ropeBase)],
    ['llama.rope.dimension_count', gv.u32(hd)],
    ['llama.vocab_size', gv.u32(c.vocabSize)],
  ];
  if (c.headDim !== null) kv.push(['llama.attention.key_length', gv.u32(hd)], ['llama.attention.value_length', gv.u32(hd)]);
  // hcx multiplies positions by ropeScale; llama.cpp's linear scaling divides them by the factor.
  if (c.ropeScale !== 1) kv.push(['llama.rope.scaling.type', gv.str('linear')], ['llama.rope.scaling.factor', gv.f32(1 / c.ropeScale)]);
  return kv;
}

/** Tokenizer metadata for llama.cpp's byte-level BPE ("gpt2") vocabulary. */
export function tokenizerMetadata(tok: Tokenizer, vocabSize: number): [string, GgufValue][] {
  if (tok.vocabSize > vocabSize) throw new Error(`gguf: the tokenizer has ${tok.vocabSize} tokens but the model's vocabulary is ${vocabSize}`);
  const tokens: string[] = [], types: number[] = [];
  const specials = tok.specialTokens;
  for (let id = 0; id < vocabSize; id++) {
    const sp = specials.get(id);
    if (sp !== undefined) { tokens.push(sp); types.push(3); } // CONTROL
    else if (id < tok.bpe.size) { tokens.push(bytesToByteLevel(tok.bpe.tokenBytes[id])); types.push(1); } // NORMAL
    else { tokens.push(`[PAD${id}]`); types.push(5); } // UNUSED rows of a model vocabulary larger than the tokenizer's
  }
  const m = tok.bpe.merges, tb = tok.bpe.tokenBytes;
  const merges: string[] = [];
  const seen = new Set<string>();
  for (let r = 0; r < m.length / 3; r++) {
    const s = bytesToByteLevel(tb[m[3 * r]]) + ' ' + bytesToByteLevel(tb[m[3 * r + 1]]);
    if (!seen.has(s)) { seen.add(s); merges.push(s); }
  }
  const sp = tok.special;
  return [
    ['tokenizer.ggml.model', gv.str('gpt2')],
    ['tokenizer.ggml.pre', gv.str('llama-bpe')],
    ['tokenizer.ggml.tokens', gv.strs(tokens)],
    ['tokenizer.ggml.token_type', gv.i32s(types)],
    ['tokenizer.ggml.merges', gv.strs(merges)],
    ['tokenizer.ggml.bos_token_id', gv.u32(sp.eot)],
    ['tokenizer.ggml.eos_token_id', gv.u32(sp.endofturn)],
    ['tokenizer.ggml.eot_token_id', gv.u32(sp.endofturn)],
    ['tokenizer.ggml.padding_token_id', gv.u32(sp.pad)],
    ['tokenizer.ggml.fim_pre_token_id', gv.u32(sp.fimPrefix)],
    ['tokenizer.ggml.fim_suf_token_id', gv.u32(sp.fimSuffix)],
    ['tokenizer.ggml.fim_mid_token_id', gv.u32(sp.fimMiddle)],
    ['tokenizer.ggml.add_bos_token', gv.bool(false)],
    ['tokenizer.ggml.add_eos_token', gv.bool(false)],
    ['tokenizer.chat_template', gv.str(CHAT_TEMPLATE_JINJA_PLAIN)],
  ];
}

/** The GGUF tensors of a model (Q/K rows permuted for llama.cpp's RoPE, matrices in `dtype`). */
export function ggufTensors(model: Transformer, dtype: GgufDtype = 'F32'): GgufTensor[] {
  const c = model.config, hd = headDimOf(c);
  const why = llamaInexpressible(c);
  if (why) throw new Error(`gguf export: ${why}`);
  if (model.bf16Only) throw new Error('gguf export: the model holds bf16-only inference weights; load it with fp32 weights to export');
  const out: GgufTensor[] = [];
  for (const [name, t] of model.params) {
    const gname = ggufTensorName(name);
    if (!gname) throw new Error(`gguf: no llama tensor name for ${name}`);
    let data = t.data;
    if (name.endsWith('q_proj.weight')) data = permuteRopeRows(data, c.nHeads, hd, c.dModel);
    else if (name.endsWith('k_proj.weight')) data = permuteRopeRows(data, c.nKvHeads, hd, c.dModel);
    const dims = [...t.shape].reverse();
    const dt: GgufDtype = t.shape.length === 1 ? 'F32' : dtype;
    out.push({ name: gname, dims, dtype: dt, data: dt === 'F32' ? data : dt === 'F16' ? f32ToF16(data) : f32ToBf16(data) });
  }
  return out;
}

/** Why a config is not a plain llama-architecture model (what this writer emits), or null. */
function llamaInexpressible(c: ModelConfig): string | null {
  const plain: Partial<Record<keyof ModelConfig, unknown>> = {
    qkvBias: false, oBias: false, mlpBias: false, qkNorm: false, preNorm: true, postNorm: false, embeddingMultiplier: 1,
    attentionMultiplier: null, residualMultiplier: 1, logitsScaling: 1, ropeScaling: null, slidingWindow: null, noRopeLayers: [],
  };
  for (const [k, v] of Object.entries(plain)) {
    if (JSON.stringify(c[k as keyof ModelConfig]) !== JSON.stringify(v)) return `field "${k}" = ${JSON.stringify(c[k as keyof ModelConfig])} is not supported (only the plain llama architecture, ${k} ${JSON.stringify(v)})`;
  }
  return null;
}

/** Writes model + tokenizer as one llama-architecture GGUF file. */
export function exportGguf(model: Transformer, tok: Tokenizer, file: string, opts: GgufExportOptions = {}): void {
  const dtype = opts.dtype ?? 'F32';
  const meta: [string, GgufValue][] = [
    ['general.architecture', gv.str('llama')],
    ['general.name', gv.str(opts.name ?? 'hcx')],
    ['general.file_type', gv.u32(FILE_TYPE[dtype])],
    ...llamaHparams(model.config),
    ...tokenizerMetadata(tok, model.config.vocabSize),
  ];
  writeGguf(file, meta, ggufTensors(model, dtype));
}

// A tiny random llama model written as GGUF v3 (F32 tensors, SentencePiece-style vocabulary with byte
// fallback) for end-to-end tests and benchmarks of the GGUF path, until hcx has its own GGUF export.
// Layout per the GGUF spec: header, metadata key/values, tensor infos, aligned tensor data.
import { writeFileSync } from 'node:fs';

const T = { UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9 } as const;

class Buf {
  private parts: Buffer[] = [];
  length = 0;
  push(b: Buffer): void { this.parts.push(b); this.length += b.length; }
  u32(v: number): void { const b = Buffer.alloc(4); b.writeUInt32LE(v); this.push(b); }
  i32(v: number): void { const b = Buffer.alloc(4); b.writeInt32LE(v); this.push(b); }
  u64(v: number): void { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.push(b); }
  f32(v: number): void { const b = Buffer.alloc(4); b.writeFloatLE(v); this.push(b); }
  str(s: string): void { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.push(b); }
  concat(): Buffer { return Buffer.concat(this.parts); }
}

type Value = { t: 'u32'; v: number } | { t: 'f32'; v: number } | { t: 'bool'; v: boolean } | { t: 'str'; v: string } | { t: 'strs'; v: string[] } | { t: 'f32s'; v: number[] } | { t: 'i32s'; v: number[] };

function writeKv(b: Buf, key: string, val: Value): void {
  b.str(key);
  switch (val.t) {
    case 'u32': b.u32(T.UINT32); b.u32(val.v); break;
    case 'f32': b.u32(T.FLOAT32); b.f32(val.v); break;
    case 'bool': b.u32(T.BOOL); b.push(Buffer.from([val.v ? 1 : 0])); break;
    case 'str': b.u32(T.STRING); b.str(val.v); break;
    case 'strs': b.u32(T.ARRAY); b.u32(T.STRING); b.u64(val.v.length); for (const s of val.v) b.str(s); break;
    case 'f32s': b.u32(T.ARRAY); b.u32(T.FLOAT32); b.u64(val.v.length); for (const x of val.v) b.f32(x); break;
    case 'i32s': b.u32(T.ARRAY); b.u32(T.INT32); b.u64(val.v.length); for (const x of val.v) b.i32(x); break;
  }
}

/** Deterministic PRNG (mulberry32) -> approx. normal via Box-Muller. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  const u = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
}

export interface TinyLlamaOptions { seed?: number; embd?: number; layers?: number; heads?: number; ff?: number; ctx?: number; scale?: number }

/** The vocabulary: <unk> <s> </s>, 256 byte tokens, printable ASCII (space as ▁), a few merges. */
export function tinyVocab(): { tokens: string[]; scores: number[]; types: number[] } {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [2, 3, 3];
  const scores = [0, 0, 0];
  for (let i = 0; i < 256; i++) { tokens.push(`<0x${i.toString(16).toUpperCase().padStart(2, '0')}>`); types.push(6); scores.push(0); }
  tokens.push('▁'); types.push(1); scores.push(-1000);
  for (let c = 33; c < 127; c++) { tokens.push(String.fromCharCode(c)); types.push(1); scores.push(-1000); }
  const merges = ['▁t', 'he', '▁the', '▁a', 'in', 'er', 'an', 're', 'on', '▁A', '▁B', '▁C', '▁D', 'is', 'at', '▁is', 'or', 'es', 'en', '▁o', 'ed', '▁of', 'ng', 'ing'];
  merges.forEach((m, i) => { tokens.push(m); types.push(1); scores.push(-i); });
  return { tokens, scores, types };
}

export function writeTinyLlamaGguf(file: string, o: TinyLlamaOptions = {}): { vocab: number; params: number } {
  const embd = o.embd ?? 64, layers = o.layers ?? 2, heads = o.heads ?? 4, ff = o.ff ?? 128, ctx = o.ctx ?? 512;
  const scale = o.scale ?? 0.5;
  const { tokens, scores, types } = tinyVocab();
  const nVocab = tokens.length;
  const meta: [string, Value][] = [
    ['general.architecture', { t: 'str', v: 'llama' }],
    ['general.name', { t: 'str', v: 'hcx-tiny-random' }],
    ['general.alignment', { t: 'u32', v: 32 }],
    ['llama.context_length', { t: 'u32', v: ctx }],
    ['llama.embedding_length', { t: 'u32', v: embd }],
    ['llama.block_count', { t: 'u32', v: layers }],
    ['llama.feed_forward_length', { t: 'u32', v: ff }],
    ['llama.attention.head_count', { t: 'u32', v: heads }],
    ['llama.attention.head_count_kv', { t: 'u32', v: heads }],
    ['llama.attention.layer_norm_rms_epsilon', { t: 'f32', v: 1e-5 }],
    ['llama.rope.dimension_count', { t: 'u32', v: embd / heads }],
    ['llama.rope.freq_base', { t: 'f32', v: 10000 }],
    ['general.file_type', { t: 'u32', v: 0 }],
    ['tokenizer.ggml.model', { t: 'str', v: 'llama' }],
    ['tokenizer.ggml.tokens', { t: 'strs', v: tokens }],
    ['tokenizer.ggml.scores', { t: 'f32s', v: scores }],
    ['tokenizer.ggml.token_type', { t: 'i32s', v: types }],
    ['tokenizer.ggml.unknown_token_id', { t: 'u32', v: 0 }],
    ['tokenizer.ggml.bos_token_id', { t: 'u32', v: 1 }],
    ['tokenizer.ggml.eos_token_id', { t: 'u32', v: 2 }],
    ['tokenizer.ggml.add_bos_token', { t: 'bool', v: true }],
    ['tokenizer.ggml.add_eos_token', { t: 'bool', v: false }],
    ['tokenizer.ggml.add_space_prefix', { t: 'bool', v: false }],
  ];
  // Tensors: dims in GGUF order (ne0 = row length).
  const tensors: [string, number[], 'rand' | 'ones'][] = [
    ['token_embd.weight', [embd, nVocab], 'rand'],
    ['output_norm.weight', [embd], 'ones'],
    ['output.weight', [embd, nVocab], 'rand'],
  ];
  for (let l = 0; l < layers; l++) {
    tensors.push(
      [`blk.${l}.attn_norm.weight`, [embd], 'ones'], [`blk.${l}.attn_q.weight`, [embd, embd], 'rand'], [`blk.${l}.attn_k.weight`, [embd, embd], 'rand'],
      [`blk.${l}.attn_v.weight`, [embd, embd], 'rand'], [`blk.${l}.attn_output.weight`, [embd, embd], 'rand'], [`blk.${l}.ffn_norm.weight`, [embd], 'ones'],
      [`blk.${l}.ffn_gate.weight`, [embd, ff], 'rand'], [`blk.${l}.ffn_up.weight`, [embd, ff], 'rand'], [`blk.${l}.ffn_down.weight`, [ff, embd], 'rand'],
    );
  }
  const align = 32;
  const pad = (n: number): number => (n + align - 1) & ~(align - 1);
  const head = new Buf();
  head.push(Buffer.from('GGUF', 'ascii'));
  head.u32(3);
  head.u64(tensors.length);
  head.u64(meta.length);
  for (const [k, v] of meta) writeKv(head, k, v);
  let offset = 0;
  const offsets: number[] = [];
  for (const [name, dims] of tensors) {
    head.str(name);
    head.u32(dims.length);
    for (const d of dims) head.u64(d);
    head.u32(0); // F32
    head.u64(offset);
    offsets.push(offset);
    offset = pad(offset + 4 * dims.reduce((a, b) => a * b, 1));
  }
  const headBuf = head.concat();
  const dataStart = pad(headBuf.length);
  const out = Buffer.alloc(dataStart + offset);
  headBuf.copy(out, 0);
  const rand = rng(o.seed ?? 1);
  let params = 0;
  tensors.forEach(([, dims, kind], i) => {
    const n = dims.reduce((a, b) => a * b, 1);
    params += n;
    const std = kind === 'ones' ? 0 : scale / Math.sqrt(dims[0]);
    // output.weight rows of special and byte tokens are zero, so greedy text is mostly printable.
    const zeroRows = tensors[i][0] === 'output.weight' ? 259 * dims[0] : 0;
    for (let j = 0; j < n; j++) out.writeFloatLE(kind === 'ones' ? 1 : j < zeroRows ? 0 : rand() * std * (i === 0 ? Math.sqrt(dims[0]) : 1), dataStart + offsets[i] + 4 * j);
  });
  writeFileSync(file, out);
  return { vocab: nVocab, params };
}

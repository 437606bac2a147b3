// The GGUF reader on files: one tensor of every readable type written by gguf-py's GGUFWriter (alignment 64,
// and a Q8_0 tensor larger than the 16 MiB conversion buffer) reads to gguf-py's dequantised values bit for bit;
// split files; and every malformed or unsupported file gives an error naming the file and the field or tensor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GgufReader } from '../../src/model/gguf/reader.js';
import { readGgufModel } from '../../src/model/gguf/hf_import.js';
import { encodeGguf, ggufTensors, gv, llamaHparams, writeGguf, type GgufTensor, type GgufValue } from '../../src/model/gguf.js';
import { loadSafetensors } from '../../src/model/safetensors.js';
import { f32ToBf16 } from '../../src/model/export_hf.js';
import { Transformer } from '../../src/model/transformer.js';
import { parseModelConfig } from '../../src/model/config.js';
import { pythonMissing, runPython } from '../helpers/python.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), 'hcx-gguf-reader-'));

test('every readable ggml type in a gguf-py file reads to gguf-py\'s dequantised values (f32 and bf16)', { skip: pythonMissing(['gguf', 'numpy', 'safetensors']) }, () => {
  const dir = tmp();
  try {
    runPython([path.resolve(here, '../../../test/model/py/gguf_quant_file.py'), dir]);
    const ref = loadSafetensors(path.join(dir, 'q.ref.safetensors')).tensors;
    const r = GgufReader.open(path.join(dir, 'q.gguf'));
    try {
      assert.equal(r.headers[0].alignment, 64);
      assert.equal(ref.size, 14);
      for (const [name, t] of ref) {
        const info = r.info(name);
        assert.deepEqual([...info.dims].reverse(), t.shape, name);
        const got = r.read(name, 'f32') as Float32Array;
        assert.deepEqual(new Uint32Array(got.buffer), new Uint32Array((t.data as Float32Array).buffer), name);
        const want16 = name === 't.BF16' ? new Uint16Array(r.readRaw(name).buffer) : f32ToBf16(t.data as Float32Array);
        assert.deepEqual(r.read(name, 'bf16'), want16, `${name} as bf16`);
      }
    } finally {
      r.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A valid tiny llama GGUF's parts: metadata and tensors (from a random hcx model). */
function llamaParts(): { meta: [string, GgufValue][]; tensors: GgufTensor[] } {
  const cfg = parseModelConfig({ vocabSize: 64, dModel: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, ffnHidden: 96, maxSeqLen: 64, tieEmbeddings: false });
  const m = new Transformer(cfg, 3);
  return { meta: [['general.architecture', gv.str('llama')], ...llamaHparams(cfg)], tensors: ggufTensors(m) };
}

/** Byte position of tensor `name`'s info (its u64 name length) in an encoded GGUF. */
function infoAt(buf: Buffer, name: string): number {
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(name)));
  const at = buf.indexOf(Buffer.concat([len, Buffer.from(name)]));
  assert.ok(at >= 0, name);
  return at;
}
/** Offsets of the fields after a tensor info's name: n_dims, then dims, type and offset. */
function fields(buf: Buffer, name: string): { nd: number; type: number; offset: number } {
  const p = infoAt(buf, name) + 8 + Buffer.byteLength(name);
  const nd = buf.readUInt32LE(p);
  return { nd: p, type: p + 4 + 8 * nd, offset: p + 8 + 8 * nd };
}

test('malformed GGUF files: each error names the file and the field or tensor', () => {
  const dir = tmp();
  try {
    const f = path.join(dir, 'bad.gguf');
    const { meta, tensors } = llamaParts();
    const good = encodeGguf(meta, tensors);
    writeFileSync(f, good);
    assert.equal(readGgufModel(f).tensors.size, tensors.length);
    const patched = (edit: (b: Buffer) => Buffer | void): Buffer => { const b = Buffer.from(good); return edit(b) ?? b; };
    const q = 'blk.0.attn_q.weight';
    const cases: [string, Buffer, RegExp][] = [
      ['bad magic', patched((b) => { b.write('GGUX', 0); }), /bad\.gguf: not a GGUF file \(bad magic\)/],
      ['version 1', patched((b) => { b.writeUInt32LE(1, 4); }), /bad\.gguf: unsupported GGUF version 1/],
      ['cut in the metadata', good.subarray(0, 60), /bad\.gguf: truncated GGUF: metadata "general\.architecture" runs past the end of the file/],
      ['cut in the data', good.subarray(0, good.length - 40), /bad\.gguf: tensor "output\.weight" \(F32 \[64,64\]\) runs past the end of the file \(\d+ bytes\): the file is truncated/],
      ['five dimensions', patched((b) => { b.writeUInt32LE(5, fields(b, q).nd); }), /bad\.gguf: tensor "blk\.0\.attn_q\.weight" has 5 dimensions \(1 to 4 allowed\)/],
      ['misaligned offset', patched((b) => { b.writeBigUInt64LE(BigInt(4), fields(b, q).offset); }), /bad\.gguf: tensor "blk\.0\.attn_q\.weight": offset 4 is not a multiple of the alignment 32/],
      ['overlap', patched((b) => { b.writeBigUInt64LE(BigInt(0), fields(b, q).offset); }), /bad\.gguf: tensors "token_embd\.weight" and "blk\.0\.attn_q\.weight" overlap|bad\.gguf: tensors "blk\.0\.attn_q\.weight" and "token_embd\.weight" overlap/],
      ['unsupported type', patched((b) => { b.writeUInt32LE(16, fields(b, q).type); }), /bad\.gguf: tensor "blk\.0\.attn_q\.weight" has ggml type IQ2_XXS, which hcx does not read/],
      ['partial block', patched((b) => { b.writeUInt32LE(12, fields(b, 'blk.0.ffn_down.weight').type); }), /bad\.gguf: tensor "blk\.0\.ffn_down\.weight": row length 96 is not a multiple of the Q4_K block size 256/],
    ];
    for (const [what, buf, re] of cases) {
      writeFileSync(f, buf);
      assert.throws(() => readGgufModel(f), re, what);
    }
    const al = Buffer.from(encodeGguf(meta, tensors, 64));
    al.writeUInt32LE(48, al.indexOf(Buffer.from('general.alignment')) + 'general.alignment'.length + 4);
    writeFileSync(f, al);
    assert.throws(() => GgufReader.open(f), /bad\.gguf: metadata "general\.alignment" must be a power of two, got 48/);
    writeFileSync(f, good);
    const r = GgufReader.open(f);
    try {
      assert.throws(() => r.read('nope'), /bad\.gguf: no tensor "nope"/);
      assert.throws(() => r.read(q, 'f32', new Float32Array(3)), /bad\.gguf: tensor "blk\.0\.attn_q\.weight": read as f32 needs 4096 values in a Float32Array/);
    } finally {
      r.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unsupported models: architecture, tensors, metadata each named', () => {
  const dir = tmp();
  try {
    const f = path.join(dir, 'm.gguf');
    const { meta, tensors } = llamaParts();
    const set = (key: string, v: GgufValue | null): [string, GgufValue][] => {
      const m = meta.filter(([k]) => k !== key);
      return v ? [...m, [key, v]] : m;
    };
    const extra: GgufTensor = { name: 'blk.0.ffn_gate_exps.weight', dims: [64], dtype: 'F32', data: new Float32Array(64) };
    const cases: [string, [string, GgufValue][], GgufTensor[], RegExp][] = [
      ['architecture', set('general.architecture', gv.str('gemma3')), tensors, /m\.gguf: GGUF architecture "gemma3" is not supported \(hcx imports llama, qwen2, qwen3, exaone4\)/],
      ['no architecture', set('general.architecture', null), tensors, /m\.gguf: metadata "general\.architecture" is missing/],
      ['unknown tensor', meta, [...tensors, extra], /m\.gguf: tensor "blk\.0\.ffn_gate_exps\.weight" has no Hugging Face name in architecture llama/],
      ['block past the count', meta, [...tensors, { ...extra, name: 'blk.7.attn_norm.weight' }], /m\.gguf: tensor "blk\.7\.attn_norm\.weight" is past block_count 2/],
      ['missing key', set('llama.block_count', null), tensors, /m\.gguf: metadata "llama\.block_count" is missing/],
      ['per-layer array', set('llama.attention.head_count', gv.i32s([4, 4])), tensors, /m\.gguf: metadata "llama\.attention\.head_count" is an array \(per-layer values\)/],
      ['string for a number', set('llama.feed_forward_length', gv.str('96')), tensors, /m\.gguf: metadata "llama\.feed_forward_length" must be a number, got "96"/],
      ['partial rotary', set('llama.rope.dimension_count', gv.u32(8)), tensors, /m\.gguf: metadata llama\.rope\.dimension_count 8 differs from the head dimension 16 \(partial rotary embeddings\)/],
      ['rope scaling type', set('llama.rope.scaling.type', gv.str('longrope')), tensors, /m\.gguf: metadata llama\.rope\.scaling\.type "longrope" is not supported/],
      ['shape vs metadata', set('llama.feed_forward_length', gv.u32(128)), tensors, /m\.gguf: tensor "blk\.0\.ffn_gate\.weight" has dims \[64,96\], the metadata implies \[64,128\]/],
      ['no embedding', meta, tensors.filter((t) => t.name !== 'token_embd.weight'), /m\.gguf: tensor "token_embd\.weight" is missing/],
      ['rope_freqs', meta, [...tensors, { name: 'rope_freqs.weight', dims: [8], dtype: 'F32', data: Float32Array.from([1, 1, 3, 1, 2, 5, 8, 8]) }],
        /m\.gguf: tensor "rope_freqs\.weight" is not a Llama 3 RoPE scaling hcx can express/],
    ];
    for (const [what, m, ts, re] of cases) {
      writeGguf(f, m, ts);
      assert.throws(() => readGgufModel(f), re, what);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('split files: parts found from any one, and a missing or inconsistent part is named', () => {
  const dir = tmp();
  try {
    const { meta, tensors } = llamaParts();
    const half = Math.ceil(tensors.length / 2);
    const name = (i: number): string => path.join(dir, `m-0000${i}-of-00002.gguf`);
    const write = (no: number[], count = 2, total = tensors.length): void => {
      writeGguf(name(1), [...meta, ['split.no', { type: 2, value: no[0] }], ['split.count', { type: 2, value: count }], ['split.tensors.count', gv.i32(total)]], tensors.slice(0, half));
      writeGguf(name(2), [['split.no', { type: 2, value: no[1] }], ['split.count', { type: 2, value: count }], ['split.tensors.count', gv.i32(total)]], tensors.slice(half));
    };
    write([0, 1]);
    const m = readGgufModel(name(2));
    assert.deepEqual(m.source.files, [name(1), name(2)]);
    assert.equal(m.tensors.size, tensors.length);
    write([0, 0]);
    assert.throws(() => readGgufModel(name(1)), /m-00002-of-00002\.gguf: split\.no is 0, expected 1/);
    write([0, 1], 2, 5);
    assert.throws(() => readGgufModel(name(1)), /m-00001-of-00002\.gguf: split\.tensors\.count is 5 but the 2 parts hold 21 tensors/);
    write([0, 1], 3);
    assert.throws(() => readGgufModel(name(1)), /m-00001-of-00002\.gguf: split\.count is 3 but the name says 2 parts/);
    write([0, 1]);
    rmSync(name(2));
    assert.throws(() => readGgufModel(name(1)), /m-00001-of-00002\.gguf: part 2 of 2, .*m-00002-of-00002\.gguf, does not exist/);
    writeGguf(path.join(dir, 'renamed.gguf'), [...meta, ['split.no', { type: 2, value: 0 }], ['split.count', { type: 2, value: 2 }]], tensors.slice(0, half));
    assert.throws(() => readGgufModel(path.join(dir, 'renamed.gguf')), /renamed\.gguf: split\.count is 2 but the name is not PREFIX-00001-of-00002\.gguf/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeGguf streams the same bytes encodeGguf builds', () => {
  const dir = tmp();
  try {
    const { meta, tensors } = llamaParts();
    for (const alignment of [32, 64]) {
      const f = path.join(dir, `a${alignment}.gguf`);
      writeGguf(f, meta, tensors, alignment);
      assert.deepEqual(readFileSync(f), encodeGguf(meta, tensors, alignment));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

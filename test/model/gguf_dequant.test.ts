// The native dequantisation kernel against gguf-py's gguf.quants.dequantize (the reference that matches ggml's
// dequantize_row_*), bit for bit: random blocks of every readable type, with the f16 scale fields set to random
// finite halves (normal and subnormal; NaN scales are left out, their payloads are not part of the contract).
// Enough blocks per type that the thread pool splits the work. bf16 output is checked to be the float32 result
// rounded to nearest even.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/tensor/index.js';
import { dequantize, GGML_READABLE } from '../../src/model/gguf/types.js';
import { f32ToBf16 } from '../../src/model/export_hf.js';
import { pythonMissing, runPython } from '../helpers/python.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const script = path.resolve(here, '../../../test/model/py/gguf_dequant_ref.py');

/** Byte offsets of each type's f16 scale fields within a block. */
const SCALES: Record<string, number[]> = {
  Q4_0: [0], Q4_1: [0, 2], Q5_0: [0], Q5_1: [0, 2], Q8_0: [0], Q2_K: [80, 82], Q3_K: [108], Q4_K: [0, 2], Q5_K: [0, 2], Q6_K: [208],
};

/** A random finite half: any sign, exponent 0..30 (so subnormals and zero too). */
function finiteHalf(r: Rng): number {
  return (r.nextU32() & 0x83ff) | (r.int(31) << 10);
}

function randomBlocks(name: string, rows: number, r: Rng): Uint8Array {
  const { block, bytes } = GGML_READABLE[name];
  const perRow = (256 / block) * bytes; // each row holds 256 values
  const buf = new Uint8Array(rows * perRow);
  for (let i = 0; i < buf.length; i++) buf[i] = r.nextU32() & 0xff;
  const view = new DataView(buf.buffer);
  if (name === 'F16') for (let i = 0; i < buf.length; i += 2) view.setUint16(i, finiteHalf(r), true);
  if (name === 'F32') for (let i = 0; i < buf.length; i += 4) view.setFloat32(i, r.normal() * 10 ** (r.int(20) - 10), true);
  for (let b = 0; b < buf.length / bytes; b++) for (const o of SCALES[name] ?? []) view.setUint16(b * bytes + o, finiteHalf(r), true);
  return buf;
}

test('dequantize is bit-exact with gguf.quants.dequantize for every readable type (f32 and bf16 out)', { skip: pythonMissing(['gguf', 'numpy']) }, () => {
  const r = new Rng(12);
  const names = Object.keys(GGML_READABLE);
  const rows = 40; // 40 * 256 values per type: several blocks per thread
  const inputs = names.map((n) => randomBlocks(n, rows, r));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hcx-dequant-'));
  try {
    const inFile = path.join(dir, 'in.bin'), outFile = path.join(dir, 'out.bin');
    writeFileSync(inFile, Buffer.concat(inputs.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength))));
    runPython([script, inFile, outFile, ...names.map((n, i) => `${n}:${rows}:${inputs[i].length / rows}`)]);
    const ref = readFileSync(outFile);
    assert.equal(ref.length, names.length * rows * 256 * 4);
    names.forEach((name, i) => {
      const n = rows * 256;
      const want = new Uint32Array(new Uint8Array(ref.subarray(i * n * 4, (i + 1) * n * 4)).buffer);
      const got = new Float32Array(n);
      dequantize(GGML_READABLE[name].id, inputs[i], got, n);
      assert.ok(got.some((v) => v !== 0 && Number.isFinite(v)), `${name}: no finite non-zero value to compare`);
      const gotBits = new Uint32Array(got.buffer);
      let bad = -1;
      for (let k = 0; k < n && bad < 0; k++) if (gotBits[k] !== want[k]) bad = k;
      assert.equal(bad, -1, `${name}: value ${bad} is bits ${gotBits[bad]?.toString(16)}, the reference ${want[bad]?.toString(16)}`);
      const b16 = new Uint16Array(n);
      dequantize(GGML_READABLE[name].id, inputs[i], b16, n);
      // BF16 in, BF16 out: the stored bits unchanged (NaN payloads included).
      const want16 = name === 'BF16' ? new Uint16Array(inputs[i].buffer) : f32ToBf16(new Float32Array(want.buffer));
      assert.deepEqual(b16, want16, `${name}: bf16 output is not the float32 result rounded to nearest even`);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dequantize rejects a short source, a partial block and an unknown type', () => {
  const q8 = GGML_READABLE.Q8_0;
  assert.throws(() => dequantize(q8.id, new Uint8Array(q8.bytes), new Float32Array(64), 64), /src is shorter/);
  assert.throws(() => dequantize(q8.id, new Uint8Array(q8.bytes), new Float32Array(16), 16), /multiple of the block size/);
  assert.throws(() => dequantize(q8.id, new Uint8Array(q8.bytes), new Float32Array(8), 32), /dst is shorter/);
  assert.throws(() => dequantize(16, new Uint8Array(1024), new Float32Array(256), 256), /unsupported ggml type/);
});

// The streaming safetensors reader and writer: round trips in every dtype and conversion, files the Python
// safetensors library writes and reads, a tensor past the 2 GiB (and 4 GiB) mark of a sparse file, and every
// malformed-file error naming the file and the tensor or field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  decodeSafetensors, encodeSafetensors, loadSafetensors, saveSafetensors, SafetensorsReader, toFloat32, type StTensor,
} from '../../src/model/safetensors.js';
import { f32ToBf16, f32ToF16 } from '../../src/model/export_hf.js';
import { Rng } from '../../src/tensor/index.js';
import { pythonMissing, runPython } from '../helpers/python.js';

const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), 'hcx-st-'));

/** Reference IEEE half decoding (exact arithmetic in doubles). */
function halfRef(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

function sample(): [string, StTensor][] {
  const r = new Rng(3);
  const f = r.fillNormal(new Float32Array(6 * 5), 3);
  f[0] = 1e-6; f[1] = -65504; f[2] = 0; f[3] = -0; // f16 subnormal range, f16 max, signed zeros
  return [
    ['w.f32', { dtype: 'F32', shape: [6, 5], data: f }],
    ['w.f16', { dtype: 'F16', shape: [5, 6], data: f32ToF16(f) }],
    ['w.bf16', { dtype: 'BF16', shape: [30], data: f32ToBf16(f) }],
    ['ids', { dtype: 'I32', shape: [3], data: Int32Array.from([-1, 7, 1 << 30]) }],
    ['empty', { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) }],
  ];
}

test('save then load: stored bytes exact, f32 widening exact, bf16 rounding to nearest even; metadata kept', () => {
  const dir = tmp();
  try {
    const file = path.join(dir, 'm.safetensors');
    const ts = sample();
    saveSafetensors(file, ts, { format: 'pt', note: '한국어' });
    assert.deepEqual(readFileSync(file), encodeSafetensors(ts, { format: 'pt', note: '한국어' }), 'the streamed file is the encoded buffer');
    assert.deepEqual(readdirSync(dir), ['m.safetensors'], 'no temporary file left');
    const stored = loadSafetensors(file);
    assert.deepEqual(stored.metadata, { format: 'pt', note: '한국어' });
    for (const [name, t] of ts) assert.deepEqual(stored.tensors.get(name), t, name);
    const f32 = loadSafetensors(file, { as: 'f32' }).tensors;
    const src = ts[0][1].data as Float32Array;
    assert.deepEqual(f32.get('w.f32')!.data, src);
    assert.equal(f32.get('w.f16')!.dtype, 'F32');
    assert.deepEqual([...f32.get('w.f16')!.data], [...(ts[1][1].data as Uint16Array)].map(halfRef));
    assert.deepEqual(new Uint32Array((f32.get('w.bf16')!.data as Float32Array).buffer), Uint32Array.from(ts[2][1].data as Uint16Array, (b) => (b << 16) >>> 0));
    assert.equal(f32.get('ids')!.dtype, 'I32', 'integer tensors stay as stored');
    const b16 = loadSafetensors(file, { as: 'bf16' }).tensors;
    assert.deepEqual(b16.get('w.f32')!.data, f32ToBf16(src));
    assert.deepEqual(b16.get('w.f16')!.data, f32ToBf16(Float32Array.from(f32.get('w.f16')!.data)));
    assert.deepEqual(b16.get('w.bf16')!.data, ts[2][1].data);
    assert.deepEqual(toFloat32(ts[1][1]), f32.get('w.f16')!.data);
    assert.deepEqual(decodeSafetensors(readFileSync(file), file).tensors.get('w.f16'), ts[1][1]);
    const only = loadSafetensors(file, { names: (n) => n.startsWith('w.') });
    assert.deepEqual([...only.tensors.keys()], ['w.f32', 'w.f16', 'w.bf16']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('reading into a caller array, which must have the right type and size', () => {
  const dir = tmp();
  try {
    const file = path.join(dir, 'm.safetensors');
    saveSafetensors(file, sample());
    const r = SafetensorsReader.open(file);
    try {
      const dst = new Float32Array(30);
      const t = r.read('w.bf16', 'f32', dst);
      assert.equal(t.data, dst);
      assert.throws(() => r.read('w.bf16', 'f32', new Float32Array(29)), /m\.safetensors: tensor "w\.bf16" \(BF16 \[30\]\) read as F32 needs 30 values in a Float32Array/);
      assert.throws(() => r.read('w.bf16', 'stored', new Float32Array(30)), /read as BF16 needs 30 values in a Uint16Array/);
      assert.throws(() => r.read('nope'), /m\.safetensors: no tensor "nope"/);
    } finally {
      r.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file cut short after its header was read: the read names the file, tensor and byte', () => {
  const dir = tmp();
  try {
    const file = path.join(dir, 'm.safetensors');
    saveSafetensors(file, sample());
    const r = SafetensorsReader.open(file);
    try {
      const e = r.entry('w.f16');
      const fd = openSync(file, 'r+');
      ftruncateSync(fd, e.begin + 10);
      closeSync(fd);
      assert.throws(() => r.read('w.f16', 'f32'), new RegExp(`m\\.safetensors: unexpected end of file reading tensor "w\\.f16" \\(at byte ${e.begin + 10}\\)`));
      assert.throws(() => r.read('w.f16'), /unexpected end of file reading tensor "w\.f16"/);
    } finally {
      r.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed write leaves no file and no temporary', () => {
  const dir = tmp();
  try {
    const bad: [string, StTensor][] = [['a', { dtype: 'F32', shape: [2], data: new Float32Array(3) }]];
    assert.throws(() => saveSafetensors(path.join(dir, 'x.safetensors'), bad), /safetensors: a has 3 values for shape \[2\]/);
    const dup: [string, StTensor][] = [['a', sample()[0][1]], ['a', sample()[0][1]]];
    assert.throws(() => saveSafetensors(path.join(dir, 'x.safetensors'), dup), /duplicate or reserved tensor name "a"/);
    assert.throws(() => saveSafetensors(path.join(dir, 'x.safetensors'), [['a', { dtype: 'F16', shape: [2], data: new Float32Array(2) }]]), /F16 data must be a Uint16Array/);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A file with a hand-written header (padded with spaces) and `data` bytes after it. */
function rawFile(file: string, header: unknown, data: Uint8Array | number, headerLen?: number): void {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerLen ?? json.length));
  writeFileSync(file, Buffer.concat([len, json, typeof data === 'number' ? Buffer.alloc(data) : Buffer.from(data)]));
}

test('malformed files: each error names the file and the tensor or field', () => {
  const dir = tmp();
  try {
    const f = path.join(dir, 'bad.safetensors');
    const ok = { a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } };
    const cases: [string, () => void, RegExp][] = [
      ['too short', () => writeFileSync(f, Buffer.alloc(5)), /bad\.safetensors: 5 bytes is too short for a safetensors file/],
      ['header past the end', () => rawFile(f, ok, 16, 5000), /bad\.safetensors: header length 5000 runs past the end of the file/],
      ['header over 100 MB', () => rawFile(f, ok, 16, 200_000_000), /bad\.safetensors: header length 200000000 exceeds the 100 MB limit/],
      ['broken JSON', () => rawFile(f, '{"a": {"dtype": "F32",', 0), /bad\.safetensors: safetensors header is not valid JSON/],
      ['not an object', () => rawFile(f, '[1, 2]', 0), /bad\.safetensors: safetensors header is not a JSON object/],
      ['truncated data', () => rawFile(f, ok, 12), /bad\.safetensors: tensor "a": data_offsets \[0, 16\) run past the end of the data \(12 bytes\): the file is truncated/],
      ['shape vs bytes', () => rawFile(f, { a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 16] } }, 16), /bad\.safetensors: tensor "a": data_offsets \[0, 16\) hold 16 bytes but F32 shape \[2,3\] needs 24/],
      ['overlap', () => rawFile(f, { ...ok, b: { dtype: 'F16', shape: [4], data_offsets: [12, 20] } }, 20), /bad\.safetensors: tensors "a" \[0, 16\) and "b" \[12, 20\) overlap/],
      ['unknown dtype', () => rawFile(f, { a: { dtype: 'F33', shape: [1], data_offsets: [0, 4] } }, 4), /bad\.safetensors: tensor "a": unknown dtype "F33"/],
      ['unsupported dtype', () => rawFile(f, { a: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, 8), /bad\.safetensors: tensor "a" has dtype F64, which hcx does not read/],
      ['bad shape', () => rawFile(f, { a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), /bad\.safetensors: tensor "a": shape must be an array of non-negative integers, got \[-1\]/],
      ['bad offsets', () => rawFile(f, { a: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, 4), /bad\.safetensors: tensor "a": data_offsets must be \[begin, end\] with 0 <= begin <= end, got \[4,0\]/],
      ['missing fields', () => rawFile(f, { a: 3 }, 0), /bad\.safetensors: tensor "a": expected \{ dtype, shape, data_offsets \}/],
      ['bad metadata', () => rawFile(f, { __metadata__: { step: 3 } }, 0), /bad\.safetensors: __metadata__\.step must be a string, got 3/],
    ];
    for (const [what, make, re] of cases) {
      make();
      assert.throws(() => loadSafetensors(f), re, what);
      assert.throws(() => decodeSafetensors(readFileSync(f), f), re, `${what} (decode)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a tensor past the 2 GiB and 4 GiB marks of a sparse file reads by positioned reads', () => {
  const dir = tmp();
  try {
    const file = path.join(dir, 'big.safetensors');
    const big = 2 ** 30 + 2 ** 28; // 1.25 Gi F32 values = 5 GiB, never read
    const tail = Float32Array.from([1.5, -2, 3.25, 1e-30]);
    const mid = f32ToBf16(Float32Array.from([7, 8, 9]));
    const header = {
      __metadata__: { format: 'pt' },
      mid: { dtype: 'BF16', shape: [3], data_offsets: [0, 6] },
      pad: { dtype: 'F32', shape: [big], data_offsets: [6, 6 + 4 * big] },
      tail: { dtype: 'F32', shape: [2, 2], data_offsets: [6 + 4 * big, 6 + 4 * big + 16] },
    };
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    const fd = openSync(file, 'w');
    try {
      writeSync(fd, Buffer.concat([len, json, Buffer.from(mid.buffer)]));
      const tailAt = 8 + json.length + 6 + 4 * big;
      assert.ok(tailAt > 2 ** 32);
      ftruncateSync(fd, tailAt + 16);
      writeSync(fd, new Uint8Array(tail.buffer), 0, 16, tailAt);
    } finally {
      closeSync(fd);
    }
    const r = SafetensorsReader.open(file);
    try {
      assert.equal(r.fileSize, 8 + json.length + 6 + 4 * big + 16);
      assert.deepEqual(r.read('tail').data, tail);
      assert.deepEqual(r.read('tail', 'bf16').data, f32ToBf16(tail));
      assert.deepEqual(r.read('mid', 'f32').data, Float32Array.from([7, 8, 9]));
    } finally {
      r.close();
    }
    const some = loadSafetensors(file, { names: (n) => n !== 'pad', as: 'f32' });
    assert.deepEqual(some.tensors.get('tail')!.data, tail);
    // The same file cut short: the header says where the data ends.
    const fd2 = openSync(file, 'r+');
    try { ftruncateSync(fd2, 8 + json.length + 6 + 4 * big + 8); } finally { closeSync(fd2); }
    assert.throws(() => SafetensorsReader.open(file), /big\.safetensors: tensor "tail": data_offsets \[\d+, \d+\) run past the end of the data \(\d+ bytes\): the file is truncated/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('interoperates with the Python safetensors library both ways', { skip: pythonMissing(['safetensors', 'numpy', 'torch']) }, () => {
  const dir = tmp();
  try {
    const ours = path.join(dir, 'ours.safetensors'), theirs = path.join(dir, 'theirs.safetensors');
    const ts = sample();
    saveSafetensors(ours, ts, { format: 'pt' });
    const out = runPython(['-c', `
import json, sys, torch
from safetensors.torch import load_file, save_file
from safetensors import safe_open
t = load_file(sys.argv[1])
with safe_open(sys.argv[1], 'pt') as f: meta = f.metadata()
print(json.dumps({k: [str(v.dtype), list(v.shape), v.float().flatten().tolist() if v.is_floating_point() else v.flatten().tolist()] for k, v in t.items()} | {'__meta': meta}))
g = torch.Generator().manual_seed(0)
save_file({'x.bf16': torch.randn(4, 3, generator=g).bfloat16(), 'x.f16': torch.randn(7, generator=g).half(), 'x.f32': torch.randn(2, 2, generator=g),
           'x.ref16': torch.randn(4, 3, generator=g).bfloat16().float()}, sys.argv[2], metadata={'format': 'pt'})
t2 = load_file(sys.argv[2])
print(json.dumps({k: v.float().flatten().tolist() for k, v in t2.items()}))
`, ours, theirs]);
    const [read, wrote] = out.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(read.__meta, { format: 'pt' });
    assert.deepEqual(read['w.f32'][0], 'torch.float32');
    assert.deepEqual(read['w.f16'][0], 'torch.float16');
    assert.deepEqual(read['w.bf16'][0], 'torch.bfloat16');
    assert.deepEqual(read['ids'], ['torch.int32', [3], [-1, 7, 1 << 30]]);
    assert.deepEqual(read['empty'][1], [0, 4]);
    for (const name of ['w.f32', 'w.f16', 'w.bf16']) {
      const mine = toFloat32(ts.find(([n]) => n === name)![1]);
      assert.deepEqual(read[name][2], [...mine], `${name} as torch reads it`);
    }
    const back = loadSafetensors(theirs, { as: 'f32' });
    for (const [name, vals] of Object.entries(wrote as Record<string, number[]>)) assert.deepEqual([...back.tensors.get(name)!.data], vals, `${name} as hcx reads it`);
    assert.equal(loadSafetensors(theirs).tensors.get('x.bf16')!.dtype, 'BF16');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

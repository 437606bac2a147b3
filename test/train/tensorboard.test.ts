// TensorBoard event files, read back by the tensorboard package itself (EventAccumulator in the
// /tmp/hcx-py venv): the writer's scalars, a resumed run replacing the killed run's tail, and the
// scalars pretraining writes against its metrics.jsonl.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { maskedCrc32c, TensorBoardWriter } from '../../src/train/tensorboard.js';
import { crc32c } from '@aws-crypto/crc32c';
import { buildDataset } from '../../src/data/build.js';
import { ByteEncoder } from '../../src/data/byte-encoder.js';
import { Rng } from '../../src/data/hashing.js';
import { englishDoc } from '../../src/data/corpus/english.js';
import { parsePretrainConfig } from '../../src/train/config.js';
import { pretrain } from '../../src/train/pretrain.js';
import { pythonMissing, runPython } from '../helpers/python.js';

const dir = mkdtempSync(path.join(tmpdir(), 'hcx-tb-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const READ = `
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
acc = EventAccumulator(sys.argv[1], size_guidance={'scalars': 0})
acc.Reload()
print(json.dumps({t: [[e.step, e.value] for e in acc.Scalars(t)] for t in acc.Tags()['scalars']}))
`;
const readBack = (logDir: string): Record<string, [number, number][]> => JSON.parse(runPython(['-c', READ, logDir]));
const f32 = (x: number): number => Math.fround(x);

test('CRC32C and its TFRecord mask match the standard check values', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  const c = 0xe3069283;
  assert.equal(maskedCrc32c(Buffer.from('123456789')), ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0);
});

test('tensorboard reads the scalars back; a resumed run replaces the killed run from its resume step', { skip: pythonMissing(['tensorboard']) }, () => {
  const logDir = path.join(dir, 'unit');
  const a = new TensorBoardWriter(logDir);
  for (let s = 1; s <= 6; s++) a.scalars(s, { 'train/loss': 10 - s * 0.1, 'train/lr': s * 1e-4, 'eval/loss': s === 3 ? 2.5 : undefined, bad: NaN });
  a.close(); // killed after step 6; its last checkpoint was step 4
  const b = new TensorBoardWriter(logDir, 4);
  for (let s = 5; s <= 8; s++) b.scalars(s, { 'train/loss': 20 + s, 'train/lr': s * 1e-4 });
  b.close();
  const got = readBack(logDir);
  assert.deepEqual(Object.keys(got).sort(), ['eval/loss', 'train/loss', 'train/lr']);
  assert.deepEqual(got['train/loss'], [1, 2, 3, 4].map((s) => [s, f32(10 - s * 0.1)]).concat([5, 6, 7, 8].map((s) => [s, f32(20 + s)])));
  assert.deepEqual(got['eval/loss'], [[3, 2.5]]);
  assert.deepEqual(got['train/lr'].map(([s]) => s), [1, 2, 3, 4, 5, 6, 7, 8]);
});

test('pretraining writes its metrics as TensorBoard scalars', { skip: pythonMissing(['tensorboard']), timeout: 120_000 }, async () => {
  const src = path.join(dir, 'src');
  mkdirSync(src, { recursive: true });
  const rng = new Rng(5);
  writeFileSync(path.join(src, 'en.txt'), Array.from({ length: 30 }, () => englishDoc(rng).replace(/\n\n/g, '\n')).join('\n\n'));
  const data = path.join(dir, 'data');
  await buildDataset({ outDir: data, sources: [{ path: path.join(src, 'en.txt'), docMode: 'blankline' }], packing: { seqLen: 32, longFactor: 2, longShare: 0.1, shardTokens: 4000 } }, { tokenizer: new ByteEncoder(), fresh: true });
  const cfg = parsePretrainConfig({ runDir: path.join(dir, 'run'), data, model: { preset: 'test', maxSeqLen: 64 }, batchSize: 2, steps: 6, warmupSteps: 1, evalEvery: 3, heldoutRecords: 2, evalBatches: 1, saveEvery: 3 }, 'cfg', 261);
  const r = await pretrain(cfg, { quiet: true });
  const got = readBack(path.join(r.runDir, 'tb'));
  assert.deepEqual(got['train/loss'], r.metrics.map((m) => [m.step, f32(m.loss)]));
  assert.deepEqual(got['train/lr'], r.metrics.map((m) => [m.step, f32(m.lr)]));
  assert.deepEqual(got['eval/loss'], r.metrics.filter((m) => m.eval_loss !== undefined).map((m) => [m.step, f32(m.eval_loss!)]));
  const lines = readFileSync(path.join(r.runDir, 'metrics.jsonl'), 'utf8').trim().split('\n');
  assert.equal(lines.length, got['train/loss'].length);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDataset } from '../../src/data/build.js';
import { ByteEncoder } from '../../src/data/byte-encoder.js';
import { koreanDoc } from '../../src/data/corpus/korean.js';
import { englishDoc } from '../../src/data/corpus/english.js';
import { Rng } from '../../src/data/hashing.js';
import { pretrain, type StepMetrics } from '../../src/train/pretrain.js';
import { parsePretrainConfig } from '../../src/train/config.js';
import { listCheckpoints, loadCheckpoint, loadModel, saveCheckpoint } from '../../src/model/checkpoint.js';
import { Transformer } from '../../src/model/transformer.js';

const dir = mkdtempSync(path.join(tmpdir(), 'hcx-pretrain-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const hcx = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/hcx.js');

async function dataset(): Promise<string> {
  const out = path.join(dir, 'data');
  if (existsSync(path.join(out, 'index.json'))) return out;
  const src = path.join(dir, 'src');
  mkdirSync(src, { recursive: true });
  const rng = new Rng(7);
  writeFileSync(path.join(src, 'ko.jsonl'), Array.from({ length: 40 }, () => JSON.stringify({ text: koreanDoc(rng) })).join('\n') + '\n');
  writeFileSync(path.join(src, 'en.txt'), Array.from({ length: 30 }, () => englishDoc(rng).replace(/\n\n/g, '\n')).join('\n\n'));
  await buildDataset({
    outDir: out,
    sources: [{ path: path.join(src, 'ko.jsonl') }, { path: path.join(src, 'en.txt'), docMode: 'blankline' }],
    packing: { seqLen: 32, longFactor: 4, longShare: 0.1, shardTokens: 4000 },
    fim: { psmRate: 0.25, spmRate: 0.25 },
  }, { tokenizer: new ByteEncoder(), fresh: true });
  return out;
}

const model = { preset: 'test', maxSeqLen: 128 };

function configFile(name: string, data: string, extra: Record<string, unknown> = {}): string {
  const f = path.join(dir, `${name}.json`);
  writeFileSync(f, JSON.stringify({ runDir: path.join(dir, name), data, model, batchSize: 4, steps: 12, warmupSteps: 2, lr: 3e-3,
    evalEvery: 6, heldoutRecords: 4, evalBatches: 1, saveEvery: 4, seed: 3, ...extra }));
  return f;
}

const readMetrics = (run: string): StepMetrics[] =>
  readFileSync(path.join(dir, run, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

test('pretraining lowers the loss, switches to the long context, writes metrics, plot and checkpoints', async () => {
  const data = await dataset();
  const cfg = parsePretrainConfig(JSON.parse(readFileSync(configFile('plain', data, { steps: 20, longShare: 0.2, longRopeBase: 40000 }), 'utf8')), 'cfg', 261);
  const r = await pretrain(cfg, { quiet: true });
  const m = r.metrics;
  assert.equal(m.length, 20);
  assert.ok(m[m.length - 1].loss < m[0].loss - 0.5, `loss ${m[0].loss} -> ${m[m.length - 1].loss}`);
  assert.deepEqual([...new Set(m.map((x) => x.seq_len))], [32, 128], 'last 20% of steps at 4x context');
  assert.equal(m.filter((x) => x.seq_len === 128).length, 4);
  assert.ok(m.some((x) => x.eval_loss !== undefined));
  assert.ok(existsSync(path.join(r.runDir, 'loss.svg')));
  assert.equal(loadModel(r.runDir).config.ropeBase, 40000, 'the saved model keeps the long-context RoPE base');
});

function runCli(args: string[]): { child: ReturnType<typeof spawn>; done: Promise<number> } {
  const child = spawn(process.execPath, [hcx, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HCX_THREADS: '1' } });
  const done = new Promise<number>((res) => child.on('exit', (code, sig) => res(code ?? (sig ? -1 : 0))));
  return { child, done };
}

test('after kill -9, --resume continues with exactly the losses of an uninterrupted run', async () => {
  const data = await dataset();
  const full = runCli(['pretrain', '--config', configFile('full', data), '--quiet']);
  assert.equal(await full.done, 0);
  const killed = runCli(['pretrain', '--config', configFile('killed', data), '--quiet']);
  // Kill as soon as the step-8 checkpoint exists (steps 9.. may or may not have run).
  const ck = path.join(dir, 'killed', 'checkpoints', 'step-8');
  while (!existsSync(ck)) {
    if (killed.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  killed.child.kill('SIGKILL');
  await killed.done;
  assert.ok(existsSync(ck), 'the run was killed before its step-8 checkpoint');
  const resumed = runCli(['pretrain', '--config', configFile('killed', data), '--resume', '--quiet']);
  assert.equal(await resumed.done, 0);
  const a = readMetrics('full'), b = readMetrics('killed');
  assert.equal(b.length, 12);
  assert.deepEqual(b.map((x) => x.loss), a.map((x) => x.loss), 'identical loss at every step');
  assert.deepEqual(b.map((x) => x.eval_loss), a.map((x) => x.eval_loss));
});

test('config errors name the file and field', () => {
  assert.throws(() => parsePretrainConfig({ runDir: 'r', data: 'd', batchSize: 0, steps: 3 }, 'x.json'), /x\.json: field "batchSize" must be an integer >= 1/);
  assert.throws(() => parsePretrainConfig({ runDir: 'r', data: 'd', batchSize: 1, steps: 3, lr: -1 }, 'x.json'), /field "lr"/);
  assert.throws(() => parsePretrainConfig({ runDir: 'r', data: 'd', batchSize: 1, steps: 3, bogus: 1 }, 'x.json'), /unknown field "bogus"/);
});

// Hardening (issue 16): each of these failed silently before.

test('a run that diverges to NaN stops with an error naming the step and keeps its last good checkpoint', async () => {
  const data = await dataset();
  const cfg = parsePretrainConfig(JSON.parse(readFileSync(configFile('diverge', data, { lr: 1e30, warmupSteps: 0, steps: 8, saveEvery: 1, keepCheckpoints: 2, evalEvery: 0 }), 'utf8')), 'cfg', 261);
  await assert.rejects(pretrain(cfg, { quiet: true }), /step \d+: the (loss|gradient norm) is (NaN|Infinity).*diverged.*last good checkpoint is .*step-\d+/);
  const left = listCheckpoints(path.join(dir, 'diverge'));
  assert.ok(left.length >= 1, 'a good checkpoint is kept');
  for (const c of left) loadModel(c.dir); // all finite and sound
  const cli = runCli(['pretrain', '--config', configFile('diverge-cli', data, { lr: 1e30, warmupSteps: 0, steps: 8, saveEvery: 1, keepCheckpoints: 1, evalEvery: 0 }), '--quiet']);
  let err = '';
  cli.child.stderr!.on('data', (d) => { err += d; });
  assert.notEqual(await cli.done, 0, 'the command fails');
  assert.match(err, /diverged/);
  assert.equal(listCheckpoints(path.join(dir, 'diverge-cli')).length, 1);
});

test('--resume refuses a checkpoint without optimizer state, and a changed model config, naming what differs', async () => {
  const data = await dataset();
  const f = configFile('strict', data, { steps: 4, saveEvery: 2, evalEvery: 0 });
  await pretrain(parsePretrainConfig(JSON.parse(readFileSync(f, 'utf8')), f, 261), { quiet: true });
  const ck = path.join(dir, 'strict', 'checkpoints', 'step-4');
  const changed = configFile('strict', data, { steps: 6, saveEvery: 2, evalEvery: 0 });
  const withModel = (m: object) => parsePretrainConfig({ ...JSON.parse(readFileSync(changed, 'utf8')), model: m }, changed, 261);
  await assert.rejects(pretrain(withModel({ ...model, nLayers: 3 }), { quiet: true, resume: true }), /model config differs .*step-4.*nLayers 2 -> 3/);
  rmSync(path.join(ck, 'optimizer.safetensors'));
  await assert.rejects(pretrain(withModel(model), { quiet: true, resume: true }), /optimizer\.safetensors/);
});

test('--resume tolerates a torn last line in metrics.jsonl, and names the file for a broken line elsewhere', async () => {
  const data = await dataset();
  const f = configFile('torn', data, { steps: 8, saveEvery: 4, evalEvery: 0 });
  const cfg = parsePretrainConfig(JSON.parse(readFileSync(f, 'utf8')), f, 261);
  await pretrain({ ...cfg, steps: 4 }, { quiet: true });
  const mf = path.join(dir, 'torn', 'metrics.jsonl');
  writeFileSync(mf, readFileSync(mf, 'utf8') + '{"step": 5, "phase": "sho'); // the disk filled mid-line
  const r = await pretrain(cfg, { quiet: true, resume: true });
  assert.equal(r.metrics.length, 4);
  assert.deepEqual(readMetrics('torn').map((m) => m.step), [1, 2, 3, 4, 5, 6, 7, 8]);
  const lines = readFileSync(mf, 'utf8').split('\n');
  lines[2] = '{broken';
  writeFileSync(mf, lines.join('\n'));
  await assert.rejects(pretrain(cfg, { quiet: true, resume: true }), /metrics\.jsonl:3: not a JSON line/);
});

test('stale checkpoint temporaries of dead processes are removed; a live run locks its directory', async () => {
  const data = await dataset();
  const f = configFile('locked', data, { steps: 2, saveEvery: 2, evalEvery: 0 });
  const cfg = parsePretrainConfig(JSON.parse(readFileSync(f, 'utf8')), f, 261);
  const runDir = path.join(dir, 'locked');
  // A process that has exited: its PID names the leftovers.
  const gone = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => gone.on('exit', r));
  mkdirSync(path.join(runDir, 'checkpoints', `step-9.tmp-${gone.pid}`), { recursive: true });
  writeFileSync(path.join(runDir, `config.json.tmp-${gone.pid}`), '{');
  writeFileSync(path.join(runDir, 'run.lock'), JSON.stringify({ pid: gone.pid, host: (await import('node:os')).hostname() }));
  await pretrain(cfg, { quiet: true });
  assert.ok(!existsSync(path.join(runDir, 'checkpoints', `step-9.tmp-${gone.pid}`)), 'stale checkpoint folder removed');
  assert.ok(!existsSync(path.join(runDir, `config.json.tmp-${gone.pid}`)), 'stale temporary file removed');
  assert.ok(!existsSync(path.join(runDir, 'run.lock')), 'the lock is released at the end');
  // A live process holds the lock: a second run is refused.
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)']);
  try {
    writeFileSync(path.join(runDir, 'run.lock'), JSON.stringify({ pid: live.pid, host: (await import('node:os')).hostname() }));
    await assert.rejects(pretrain(cfg, { quiet: true }), new RegExp(`in use by process ${live.pid}`));
  } finally {
    live.kill('SIGKILL');
  }
});

test('checkpoint files are checksummed: flipped weight bytes and NaN weights fail to load, naming the file', () => {
  const run = path.join(dir, 'checksums');
  const m = new Transformer({ ...parsePretrainConfig({ runDir: 'r', data: 'd', batchSize: 1, steps: 1, model }, 'x').model }, 1);
  const ck = saveCheckpoint(run, { model: m, state: { step: 1, tokensSeen: 0 } });
  loadModel(ck);
  const file = path.join(ck, 'model.safetensors');
  const bytes = readFileSync(file);
  bytes[bytes.length - 7] ^= 0x10;
  writeFileSync(file, bytes);
  assert.throws(() => loadModel(ck), /model\.safetensors: checksum mismatch/);
  assert.throws(() => loadCheckpoint(ck), /checksum mismatch/);
  m.param('model.norm.weight').data[3] = NaN;
  const bad = saveCheckpoint(run, { model: m, state: { step: 2, tokensSeen: 0 } });
  assert.throws(() => loadModel(bad), /model\.safetensors: tensor model\.norm\.weight holds NaN at element 3/);
});

test('pretraining computes in bf16 when the config says so', async () => {
  const data = await dataset();
  const cfg = parsePretrainConfig(JSON.parse(readFileSync(configFile('bf16', data, { steps: 10, computeDtype: 'bf16', evalEvery: 0 }), 'utf8')), 'cfg', 261);
  const r = await pretrain(cfg, { quiet: true });
  assert.equal(r.model.computeDtype, 'bf16');
  assert.ok(r.metrics[9].loss < r.metrics[0].loss - 0.3, `loss ${r.metrics[0].loss} -> ${r.metrics[9].loss}`);
  assert.equal(JSON.parse(readFileSync(path.join(r.runDir, 'config.json'), 'utf8')).computeDtype, 'bf16');
  assert.throws(() => parsePretrainConfig({ runDir: 'r', data: 'd', batchSize: 1, steps: 3, computeDtype: 'fp8' }, 'x.json'), /field "computeDtype" must be one of "f32", "bf16"/);
});

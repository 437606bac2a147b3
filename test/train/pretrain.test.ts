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
import { loadModel } from '../../src/model/checkpoint.js';

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

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadChatData, RowStream } from '../../src/data/chat/dataset.js';
import { hcxTemplate } from '../../src/data/chat/template.js';
import { packedBatch, paddedBatch } from '../../src/data/chat/packing.js';
import { loadModel } from '../../src/model/checkpoint.js';
import { Transformer } from '../../src/model/transformer.js';
import { F, noGrad } from '../../src/tensor/index.js';
import { sft, type SftMetrics } from '../../src/train/sft.js';
import { parseSftConfig, resolveSftConfig } from '../../src/train/sft_config.js';
import { tinySource, type TinySource } from '../helpers/sft.js';

const dir = mkdtempSync(path.join(tmpdir(), 'hcx-sft-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const hcx = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/hcx.js');
let src: TinySource;
test.before(async () => { src = await tinySource(dir); });

const cfgFor = (name: string, extra: Record<string, unknown> = {}) =>
  parseSftConfig(
    { from: src.runDir, data: [src.data.all], runDir: path.join(dir, name), seqLen: 128, steps: 12, batchSize: 4, evalEvery: 6, heldout: 16, saveEvery: 4, logEvery: 1, ...extra },
    'test', undefined, 'none', { maxSeqLen: 256 }).cfg;

test('SFT lowers the loss on chat data, packed and padded, and writes metrics, data report, plot and checkpoint', async () => {
  for (const packing of ['bfd', 'none'] as const) {
    const r = await sft(cfgFor(`plain-${packing}`, { packing, lr: 1e-2, steps: 20, warmupSteps: 2 }), { quiet: true });
    const m = r.metrics;
    assert.equal(m.length, 20);
    assert.ok(m[19].loss < m[0].loss - 1.5, `${packing}: loss ${m[0].loss} -> ${m[19].loss}`);
    assert.ok(m.some((x) => x.eval_loss !== undefined));
    const report = JSON.parse(readFileSync(path.join(r.runDir, 'data.json'), 'utf8'));
    assert.equal(report.heldout, 16);
    assert.ok(report.epochs[0].padding_share >= 0 && report.epochs[0].padding_share < (packing === 'bfd' ? 0.2 : 0.7), JSON.stringify(report.epochs));
    assert.ok(existsSync(path.join(r.runDir, 'loss.svg')));
    const back = loadModel(r.runDir);
    assert.deepEqual(back.param('model.norm.weight').data, r.model.param('model.norm.weight').data);
  }
});

/** Sum of next-token losses over a batch's supervised targets, and logits. */
function lossSum(model: Transformer, b: ReturnType<typeof packedBatch>): { sum: number; logits: Float32Array } {
  return noGrad(() => {
    const logits = model.forward(b.ids, b.B, b.T, { positions: b.positions, segmentIds: b.segmentIds });
    return { sum: F.crossEntropy(logits, b.targets, { reduction: 'sum' }).item(), logits: logits.data.slice() };
  });
}

test('a packed row gives the sum of its conversations\' separate losses (1e-6), and other conversations\' logits do not move', async () => {
  const d = await loadChatData({ sources: [{ path: src.data.all }], template: hcxTemplate(src.tok), seqLen: 128, truncation: 'cut', heldout: 0, seed: 1, onBadLine: 'fatal' });
  const model = new Transformer(src.config, 9);
  const rows = new RowStream(d.train, 'bfd', 128, 1).rows.filter((r) => r.length >= 3).slice(0, 2);
  assert.equal(rows.length, 2, 'rows holding three or more conversations');
  const packed = lossSum(model, packedBatch(d.train, rows, 128, src.tok.special.pad));
  let separate = 0;
  for (const i of rows.flat()) separate += lossSum(model, paddedBatch(d.train, [i], src.tok.special.pad)).sum;
  assert.ok(Math.abs(packed.sum - separate) <= 1e-6 * separate, `packed ${packed.sum} vs separate ${separate}`);
  // Replace the second conversation of row 0 by another of the same length: the other conversations' logits stay bit-identical.
  const [a, b] = rows[0];
  const swapWith = d.train.findIndex((e, i) => i !== b && !rows.flat().includes(i) && e.ids.length === d.train[b].ids.length && e.ids.some((t, j) => t !== d.train[b].ids[j]));
  assert.ok(swapWith >= 0);
  const changed = lossSum(model, packedBatch(d.train, [rows[0].map((i) => (i === b ? swapWith : i)), rows[1]], 128, src.tok.special.pad));
  const V = src.config.vocabSize;
  const la = d.train[a].ids.length, lb = d.train[b].ids.length;
  const keep = [[0, la], [la + lb, 256]]; // row 0 outside conversation b, and all of row 1
  for (const [lo, hi] of keep) for (let i = lo * V; i < hi * V; i++) assert.equal(changed.logits[i], packed.logits[i], `logit ${i} moved`);
  let moved = 0;
  for (let i = la * V; i < (la + lb) * V; i++) moved += +(changed.logits[i] !== packed.logits[i]);
  assert.ok(moved > 0);
});

test('gradient accumulation: the step loss is the mean over all supervised tokens of its micro-batches', async () => {
  const one = await sft(cfgFor('accum-1', { batchSize: 4, gradAccum: 1, steps: 3, evalEvery: 0 }), { quiet: true });
  const two = await sft(cfgFor('accum-2', { batchSize: 2, gradAccum: 2, steps: 3, evalEvery: 0 }), { quiet: true });
  const four = await sft(cfgFor('accum-4', { batchSize: 1, gradAccum: 4, steps: 3, evalEvery: 0 }), { quiet: true });
  for (const r of [two, four]) {
    r.metrics.forEach((m, i) => assert.ok(Math.abs(m.loss - one.metrics[i].loss) < 2e-6, `step ${i + 1}: ${m.loss} vs ${one.metrics[i].loss}`));
    const w = r.model.param('model.layers.0.self_attn.q_proj.weight').data, w1 = one.model.param('model.layers.0.self_attn.q_proj.weight').data;
    let err = 0;
    for (let i = 0; i < w.length; i++) err = Math.max(err, Math.abs(w[i] - w1[i]));
    assert.ok(err < 1e-5, `weights differ by ${err}`);
  }
});

test('a step whose rows hold no supervised token has loss 0, never NaN', async () => {
  const f = path.join(dir, 'nothing.jsonl');
  writeFileSync(f, Array.from({ length: 12 }, (_, i) => JSON.stringify({ messages: [{ role: 'system', content: `s${i}` }, { role: 'user', content: 'only a question' }] })).join('\n'));
  const r = await sft(parseSftConfig({ from: src.runDir, data: [f], runDir: path.join(dir, 'nothing'), seqLen: 64, steps: 2, batchSize: 2, heldout: 2, evalEvery: 1 },
    'test', undefined, 'none', { maxSeqLen: 256 }).cfg, { quiet: true });
  for (const m of r.metrics) { assert.equal(m.loss, 0); assert.equal(m.eval_loss, 0); }
});

test('settings not given are inherited from the source checkpoint\'s training config; config errors name the field', () => {
  const { cfg, provenance } = resolveSftConfig({ from: src.runDir, data: [src.data.all], out: path.join(dir, 'inherit') });
  assert.equal(cfg.lr, 2e-3);
  assert.equal(cfg.minLr, 2e-4);
  assert.equal(provenance.lr, 'inherited');
  assert.equal(provenance.evalEvery, 'default');
  const yml = path.join(dir, 'sft.yaml');
  writeFileSync(yml, 'lr: 0.01\npacking: none\nlora:\n  rank: 4\n  targets: [q_proj, v_proj]\n');
  const y = resolveSftConfig({ from: src.runDir, data: [src.data.all], out: path.join(dir, 'inherit'), config: yml });
  assert.equal(y.cfg.lr, 0.01);
  assert.equal(y.cfg.minLr, 0.001, 'minLr follows a given lr instead of the inherited one');
  assert.deepEqual(y.cfg.lora, { rank: 4, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] });
  writeFileSync(yml, 'lr: 0.01\nbogus: 1\n');
  assert.throws(() => resolveSftConfig({ from: src.runDir, data: [src.data.all], out: 'x', config: yml }), /sft\.yaml: unknown field "bogus"/);
  writeFileSync(yml, 'lora:\n  rank: 0\n');
  assert.throws(() => resolveSftConfig({ from: src.runDir, data: [src.data.all], out: 'x', config: yml }), /field "lora\.rank" must be an integer >= 1/);
  writeFileSync(yml, 'lora:\n  targets: [wq]\n');
  assert.throws(() => resolveSftConfig({ from: src.runDir, data: [src.data.all], out: 'x', config: yml }), /unknown target "wq"/);
  assert.throws(() => resolveSftConfig({ data: [src.data.all], out: 'x' }), /--from MODEL is required/);
});

function runCli(args: string[]): { child: ReturnType<typeof spawn>; done: Promise<number>; err: () => string } {
  const child = spawn(process.execPath, [hcx, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HCX_THREADS: '1' } });
  let err = '';
  child.stderr!.on('data', (d) => { err += d; });
  child.stdout!.resume();
  const done = new Promise<number>((res) => child.on('exit', (code, sig) => res(code ?? (sig ? -1 : 0))));
  return { child, done, err: () => err };
}

const readMetrics = (run: string): SftMetrics[] => readFileSync(path.join(dir, run, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

for (const lora of [false, true]) {
  test(`hcx sft: after kill -9, --resume continues with exactly the losses of an uninterrupted run${lora ? ' (LoRA, dropout)' : ''}`, async () => {
    const cfg = path.join(dir, `resume${lora ? '-lora' : ''}.yaml`);
    writeFileSync(cfg, `seqLen: 128\nsteps: 12\nbatchSize: 2\ngradAccum: 2\nsaveEvery: 4\nevalEvery: 4\nheldout: 8\nlr: 0.003\n${lora ? 'lora:\n  rank: 4\n  dropout: 0.1\n  targets: [q_proj, v_proj, down_proj]\n' : ''}`);
    const name = (s: string) => `${s}${lora ? '-lora' : ''}`;
    const args = (run: string) => ['sft', '--from', src.runDir, '--data', src.data.all, '--out', path.join(dir, run), '--config', cfg, '--quiet'];
    const full = runCli(args(name('full')));
    assert.equal(await full.done, 0, full.err());
    const killed = runCli(args(name('killed')));
    const ck = path.join(dir, name('killed'), 'checkpoints', 'step-8');
    while (!existsSync(ck) && killed.child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
    killed.child.kill('SIGKILL');
    await killed.done;
    assert.ok(existsSync(ck), 'killed before the step-8 checkpoint');
    const resumed = runCli([...args(name('killed')), '--resume']);
    assert.equal(await resumed.done, 0, resumed.err());
    const a = readMetrics(name('full')), b = readMetrics(name('killed'));
    assert.equal(b.length, 12);
    assert.deepEqual(b.map((x) => x.loss), a.map((x) => x.loss), 'identical loss at every step');
    assert.deepEqual(b.map((x) => x.eval_loss), a.map((x) => x.eval_loss));
    assert.deepEqual(loadModel(path.join(dir, name('killed'))).param('model.layers.1.mlp.down_proj.weight').data,
      loadModel(path.join(dir, name('full'))).param('model.layers.1.mlp.down_proj.weight').data, 'identical final weights');
  });
}

test('hcx sft: an unknown flag is an error naming it; --resume with other data is refused', async () => {
  const bad = runCli(['sft', '--from', src.runDir, '--data', src.data.all, '--out', path.join(dir, 'flag'), '--epoch', '2']);
  assert.notEqual(await bad.done, 0);
  assert.match(bad.err(), /--epoch/);
  const first = runCli(['sft', '--from', src.runDir, '--data', src.data.en, '--out', path.join(dir, 'other-data'), '--quiet']);
  assert.equal(await first.done, 0, first.err());
  const again = runCli(['sft', '--from', src.runDir, '--data', src.data.ko, '--out', path.join(dir, 'other-data'), '--quiet', '--resume']);
  assert.notEqual(await again.done, 0);
  assert.match(again.err(), /chat data differs/);
});

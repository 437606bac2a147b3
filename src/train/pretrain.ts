// Pretraining: next-token prediction over packed shards (left-to-right and FIM samples alike), AdamW
// with warmup + cosine, clipping, gradient accumulation, and the two-phase context curriculum: the
// first (1 - longShare) of steps at the short context, the rest at the long one with the RoPE base
// raised. Checkpoints hold everything needed to continue bit-for-bit after a kill.
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DataLoader, type LoaderState } from '../data/loader.js';
import { readIndex } from '../data/shards.js';
import { latestCheckpoint, listCheckpoints, loadCheckpoint, saveCheckpoint } from '../model/checkpoint.js';
import { trainFlopsPerToken, parameterCount } from '../model/config.js';
import { Transformer } from '../model/transformer.js';
import { native } from '../native/index.js';
import { AdamW, F, backward, clipGradNorm, cosineLr, noGrad, tidy } from '../tensor/index.js';
import { announceCheckpoint } from '../pipeline/checkpoint_events.js';
import { writeFileAtomic } from '../util/atomic.js';
import { parsePretrainConfig, type PretrainConfig } from './config.js';
import { lineChartSvg } from './plot.js';
import { Progress } from './progress.js';
import { TensorBoardWriter } from './tensorboard.js';

export interface StepMetrics {
  step: number; phase: string; seq_len: number; loss: number; lr: number; grad_norm: number;
  tokens: number; tokens_per_s: number; mfu: number; elapsed_s: number; eval_loss?: number;
}

export interface PretrainOptions {
  resume?: boolean;
  /** Called after every optimizer step. */
  onStep?: (m: StepMetrics) => void;
  quiet?: boolean;
  /** Resolve relative paths in the config against this folder. */
  baseDir?: string;
}

export interface PretrainResult { runDir: string; model: Transformer; metrics: StepMetrics[]; finalCheckpoint: string }

interface Phases { short: { name: string; seqLen: number; records: number }; long?: { name: string; seqLen: number }; longSteps: number }

function planPhases(cfg: PretrainConfig, dataDir: string): Phases {
  const idx = readIndex(dataDir);
  if (!idx.phases.length) throw new Error(`${dataDir}: dataset has no phases`);
  const [s, l] = idx.phases;
  const long = l && l.records > 0 && cfg.longShare > 0 ? { name: l.name, seqLen: l.seqLen } : undefined;
  const longSteps = long ? Math.round(cfg.steps * cfg.longShare) : 0;
  if (long && long.seqLen > cfg.model.maxSeqLen) throw new Error(`model maxSeqLen ${cfg.model.maxSeqLen} is shorter than the long phase's ${long.seqLen} tokens`);
  if (s.seqLen > cfg.model.maxSeqLen) throw new Error(`model maxSeqLen ${cfg.model.maxSeqLen} is shorter than the short phase's ${s.seqLen} tokens`);
  if (s.records <= cfg.heldoutRecords) throw new Error(`short phase has ${s.records} records; heldoutRecords ${cfg.heldoutRecords} leaves none to train on`);
  return { short: { name: s.name, seqLen: s.seqLen, records: s.records }, long, longSteps };
}

/** Reads and validates a config file (paths resolved against its folder). */
export function loadPretrainConfig(file: string): { cfg: PretrainConfig; baseDir: string } {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  const baseDir = path.dirname(path.resolve(file));
  const data = typeof raw.data === 'string' ? path.resolve(baseDir, raw.data) : undefined;
  const vocab = data && existsSync(path.join(data, 'index.json')) ? readIndex(data).vocabSize : undefined;
  return { cfg: parsePretrainConfig(raw, file, vocab), baseDir };
}

export async function pretrain(cfgIn: PretrainConfig, opts: PretrainOptions = {}): Promise<PretrainResult> {
  const base = opts.baseDir ?? process.cwd();
  const cfg: PretrainConfig = { ...cfgIn, runDir: path.resolve(base, cfgIn.runDir), data: path.resolve(base, cfgIn.data), tokenizer: cfgIn.tokenizer && path.resolve(base, cfgIn.tokenizer) };
  const phases = planPhases(cfg, cfg.data);
  mkdirSync(cfg.runDir, { recursive: true });
  const metricsFile = path.join(cfg.runDir, 'metrics.jsonl');
  let model: Transformer;
  let opt: AdamW;
  let step = 0, tokensSeen = 0;
  const loaderStates: Record<string, LoaderState | undefined> = {};
  const ck = opts.resume ? latestCheckpoint(cfg.runDir) : null;
  if (opts.resume && !ck) throw new Error(`--resume: ${cfg.runDir} has no checkpoint to resume from`);
  if (ck) {
    const c = loadCheckpoint(ck);
    model = c.model;
    opt = new AdamW(model.parameters(), { beta1: cfg.beta1, beta2: cfg.beta2, weightDecay: cfg.weightDecay });
    if (c.optimizer) opt.loadState(c.optimizer);
    step = c.state.step;
    tokensSeen = c.state.tokensSeen;
    Object.assign(loaderStates, (c.state.loader ?? {}) as Record<string, LoaderState>);
    // Metrics logged after the checkpoint belong to the lost tail of the killed run.
    if (existsSync(metricsFile)) {
      const kept = readFileSync(metricsFile, 'utf8').split('\n').filter((l) => l && (JSON.parse(l) as StepMetrics).step <= step);
      writeFileSync(metricsFile, kept.map((l) => l + '\n').join(''));
    }
  } else {
    if (existsSync(metricsFile)) rmSync(metricsFile);
    model = new Transformer(cfg.model, cfg.seed);
    opt = new AdamW(model.parameters(), { beta1: cfg.beta1, beta2: cfg.beta2, weightDecay: cfg.weightDecay });
  }
  writeFileAtomic(path.join(cfg.runDir, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');
  if (cfg.tokenizer && existsSync(cfg.tokenizer) && !existsSync(path.join(cfg.runDir, 'tokenizer.json'))) copyFileSync(cfg.tokenizer, path.join(cfg.runDir, 'tokenizer.json'));

  const shortRange: [number, number] = [0, phases.short.records - cfg.heldoutRecords];
  const loaders = new Map<string, DataLoader>();
  const loaderFor = (name: string, batchSize: number): DataLoader => {
    let l = loaders.get(name);
    if (!l) {
      const st = loaderStates[name];
      l = st ? new DataLoader(cfg.data, { state: st }) : new DataLoader(cfg.data, { phase: name, batchSize, seed: cfg.seed, range: name === phases.short.name ? shortRange : undefined });
      loaders.set(name, l);
    }
    return l;
  };
  const tokensPerStep = cfg.batchSize * phases.short.seqLen * cfg.gradAccum;
  const peak = native.peakFlops('f32', native.numThreads(), 100) * 1e9;
  const longStart = cfg.steps - phases.longSteps;
  const progress = opts.quiet ? null : new Progress('pretrain', cfg.steps);
  if (!opts.quiet) {
    const pc = parameterCount(model.config);
    process.stderr.write(`model: ${(pc.total / 1e6).toFixed(2)}M parameters (${(pc.embedding / 1e6).toFixed(2)}M embedding); ${cfg.steps} steps, ${tokensPerStep} tokens/step, long phase from step ${longStart}\n`);
  }
  const metrics: StepMetrics[] = [];
  const tb = new TensorBoardWriter(path.join(cfg.runDir, 'tb'), ck ? step : undefined);
  const t0 = Date.now();
  let lastSaved = ck ?? '';
  while (step < cfg.steps) {
    const inLong = phases.long !== undefined && step >= longStart;
    const ph = inLong ? phases.long! : phases.short;
    if (inLong && model.config.ropeBase !== cfg.longRopeBase) (model.config as { ropeBase: number }).ropeBase = cfg.longRopeBase;
    const B = Math.max(1, Math.round((cfg.batchSize * phases.short.seqLen) / ph.seqLen));
    const loader = loaderFor(ph.name, B);
    const T = ph.seqLen;
    const stepStart = Date.now();
    let lossSum = 0;
    for (let micro = 0; micro < cfg.gradAccum; micro++) {
      const batch = loader.next();
      const { ids, tgt } = inputsAndTargets(batch.tokens, B, batch.recordLen, T);
      lossSum += tidy(() => {
        const loss = model.loss(ids, tgt, B, T);
        const scaled = cfg.gradAccum > 1 ? F.scale(loss, 1 / cfg.gradAccum) : loss;
        backward(scaled);
        return loss.item();
      });
    }
    const gradNorm = cfg.clip > 0 ? clipGradNorm(opt.params, cfg.clip) : NaN;
    const lr = cosineLr({ maxLr: cfg.lr, minLr: cfg.minLr, warmupSteps: cfg.warmupSteps, totalSteps: cfg.steps }, step);
    opt.update(lr);
    opt.zeroGrad();
    step++;
    tokensSeen += B * T * cfg.gradAccum;
    const dt = (Date.now() - stepStart) / 1000;
    const tps = (B * T * cfg.gradAccum) / Math.max(dt, 1e-9);
    const m: StepMetrics = {
      step, phase: ph.name, seq_len: T, loss: lossSum / cfg.gradAccum, lr, grad_norm: gradNorm, tokens: tokensSeen,
      tokens_per_s: Math.round(tps), mfu: peak > 0 ? (tps * trainFlopsPerToken(model.config, T)) / peak : 0, elapsed_s: (Date.now() - t0) / 1000,
    };
    if (cfg.evalEvery > 0 && cfg.heldoutRecords > 0 && (step % cfg.evalEvery === 0 || step === cfg.steps)) m.eval_loss = heldoutLoss(model, cfg, phases);
    metrics.push(m);
    appendFileSync(metricsFile, JSON.stringify(m) + '\n');
    tb.scalars(step, { 'train/loss': m.loss, 'train/lr': lr, 'train/grad_norm': gradNorm, 'train/tokens_per_s': m.tokens_per_s, 'train/mfu': m.mfu, 'eval/loss': m.eval_loss });
    opts.onStep?.(m);
    if (progress && (step % cfg.logEvery === 0 || step === cfg.steps || m.eval_loss !== undefined)) {
      progress.update(step, { loss: m.loss, ...(m.eval_loss !== undefined ? { eval: m.eval_loss } : {}), 'tok/s': m.tokens_per_s, MFU: `${(m.mfu * 100).toFixed(1)}%`, ctx: T });
    }
    if ((cfg.saveEvery > 0 && step % cfg.saveEvery === 0) || step === cfg.steps) {
      const state = { step, tokensSeen, loader: Object.fromEntries([...Object.entries(loaderStates), ...[...loaders].map(([k, l]) => [k, l.state()])]) };
      lastSaved = saveCheckpoint(cfg.runDir, { model, optimizer: opt.state(), state, trainConfig: cfg });
      announceCheckpoint(cfg.runDir, lastSaved, step); // completion marker + checkpoint.saved event for the pipeline
      prune(cfg);
    }
  }
  progress?.done();
  tb.close();
  for (const l of loaders.values()) l.close();
  writeLossPlot(cfg.runDir);
  return { runDir: cfg.runDir, model, metrics, finalCheckpoint: lastSaved };
}

/** Splits records of T + 1 tokens into model inputs and next-token targets, [B * T] each. */
function inputsAndTargets(tokens: Int32Array, B: number, L: number, T: number): { ids: Int32Array; tgt: Int32Array } {
  const ids = new Int32Array(B * T), tgt = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    ids.set(tokens.subarray(b * L, b * L + T), b * T);
    tgt.set(tokens.subarray(b * L + 1, b * L + 1 + T), b * T);
  }
  return { ids, tgt };
}

/** Mean loss over the held-out tail of the short phase (fixed order, no gradient). */
function heldoutLoss(model: Transformer, cfg: PretrainConfig, phases: Phases): number {
  const n = cfg.heldoutRecords;
  const B = Math.min(cfg.batchSize, n);
  const loader = new DataLoader(cfg.data, { phase: phases.short.name, batchSize: B, shuffle: false, range: [phases.short.records - n, phases.short.records] });
  const T = phases.short.seqLen;
  let total = 0;
  for (let i = 0; i < cfg.evalBatches; i++) {
    const batch = loader.next();
    const { ids, tgt } = inputsAndTargets(batch.tokens, B, batch.recordLen, T);
    total += tidy(() => noGrad(() => model.loss(ids, tgt, B, T).item()));
  }
  loader.close();
  F.dropPackedWeights(model.parameters()); // bf16 weights were packed for this evaluation only
  return total / cfg.evalBatches;
}

function prune(cfg: PretrainConfig): void {
  if (cfg.keepCheckpoints <= 0) return;
  const all = listCheckpoints(cfg.runDir);
  for (const c of all.slice(0, Math.max(0, all.length - cfg.keepCheckpoints))) rmSync(c.dir, { recursive: true, force: true });
}

/** Renders metrics.jsonl as loss.svg (train and held-out loss against tokens). */
export function writeLossPlot(runDir: string): string {
  const file = path.join(runDir, 'metrics.jsonl');
  const rows = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as StepMetrics);
  const svg = lineChartSvg('hcx pretraining loss', 'tokens', 'cross-entropy (nats)', [
    { name: 'train', points: rows.map((r) => [r.tokens, r.loss]) },
    { name: 'held-out', points: rows.filter((r) => r.eval_loss !== undefined).map((r) => [r.tokens, r.eval_loss!]) },
  ]);
  const out = path.join(runDir, 'loss.svg');
  writeFileAtomic(out, svg);
  return out;
}

// Pretraining: next-token prediction over packed shards (left-to-right and FIM samples alike), AdamW
// with warmup + cosine, clipping, gradient accumulation, and the two-phase context curriculum: the
// first (1 - longShare) of steps at the short context, the rest at the long one with the RoPE base
// raised. Checkpoints hold everything needed to continue bit-for-bit after a kill.
import { copyFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { DataLoader, type LoaderState } from '../data/loader.js';
import { readIndex } from '../data/shards.js';
import { latestCheckpoint, loadCheckpoint } from '../model/checkpoint.js';
import { trainFlopsPerToken, parameterCount } from '../model/config.js';
import { Transformer } from '../model/transformer.js';
import { native } from '../native/index.js';
import { AdamW, F, backward, noGrad, tidy } from '../tensor/index.js';
import { Progress } from '../util/progress.js';
import { readConfigFile } from '../util/schema.js';
import { parsePretrainConfig, type PretrainConfig } from './config.js';
import { changedFields, checkResumable, openRun, writeLossPlot } from './run.js';
import { assertFinite, optimizerStep, scheduledLr } from './step.js';

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

/** Reads and validates a config file, JSON or YAML (paths resolved against its folder). */
export function loadPretrainConfig(file: string): { cfg: PretrainConfig; baseDir: string } {
  const raw = readConfigFile(file) as Record<string, unknown>;
  const baseDir = path.dirname(path.resolve(file));
  const data = raw && typeof raw.data === 'string' ? path.resolve(baseDir, raw.data) : undefined;
  const vocab = data && existsSync(path.join(data, 'index.json')) ? readIndex(data).vocabSize : undefined;
  return { cfg: parsePretrainConfig(raw, file, vocab), baseDir };
}

export async function pretrain(cfgIn: PretrainConfig, opts: PretrainOptions = {}): Promise<PretrainResult> {
  const base = opts.baseDir ?? process.cwd();
  const cfg: PretrainConfig = { ...cfgIn, runDir: path.resolve(base, cfgIn.runDir), data: path.resolve(base, cfgIn.data), tokenizer: cfgIn.tokenizer && path.resolve(base, cfgIn.tokenizer) };
  const phases = planPhases(cfg, cfg.data);
  const run = openRun(cfg.runDir, { resume: !!opts.resume });
  try {
    return await trainLoop(cfg, phases, run, opts);
  } finally {
    run.close();
  }
}

/** `run(config)`: the stage's entry point under the name every stage exports. */
export const run = pretrain;

async function trainLoop(cfg: PretrainConfig, phases: Phases, run: ReturnType<typeof openRun>, opts: PretrainOptions): Promise<PretrainResult> {
  const log = (s: string) => { if (!opts.quiet) process.stderr.write(s + '\n'); };
  let model: Transformer;
  let opt: AdamW;
  let step = 0, tokensSeen = 0;
  const loaderStates: Record<string, LoaderState | undefined> = {};
  const ck = opts.resume ? latestCheckpoint(cfg.runDir) : null;
  if (opts.resume && !ck) throw new Error(`--resume: ${cfg.runDir} has no checkpoint to resume from`);
  const adamw = (m: Transformer) => new AdamW(m.parameters(), { beta1: cfg.beta1, beta2: cfg.beta2, weightDecay: cfg.weightDecay });
  if (ck) {
    const c = loadCheckpoint(ck);
    checkResumable(ck, c, cfg.model);
    const changed = changedFields(c.trainConfig as Record<string, unknown>, cfg as unknown as Record<string, unknown>);
    if (changed.length) log(`resume: settings changed since ${ck}: ${changed.join('; ')}`);
    model = c.model;
    opt = adamw(model);
    opt.loadState(c.optimizer!);
    step = c.state.step;
    tokensSeen = c.state.tokensSeen;
    Object.assign(loaderStates, (c.state.loader ?? {}) as Record<string, LoaderState>);
    // Metrics logged after the checkpoint belong to the lost tail of the killed run.
    run.truncateMetrics(step);
  } else {
    // The model gets its own copy of the config: the long phase raises its RoPE base, the record must not change.
    model = new Transformer({ ...cfg.model }, cfg.seed);
    opt = adamw(model);
  }
  model.computeDtype = cfg.computeDtype;
  run.recordConfig(cfg);
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
  const peak = native.peakFlops(cfg.computeDtype, native.numThreads(), 100) * 1e9;
  const longStart = cfg.steps - phases.longSteps;
  const progress = new Progress('pretrain', cfg.steps, !opts.quiet);
  const pc = parameterCount(model.config);
  log(`model: ${(pc.total / 1e6).toFixed(2)}M parameters (${(pc.embedding / 1e6).toFixed(2)}M embedding); ${cfg.steps} steps, ${tokensPerStep} tokens/step, long phase from step ${longStart}, ${cfg.computeDtype}`);
  const metrics: StepMetrics[] = [];
  const t0 = Date.now();
  let lastSaved = ck ?? '';
  try {
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
      assertFinite('the loss', lossSum, step + 1, lastSaved);
      const lr = scheduledLr(cfg, step, cfg.steps);
      const gradNorm = optimizerStep(opt, { clip: cfg.clip, lr, step: step + 1, lastGood: lastSaved });
      step++;
      tokensSeen += B * T * cfg.gradAccum;
      const dt = (Date.now() - stepStart) / 1000;
      const tps = (B * T * cfg.gradAccum) / Math.max(dt, 1e-9);
      const m: StepMetrics = {
        step, phase: ph.name, seq_len: T, loss: lossSum / cfg.gradAccum, lr, grad_norm: gradNorm, tokens: tokensSeen,
        tokens_per_s: Math.round(tps), mfu: peak > 0 ? (tps * trainFlopsPerToken(model.config, T)) / peak : 0, elapsed_s: (Date.now() - t0) / 1000,
      };
      if (cfg.evalEvery > 0 && cfg.heldoutRecords > 0 && (step % cfg.evalEvery === 0 || step === cfg.steps)) {
        m.eval_loss = heldoutLoss(model, cfg, phases);
        assertFinite('the held-out loss', m.eval_loss, step, lastSaved);
      }
      metrics.push(m);
      run.appendMetrics(m);
      opts.onStep?.(m);
      if (step % cfg.logEvery === 0 || step === cfg.steps || m.eval_loss !== undefined) {
        progress.update(step, { loss: m.loss, ...(m.eval_loss !== undefined ? { eval: m.eval_loss } : {}), 'tok/s': m.tokens_per_s, MFU: `${(m.mfu * 100).toFixed(1)}%`, ctx: T });
      }
      if ((cfg.saveEvery > 0 && step % cfg.saveEvery === 0) || step === cfg.steps) {
        const state = { step, tokensSeen, loader: Object.fromEntries([...Object.entries(loaderStates), ...[...loaders].map(([k, l]) => [k, l.state()])]) };
        lastSaved = run.saveCheckpoint({ model, optimizer: opt.state(), state, trainConfig: cfg }, cfg.keepCheckpoints);
      }
    }
  } finally {
    progress.done();
    for (const l of loaders.values()) l.close();
  }
  writeLossPlot(run, 'hcx pretraining loss');
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

// Reward model training (`hcx rm`): the SFT model with a fresh score head (src/model/score_head.ts) trained,
// one epoch by default, on preference pairs with the Bradley-Terry loss -log sigmoid(r_c - r_r - margin).
// Each step takes batchSize pairs per micro-batch (chosen and rejected rows side by side, right-padded),
// gradAccum micro-batches, in a seeded order per epoch. Held-out pair accuracy and margin are measured as
// it goes. At the end it samples replies from the SFT policy (the untouched --from weights) to held-out
// prompts and stores the mean and std of their rewards (reward_stats.json), which PPO normalises by.
// Checkpoints resume exactly after a kill.
import { existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { loadPreferenceData, pairBatch, type PrefData, type TokenizedPair } from '../data/prefs/dataset.js';
import { shuffled } from '../data/chat/dataset.js';
import { fmix32 } from '../data/hashing.js';
import { latestCheckpoint, loadCheckpoint, readCheckpointFile, resolveCheckpoint } from '../model/checkpoint.js';
import { generate } from '../model/generate.js';
import { initScoreModel, openScoreModel, type ScoreModel } from '../model/score_head.js';
import { AdamW, backward, noGrad, tidy, F } from '../tensor/index.js';
import { padId, trainingTemplate, type ChatTemplate } from '../data/chat/template.js';
import { saveRunTokenizer } from './run_tokenizer.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { Progress } from '../util/progress.js';
import type { RmConfig } from './pref_config.js';
import { bradleyTerryLoss } from './preference_losses.js';
import { changedFields, checkResumable, openRun, writeLossPlot, type Run } from './run.js';
import { openForTraining, openModel, type OpenedModel } from '../model/load.js';
import { assertFinite, optimizerStep, scheduledLr } from './step.js';

export interface RmMetrics {
  step: number; epoch: number; loss: number; lr: number; grad_norm: number;
  /** Share of this step's pairs scored chosen > rejected, and their mean r_c - r_r. */
  accuracy: number; margin: number;
  pairs: number; tokens_per_s: number; elapsed_s: number;
  eval_loss?: number; eval_accuracy?: number; eval_margin?: number;
}

/** Rewards of the SFT policy's own replies: what PPO normalises the RM score by. */
export interface RewardStats { mean: number; std: number; samples: number; maxNewTokens: number; temperature: number; policy: string }

export interface RmOptions { resume?: boolean; quiet?: boolean; onStep?: (m: RmMetrics) => void }

export interface RmResult {
  runDir: string; finalCheckpoint: string; metrics: RmMetrics[];
  heldout: { loss: number; accuracy: number; margin: number; pairs: number };
  rewardStats: RewardStats | null;
  scoreModel: ScoreModel;
}

export const REWARD_STATS = 'reward_stats.json';

/** The reward mean/std stored with a reward model (checkpoint or run directory). */
export function readRewardStats(dir: string): RewardStats {
  const ck = resolveCheckpoint(dir);
  if (!existsSync(path.join(ck, REWARD_STATS))) throw new Error(`${ck}: no ${REWARD_STATS} (trained with normSamples 0?)`);
  return JSON.parse(readCheckpointFile(ck, REWARD_STATS).toString('utf8')) as RewardStats;
}

function prefFingerprint(d: PrefData, margin: number): string {
  const h = createHash('sha256');
  h.update(`margin ${margin}`);
  for (const part of [d.train, d.heldout]) {
    h.update(`|${part.length}|`);
    for (const p of part) for (const s of [p.chosen, p.rejected]) { h.update(`${s.start}:`); h.update(new Uint8Array(s.ids.buffer, s.ids.byteOffset, s.ids.byteLength)); }
  }
  return h.digest('hex');
}

/** The pairs of stream position k.. (epoch after epoch, each in its own seeded order). */
export function pairsAt(pairs: readonly TokenizedPair[], seed: number, k: number, n: number): { epoch: number; pairs: TokenizedPair[] } {
  const out: TokenizedPair[] = [];
  let epoch = -1, perm: Uint32Array | null = null, first = -1;
  for (let i = k; i < k + n; i++) {
    const e = Math.floor(i / pairs.length);
    if (e !== epoch) { epoch = e; perm = shuffled(pairs.length, fmix32((seed ^ Math.imul(e + 1, 0x9e3779b1)) >>> 0)); }
    if (first < 0) first = e;
    out.push(pairs[perm![i % pairs.length]]);
  }
  return { epoch: first, pairs: out };
}

/** Held-out Bradley-Terry loss, pair accuracy (r_c > r_r) and mean margin over the first `n` pairs. */
export function evaluatePairs(sm: ScoreModel, pairs: readonly TokenizedPair[], B: number, pad: number, margin = 0): { loss: number; accuracy: number; margin: number; pairs: number } {
  let loss = 0, right = 0, sumMargin = 0;
  for (let k = 0; k < pairs.length; k += B) {
    const chunk = pairs.slice(k, k + B);
    const b = pairBatch(chunk, pad);
    tidy(() => noGrad(() => {
      const s = sm.score(b.ids, b.B, b.T, { ends: b.ends });
      const r = bradleyTerryLoss(s, margins(chunk, margin), 1);
      loss += r.loss.item();
      for (const m of r.margins) { right += +(m > 0); sumMargin += m; }
    }));
  }
  F.dropPackedWeights(sm.model.parameters());
  const n = pairs.length;
  return { loss: n ? loss / n : 0, accuracy: n ? right / n : 0, margin: n ? sumMargin / n : 0, pairs: n };
}

function margins(pairs: readonly TokenizedPair[], margin: number): Float32Array | null {
  if (margin === 0 && pairs.every((p) => p.margin === undefined)) return null;
  return Float32Array.from(pairs, (p) => p.margin ?? margin);
}

export async function rm(cfg: RmConfig, opts: RmOptions = {}): Promise<RmResult> {
  const log = (s: string) => { if (!opts.quiet) process.stderr.write(s + '\n'); };
  const src = openForTraining(cfg.from, { tokenizer: cfg.tokenizer, flag: '--from' });
  const template = trainingTemplate(src.tokenizer);
  const data = await loadPreferenceData({ files: cfg.data, format: cfg.format, template, seqLen: cfg.seqLen, heldout: cfg.heldout, seed: cfg.seed, onBadLine: cfg.onBadLine, limit: cfg.limit, log });
  const run = openRun(cfg.runDir, { resume: !!opts.resume });
  try {
    return await trainLoop(cfg, src, template, data, run, opts, log);
  } finally {
    run.close();
  }
}

/** `run(config)`: the stage's entry point under the name every stage exports. */
export const run = rm;

async function trainLoop(cfg: RmConfig, src: OpenedModel, template: ChatTemplate, data: PrefData, run: Run, opts: RmOptions, log: (s: string) => void): Promise<RmResult> {
  const model = src.model;
  model.computeDtype = cfg.computeDtype;
  const sm = initScoreModel(model, cfg.seed);
  // The LM head is not used by a score model: it stays in the checkpoint, untrained.
  const lmHead = model.config.tieEmbeddings ? null : model.params.get('lm_head.weight');
  const trainable = sm.parameters().filter((p) => p !== lmHead);
  const opt = new AdamW(trainable, { beta1: cfg.beta1, beta2: cfg.beta2, weightDecay: cfg.weightDecay });
  const record: RmConfig = { ...cfg, model: { ...model.config } };
  const fingerprint = { source: src.source.fingerprint ?? 'unrecorded', data: prefFingerprint(data, cfg.margin) };
  let step = 0, pairsSeen = 0;
  const ck = opts.resume ? latestCheckpoint(cfg.runDir) : null;
  if (opts.resume && !ck) throw new Error(`--resume: ${cfg.runDir} has no checkpoint to resume from`);
  if (ck) {
    const c = loadCheckpoint(ck);
    checkResumable(ck, c, model.config);
    const was = c.state.fingerprint as typeof fingerprint | undefined;
    if (was?.source !== fingerprint.source) throw new Error(`--resume: --from ${cfg.from} is not the model ${ck} started from (weights sha256 ${fingerprint.source.slice(0, 12)}..., recorded ${String(was?.source).slice(0, 12)}...)`);
    if (was?.data !== fingerprint.data) throw new Error(`--resume: the preference data differs from what ${ck} was trained on (files, their contents, seqLen, margin or held-out split changed)`);
    const changed = changedFields(c.trainConfig as Record<string, unknown>, record as unknown as Record<string, unknown>);
    if (changed.length) log(`resume: settings changed since ${ck}: ${changed.join('; ')}`);
    const saved = openScoreModel(ck);
    for (const [name, t] of model.params) t.data.set(saved.model.param(name).data);
    sm.weight.data.set(saved.weight.data);
    sm.bias.data.set(saved.bias.data);
    opt.loadState(c.optimizer!);
    step = c.state.step;
    pairsSeen = c.state.pairsSeen as number;
    run.truncateMetrics(step);
  }
  run.recordConfig(record);
  saveRunTokenizer(cfg.runDir, src, !!ck);

  const B = cfg.batchSize, A = cfg.gradAccum;
  const totalSteps = cfg.steps ?? Math.max(1, Math.ceil((cfg.epochs * data.train.length) / (B * A)));
  writeJsonAtomic(path.join(cfg.runDir, 'data.json'), { ...data.stats, train: data.train.length, heldout: data.heldout.length, steps: totalSteps });
  log(`reward model: ${(model.numParameters / 1e6).toFixed(2)}M parameters from ${src.source.checkpoint ?? src.source.path} + score head; ${cfg.computeDtype}`);
  log(`data: ${data.stats.pairs} pairs (${data.train.length} train, ${data.heldout.length} held out), ${data.stats.droppedLong} over ${cfg.seqLen} tokens dropped, ${data.stats.badRecords} bad; ${totalSteps} steps of ${B} x ${A} pairs`);

  const pad = padId(src.tokenizer);
  const held = data.heldout.slice(0, cfg.evalBatches * B);
  const progress = new Progress('rm', totalSteps, !opts.quiet);
  const metrics: RmMetrics[] = [];
  const t0 = Date.now();
  let lastSaved = ck ?? '';
  let rewardStats: RewardStats | null = null;
  try {
    while (step < totalSteps) {
      const stepStart = Date.now();
      const { epoch, pairs } = pairsAt(data.train, cfg.seed, step * A * B, A * B);
      let loss = 0, right = 0, sumMargin = 0, tokens = 0;
      for (let i = 0; i < A; i++) {
        const chunk = pairs.slice(i * B, (i + 1) * B);
        const b = pairBatch(chunk, pad);
        loss += tidy(() => {
          const r = bradleyTerryLoss(sm.score(b.ids, b.B, b.T, { ends: b.ends }), margins(chunk, cfg.margin), pairs.length);
          backward(r.loss);
          for (const m of r.margins) { right += +(m > 0); sumMargin += m; }
          return r.loss.item();
        });
        tokens += b.tokens;
      }
      assertFinite('the loss', loss, step + 1, lastSaved);
      const lr = scheduledLr(cfg, step, totalSteps);
      const gradNorm = optimizerStep(opt, { clip: cfg.clip, lr, step: step + 1, lastGood: lastSaved });
      step++;
      pairsSeen += pairs.length;
      const dt = Math.max((Date.now() - stepStart) / 1000, 1e-9);
      const m: RmMetrics = {
        step, epoch: epoch + 1, loss, lr, grad_norm: gradNorm, accuracy: right / pairs.length, margin: sumMargin / pairs.length,
        pairs: pairsSeen, tokens_per_s: Math.round(tokens / dt), elapsed_s: (Date.now() - t0) / 1000,
      };
      if (cfg.evalEvery > 0 && held.length && (step % cfg.evalEvery === 0 || step === totalSteps)) {
        const e = evaluatePairs(sm, held, B, pad, cfg.margin);
        assertFinite('the held-out loss', e.loss, step, lastSaved);
        Object.assign(m, { eval_loss: e.loss, eval_accuracy: e.accuracy, eval_margin: e.margin });
      }
      metrics.push(m);
      run.appendMetrics(m);
      opts.onStep?.(m);
      if (step % cfg.logEvery === 0 || step === totalSteps || m.eval_loss !== undefined) {
        progress.update(step, { loss: m.loss, acc: m.accuracy, ...(m.eval_accuracy !== undefined ? { eval_acc: m.eval_accuracy } : {}), 'tok/s': m.tokens_per_s });
      }
      const last = step === totalSteps;
      if (last && cfg.normSamples > 0) rewardStats = policyRewardStats(sm, cfg, data, template, log);
      if ((cfg.saveEvery > 0 && step % cfg.saveEvery === 0) || last) {
        lastSaved = run.saveCheckpoint({
          ...sm.checkpointParts(), optimizer: opt.state(), state: { step, tokensSeen: 0, pairsSeen, fingerprint }, trainConfig: record,
          ...(last && rewardStats ? { extraFiles: { [REWARD_STATS]: JSON.stringify(rewardStats, null, 2) + '\n' } } : {}),
        }, cfg.keepCheckpoints);
      }
    }
  } finally {
    progress.done();
  }
  if (!rewardStats && lastSaved && existsSync(path.join(lastSaved, REWARD_STATS))) rewardStats = JSON.parse(readFileSync(path.join(lastSaved, REWARD_STATS), 'utf8')) as RewardStats;
  const final = data.heldout.length ? evaluatePairs(sm, data.heldout, B, pad, cfg.margin) : { loss: 0, accuracy: 0, margin: 0, pairs: 0 };
  writeJsonAtomic(path.join(cfg.runDir, 'heldout.json'), { ...final, rewardStats });
  writeLossPlot(run, 'hcx reward model loss', 'step');
  return { runDir: cfg.runDir, finalCheckpoint: lastSaved, metrics, heldout: final, rewardStats, scoreModel: sm };
}

/**
 * Replies of the SFT policy (the --from weights, loaded afresh: the backbone under training has moved) to
 * held-out prompts (then training prompts), one per prompt, scored by the reward model: their mean and std.
 */
function policyRewardStats(sm: ScoreModel, cfg: RmConfig, data: PrefData, template: ChatTemplate, log: (s: string) => void): RewardStats {
  const policy = openModel(cfg.from, { tokenizer: cfg.tokenizer });
  const prompts: number[][] = [];
  const seen = new Set<string>();
  for (const p of [...data.heldout, ...data.train]) {
    if (prompts.length >= cfg.normSamples) break;
    const ids = [...p.prompt];
    const key = ids.join(',');
    if (seen.has(key) || ids.length >= policy.model.config.maxSeqLen) continue;
    seen.add(key);
    prompts.push(ids);
  }
  const rewards: number[] = [];
  for (const [i, prompt] of prompts.entries()) {
    const g = generate(policy.model, prompt, { maxNewTokens: cfg.normMaxNewTokens, temperature: cfg.normTemperature, stopTokens: template.stopTokens, seed: cfg.seed * 7919 + i });
    const ids = [...prompt, ...g.ids, ...(g.stopToken !== undefined ? [g.stopToken] : [])].slice(0, sm.model.config.maxSeqLen);
    rewards.push(sm.infer(Int32Array.from(ids), 1, ids.length)[0]);
  }
  const n = rewards.length;
  const mean = n ? rewards.reduce((a, b) => a + b, 0) / n : 0;
  const std = n ? Math.sqrt(rewards.reduce((a, b) => a + (b - mean) ** 2, 0) / n) : 0;
  log(`reward on ${n} SFT-policy replies: mean ${mean.toFixed(4)}, std ${std.toFixed(4)} (stored in ${REWARD_STATS} for PPO)`);
  return { mean, std, samples: n, maxNewTokens: cfg.normMaxNewTokens, temperature: cfg.normTemperature, policy: policy.source.fingerprint ?? 'unrecorded' };
}


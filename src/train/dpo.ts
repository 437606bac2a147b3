// Direct preference optimisation (`hcx dpo`): the SFT policy trained on preference pairs with the sigmoid
// DPO loss -log sigmoid(beta ((log pi_c - log ref_c) - (log pi_r - log ref_r))), log pi a completion's
// summed token log-probs (assistant tokens only: the pair's reply and its turn end). The reference
// (default: the --from model itself) is run once over every pair before training and its log-probs stored
// in the run folder keyed by its weights hash (src/train/dpo_reference.ts), so only the policy is in memory;
// reference 'live' keeps a second model and scores each batch instead (the check that both agree).
// Batches, order, held-out split, checkpoints and resume are the reward model's (src/train/reward.ts);
// full fine-tuning or LoRA as in SFT. Metrics use TRL's names (rewards/chosen, rewards/margins, ...).
import { createHash } from 'node:crypto';
import path from 'node:path';
import { loadPreferenceData, packedPairBatch, type PrefData, type TokenizedPair } from '../data/prefs/dataset.js';
import { latestCheckpoint, loadCheckpoint, readCheckpointFile } from '../model/checkpoint.js';
import { Lora } from '../model/lora.js';
import { describeModel, openForTraining, openModel, type OpenedModel } from '../model/load.js';
import type { Transformer } from '../model/transformer.js';
import { AdamW, backward, F, noGrad, tidy } from '../tensor/index.js';
import type { TextTokenizer } from '../tokenizer/index.js';
import { trainingTemplate } from '../data/chat/template.js';
import { saveRunTokenizer } from './run_tokenizer.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { Progress } from '../util/progress.js';
import { pairLogProbs, referenceLogps, weightsHash } from './dpo_reference.js';
import { lineChartSvg } from './plot.js';
import { DPO_SCHEMA, parsePrefConfig, type DpoConfig } from './pref_config.js';
import { dpoSigmoidLoss, packedSequenceLogProbs } from './preference_losses.js';
import { pairsAt } from './reward.js';
import { changedFields, checkResumable, openRun, writeLossPlot, type Run } from './run.js';
import { assertFinite, optimizerStep, scheduledLr } from './step.js';

export interface DpoMetrics {
  step: number; epoch: number; loss: number; lr: number; grad_norm: number;
  'rewards/chosen': number; 'rewards/rejected': number; 'rewards/accuracies': number; 'rewards/margins': number;
  'logps/chosen': number; 'logps/rejected': number;
  /** Cumulative pairs and non-padding tokens. */
  pairs: number; tokens: number; tokens_per_s: number; elapsed_s: number;
  eval_loss?: number; eval_accuracy?: number; 'eval_rewards/margins'?: number;
}

export interface DpoOptions { resume?: boolean; quiet?: boolean; onStep?: (m: DpoMetrics) => void }

export interface PairEval { loss: number; accuracy: number; margin: number; pairs: number }

export interface DpoResult {
  runDir: string; finalCheckpoint: string; metrics: DpoMetrics[];
  heldout: PairEval;
  reference: { hash: string; file: string | null; reused: boolean };
  model: Transformer; lora?: Lora; tokenizer: TextTokenizer;
}

function prefFingerprint(d: PrefData, beta: number): string {
  const h = createHash('sha256');
  h.update(`dpo beta ${beta}`);
  for (const part of [d.train, d.heldout]) {
    h.update(`|${part.length}|`);
    for (const p of part) for (const s of [p.chosen, p.rejected]) { h.update(`${s.start}:`); h.update(new Uint8Array(s.ids.buffer, s.ids.byteOffset, s.ids.byteLength)); }
  }
  return h.digest('hex');
}

/** Sums of one batch's DPO statistics, for the step's means. */
interface Tally { loss: number; right: number; chosen: number; rejected: number; logpC: number; logpR: number }
const tally = (): Tally => ({ loss: 0, right: 0, chosen: 0, rejected: 0, logpC: 0, logpR: 0 });

/** One micro-batch: the loss (divided by `normalizer` pairs) with its statistics added to `t`; backward when training. */
function pairStep(model: Transformer, chunk: readonly TokenizedPair[], ref: Float32Array, beta: number, normalizer: number, t: Tally, train: boolean): number {
  const b = packedPairBatch(chunk);
  return tidy(() => {
    const logp = packedSequenceLogProbs(model.forward(b.ids, 1, b.T, { positions: b.positions, segmentIds: b.segmentIds }), b.targets, b.segmentIds, b.sides);
    const r = dpoSigmoidLoss(logp, ref, beta, normalizer);
    if (train) backward(r.loss);
    r.chosenRewards.forEach((c, i) => {
      const rj = r.rejectedRewards[i];
      t.right += +(c > rj); t.chosen += c; t.rejected += rj;
      t.logpC += logp.data[2 * i]; t.logpR += logp.data[2 * i + 1];
    });
    const l = r.loss.item();
    t.loss += l;
    return b.tokens;
  });
}

/** Held-out DPO loss, pair accuracy (chosen reward > rejected reward) and mean reward margin. */
export function evaluateDpo(model: Transformer, lora: Lora | undefined, pairs: readonly TokenizedPair[], refOf: (p: TokenizedPair) => [number, number], beta: number, B: number): PairEval {
  if (lora) lora.training = false;
  const t = tally();
  try {
    noGrad(() => {
      for (let k = 0; k < pairs.length; k += B) {
        const chunk = pairs.slice(k, k + B);
        pairStep(model, chunk, Float32Array.from(chunk.flatMap(refOf)), beta, pairs.length, t, false);
      }
    });
  } finally {
    if (lora) lora.training = true;
  }
  F.dropPackedWeights(model.parameters());
  const n = pairs.length;
  return { loss: t.loss, accuracy: n ? t.right / n : 0, margin: n ? (t.chosen - t.rejected) / n : 0, pairs: n };
}

export async function dpo(cfg: DpoConfig, opts: DpoOptions = {}): Promise<DpoResult> {
  const log = (s: string) => { if (!opts.quiet) process.stderr.write(s + '\n'); };
  const src = openForTraining(cfg.from, { tokenizer: cfg.tokenizer, flag: '--from' });
  const tok = src.tokenizer;
  if (tok.vocabSize > src.model.config.vocabSize) throw new Error(`tokenizer ${src.tokenizerPath} has ${tok.vocabSize} tokens, the model ${src.model.config.vocabSize}`);
  const data = await loadPreferenceData({ files: cfg.data, format: cfg.format, template: trainingTemplate(tok), seqLen: cfg.seqLen, heldout: cfg.heldout, seed: cfg.seed, onBadLine: cfg.onBadLine, limit: cfg.limit, log });
  const run = openRun(cfg.runDir, { resume: !!opts.resume });
  try {
    return await trainLoop(cfg, src, tok, data, run, opts, log);
  } finally {
    run.close();
  }
}

/**
 * `run(config)`, the entry point every stage exports (the pipeline's dpo stage calls it with the plan's
 * settings, runDir and, on a retried attempt, resume): validates the settings, then trains.
 */
export async function run(config: Record<string, unknown>): Promise<DpoResult> {
  const { resume, quiet, ...rest } = config;
  if (typeof rest.from !== 'string') throw new Error('dpo: field "from" (the SFT model) is required');
  const cfg = parsePrefConfig<DpoConfig>(rest, DPO_SCHEMA, 'dpo', describeModel(rest.from).config);
  return dpo(cfg, { resume: resume === true, quiet: quiet !== false });
}

async function trainLoop(cfg: DpoConfig, src: OpenedModel, tok: TextTokenizer, data: PrefData, run: Run, opts: DpoOptions, log: (s: string) => void): Promise<DpoResult> {
  const model = src.model;
  model.computeDtype = cfg.computeDtype;
  const B = cfg.batchSize, A = cfg.gradAccum;
  const refSpec = cfg.ref ?? cfg.from;
  const refSource = cfg.ref ? describeModel(cfg.ref).source : src.source;
  const refHash = weightsHash(refSource);
  const dataFp = prefFingerprint(data, cfg.beta);
  const openRef = (): Transformer => {
    const m = openModel(refSpec, { tokenizer: cfg.tokenizer }).model;
    if (m.config.vocabSize !== model.config.vocabSize) throw new Error(`dpo: reference ${refSpec} has vocabulary ${m.config.vocabSize}, the policy ${model.config.vocabSize}`);
    m.computeDtype = cfg.computeDtype;
    return m;
  };

  const lora = cfg.lora ? new Lora(model, cfg.lora, cfg.seed) : undefined;
  const opt = new AdamW(lora ? lora.parameters() : model.parameters(), { beta1: cfg.beta1, beta2: cfg.beta2, weightDecay: cfg.weightDecay });
  const record: DpoConfig = { ...cfg, model: { ...model.config } };
  const fingerprint = { source: src.source.fingerprint ?? 'unrecorded', data: dataFp, reference: refHash };
  let step = 0, pairsSeen = 0, tokensSeen = 0;
  const ck = opts.resume ? latestCheckpoint(cfg.runDir) : null;
  if (opts.resume && !ck) throw new Error(`--resume: ${cfg.runDir} has no checkpoint to resume from`);
  if (ck) {
    const c = loadCheckpoint(ck);
    checkResumable(ck, c, model.config);
    const before = c.trainConfig as Record<string, unknown>;
    if (JSON.stringify(before.lora) !== JSON.stringify(record.lora)) throw new Error(`--resume: ${ck} was trained with lora ${JSON.stringify(before.lora)}, the config now says ${JSON.stringify(record.lora)}`);
    const was = c.state.fingerprint as typeof fingerprint | undefined;
    if (was?.source !== fingerprint.source) throw new Error(`--resume: --from ${cfg.from} is not the model ${ck} started from (weights sha256 ${fingerprint.source.slice(0, 12)}..., recorded ${String(was?.source).slice(0, 12)}...)`);
    if (was?.data !== fingerprint.data) throw new Error(`--resume: the preference data differs from what ${ck} was trained on (files, their contents, seqLen, beta or held-out split changed)`);
    if (was?.reference !== fingerprint.reference) throw new Error(`--resume: the reference ${refSpec} (weights sha256 ${refHash.slice(0, 12)}...) is not the one ${ck} was trained against (${String(was?.reference).slice(0, 12)}...)`);
    const changed = changedFields(before, record as unknown as Record<string, unknown>);
    if (changed.length) log(`resume: settings changed since ${ck}: ${changed.join('; ')}`);
    if (lora) {
      lora.load(readCheckpointFile(ck, 'adapter_model.safetensors'), path.join(ck, 'adapter_model.safetensors'));
      lora.rng.setState(c.state.rng as number[]);
    } else {
      for (const [name, t] of model.params) t.data.set(c.model.param(name).data);
    }
    opt.loadState(c.optimizer!);
    step = c.state.step;
    pairsSeen = c.state.pairsSeen as number;
    tokensSeen = c.state.tokensSeen;
    run.truncateMetrics(step);
  }
  // The reference's log-probs (after the resume checks, so a refused resume computes nothing); the policy
  // itself is the reference when ref is --from and no weights have moved yet.
  const all = [...data.train, ...data.heldout];
  let refOf: (p: TokenizedPair) => [number, number];
  let reference: DpoResult['reference'];
  let liveRef: Transformer | null = null;
  if (cfg.reference === 'precomputed') {
    const r = referenceLogps({
      dir: cfg.referenceCache ?? path.join(cfg.runDir, 'reference'), hash: refHash, reference: refSpec, dataFingerprint: dataFp,
      computeDtype: cfg.computeDtype, pairs: all, B, open: () => (cfg.ref || ck || lora ? openRef() : model), log,
    });
    refOf = (p) => r.of(p);
    reference = { hash: refHash, file: r.file, reused: r.reused };
  } else {
    const m = liveRef = openRef();
    refOf = (p) => { const v = pairLogProbs(m, [p], 1); return [v[0], v[1]]; };
    reference = { hash: refHash, file: null, reused: false };
  }
  const refBatch = (chunk: readonly TokenizedPair[]): Float32Array =>
    liveRef ? pairLogProbs(liveRef, chunk, chunk.length) : Float32Array.from(chunk.flatMap(refOf));

  run.recordConfig(record);
  saveRunTokenizer(cfg.runDir, src, !!ck);

  const totalSteps = cfg.steps ?? Math.max(1, Math.ceil((cfg.epochs * data.train.length) / (B * A)));
  writeJsonAtomic(path.join(cfg.runDir, 'data.json'), { ...data.stats, train: data.train.length, heldout: data.heldout.length, steps: totalSteps });
  log(`dpo: ${(model.numParameters / 1e6).toFixed(2)}M parameters from ${src.source.checkpoint ?? src.source.path}${lora ? `; LoRA rank ${cfg.lora!.rank}: ${(lora.numParameters / 1e6).toFixed(3)}M trained` : ''}; beta ${cfg.beta}; reference ${refSpec} (${cfg.reference}); ${cfg.computeDtype}`);
  log(`data: ${data.stats.pairs} pairs (${data.train.length} train, ${data.heldout.length} held out), ${data.stats.droppedLong} over ${cfg.seqLen} tokens dropped, ${data.stats.badRecords} bad; ${totalSteps} steps of ${B} x ${A} pairs`);

  const held = data.heldout.slice(0, cfg.evalBatches * B);
  const progress = new Progress('dpo', totalSteps, !opts.quiet);
  const metrics: DpoMetrics[] = [];
  const t0 = Date.now();
  let lastSaved = ck ?? '';
  try {
    while (step < totalSteps) {
      const stepStart = Date.now();
      const { epoch, pairs } = pairsAt(data.train, cfg.seed, step * A * B, A * B);
      const t = tally();
      let tokens = 0;
      for (let i = 0; i < A; i++) {
        const chunk = pairs.slice(i * B, (i + 1) * B);
        tokens += pairStep(model, chunk, refBatch(chunk), cfg.beta, pairs.length, t, true);
      }
      assertFinite('the loss', t.loss, step + 1, lastSaved);
      const lr = scheduledLr(cfg, step, totalSteps);
      const gradNorm = optimizerStep(opt, { clip: cfg.clip, lr, step: step + 1, lastGood: lastSaved });
      step++;
      pairsSeen += pairs.length;
      tokensSeen += tokens;
      const n = pairs.length, dt = Math.max((Date.now() - stepStart) / 1000, 1e-9);
      const m: DpoMetrics = {
        step, epoch: epoch + 1, loss: t.loss, lr, grad_norm: gradNorm,
        'rewards/chosen': t.chosen / n, 'rewards/rejected': t.rejected / n, 'rewards/accuracies': t.right / n, 'rewards/margins': (t.chosen - t.rejected) / n,
        'logps/chosen': t.logpC / n, 'logps/rejected': t.logpR / n,
        pairs: pairsSeen, tokens: tokensSeen, tokens_per_s: Math.round(tokens / dt), elapsed_s: (Date.now() - t0) / 1000,
      };
      if (cfg.evalEvery > 0 && held.length && (step % cfg.evalEvery === 0 || step === totalSteps)) {
        const e = evaluateDpo(model, lora, held, refOf, cfg.beta, B);
        assertFinite('the held-out loss', e.loss, step, lastSaved);
        Object.assign(m, { eval_loss: e.loss, eval_accuracy: e.accuracy, 'eval_rewards/margins': e.margin });
      }
      metrics.push(m);
      run.appendMetrics(m);
      opts.onStep?.(m);
      if (step % cfg.logEvery === 0 || step === totalSteps || m.eval_loss !== undefined) {
        progress.update(step, { loss: m.loss, acc: m['rewards/accuracies'], margin: m['rewards/margins'], ...(m.eval_accuracy !== undefined ? { eval_acc: m.eval_accuracy } : {}), 'tok/s': m.tokens_per_s });
      }
      if ((cfg.saveEvery > 0 && step % cfg.saveEvery === 0) || step === totalSteps) {
        const state = { step, tokensSeen, pairsSeen, fingerprint, ...(lora ? { rng: lora.rng.getState() } : {}) };
        lastSaved = run.saveCheckpoint({
          model, optimizer: opt.state(), state, trainConfig: record,
          ...(lora ? { weights: lora.mergedTensors(), extraFiles: lora.files(src.source.checkpoint ?? src.source.path) } : {}),
        }, cfg.keepCheckpoints);
      }
    }
  } finally {
    progress.done();
  }
  const final = data.heldout.length ? evaluateDpo(model, lora, data.heldout, refOf, cfg.beta, B) : { loss: 0, accuracy: 0, margin: 0, pairs: 0 };
  writeJsonAtomic(path.join(cfg.runDir, 'heldout.json'), { ...final, reference });
  writeLossPlot(run, 'hcx DPO loss', 'step');
  writeRewardsPlot(run);
  return { runDir: cfg.runDir, finalCheckpoint: lastSaved, metrics, heldout: final, reference, model, lora, tokenizer: tok };
}

/** rewards.svg: the chosen and rejected rewards, their margin and the held-out margin against step. */
function writeRewardsPlot(run: Run): void {
  const rows = run.readMetrics<Record<string, number>>();
  const series = (key: string, name = key) => ({ name, points: rows.filter((r) => r[key] !== undefined).map((r) => [r.step, r[key]] as [number, number]) });
  writeFileAtomic(path.join(run.dir, 'rewards.svg'), lineChartSvg('hcx DPO rewards', 'step', 'beta * log-ratio', [
    series('rewards/chosen', 'chosen'), series('rewards/rejected', 'rejected'), series('rewards/margins', 'margin'), series('eval_rewards/margins', 'held-out margin'),
  ]));
}

// PPO against a reward model, the report's RLHF stage. Four networks: the policy and a frozen reference
// (both the SFT model), the frozen reward model and the value network (initialised from the reward
// model). Each iteration:
//   1. rollout: the policy answers a batch of prompts through the serving engine's continuous batching;
//   2. scoring: the finished sequences are packed into rows and the policy (old log-probs), reference,
//      value and reward networks score them, batch by batch;
//   3. rewards: r_t = -klCoef * KL_t on every response token, plus the normalised reward-model score
//      (minus a penalty when the turn-end token is missing) on the last one; GAE and whitening;
//   4. update: `epochs` passes of clipped policy + value loss (+ unlikelihood on repeated 4-grams) over
//      minibatches, stopping early when approx-KL runs past 1.5x its target, skipping a minibatch whose
//      mean ratio explodes; the prefix cache is then reset, since its keys came from the old weights;
//   5. every evalEvery iterations: the held-out prompts, a checkpoint, and the run-level early stop.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { padId, trainingTemplate } from '../data/chat/template.js';
import { shuffled } from '../data/chat/dataset.js';
import { openScoreModel, type ScoreModel } from '../model/score_head.js';
import type { Transformer } from '../model/transformer.js';
import { AdamW, backward, F, noGrad, tidy, type Tensor } from '../tensor/index.js';
import { saveRunTokenizer } from './run_tokenizer.js';
import { writeFileAtomic } from '../util/atomic.js';
import { lineChartSvg } from './plot.js';
import { parsePpoConfig, type PpoConfig } from './ppo_config.js';
import { heldoutEval, PipelineHeldout, RunStopper, type HeldoutResult, type StopperState } from './ppo_eval.js';
import { latestCheckpoint, listCheckpoints, loadCheckpoint, readCheckpointFile } from '../model/checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from '../model/safetensors.js';
import { gae, policyLoss, repeatedNgramMask, repeatedNgramShare, tokenKl, tokenRewards, unlikelihoodLoss, valueLoss, whiten } from './ppo_losses.js';
import { loadPrompts, stratifiedSplit, type PromptItem } from './prompts.js';
import { rollout, rolloutEngine, type RolloutSample } from './rollout.js';
import { meanEntropy, packInBatches, perSequence, sequenceScores, tokenLogprobs, tokenValues, toRows, type PackedRollout } from './rollout_batch.js';
import { openRun, type Run } from './run.js';
import { openForTraining, openModel } from '../model/load.js';
import { assertFinite, optimizerStep, scheduledLr } from './step.js';

export interface PpoMetrics {
  step: number; iteration: number;
  /** Mean normalised RM score of the rollouts (after the missing-turn-end penalty), and the raw score. */
  reward: number; score: number;
  /** Mean per-sequence sum of k1 KL(pi || pi_ref) over response tokens. */
  kl: number; entropy: number; response_len: number; rep4: number; eos_fraction: number;
  policy_loss: number; value_loss: number; ul_loss: number; clipfrac: number; vf_clipfrac: number; approx_kl: number;
  epochs_run: number; skipped_minibatches: number; lr: number; grad_norm: number;
  rollout_s: number; score_s: number; train_s: number; rollout_tokens_per_s: number;
  /** Largest |engine log-prob - trainer log-prob| over the rollout tokens (temperature 1 only). */
  logprob_drift?: number;
  /** Mean ratio and clip fraction of the first minibatch of the first epoch (1 and 0 exactly: same forward as the scoring pass). */
  first_ratio: number; first_clipfrac: number;
  heldout_reward?: number; heldout_len?: number; heldout_eos?: number; heldout_rep4?: number;
  /** heldoutEval pipeline: the iteration whose checkpoint the held-out fields above scored (they arrive later). */
  heldout_iteration?: number;
  stop?: string;
}

export interface PpoResult { runDir: string; finalCheckpoint: string; metrics: PpoMetrics[]; stopReason: string | null; best: { iteration: number; reward: number } | null }

export interface PpoOptions { quiet?: boolean; onIteration?: (m: PpoMetrics) => void }

/** The reward model's own normalisation, when it recorded one (reward_stats.json or state.json rewardStats). */
export function storedRewardStats(rmDir: string): { mean: number; std: number } | null {
  for (const f of [path.join(rmDir, 'reward_stats.json'), path.join(rmDir, 'state.json')]) {
    if (!existsSync(f)) continue;
    const j = JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>;
    const s = (j.rewardStats ?? (j.state as Record<string, unknown> | undefined)?.rewardStats ?? (f.endsWith('reward_stats.json') ? j : undefined)) as { mean?: unknown; std?: unknown } | undefined;
    if (s && typeof s.mean === 'number' && typeof s.std === 'number' && s.std > 0) return { mean: s.mean, std: s.std };
  }
  return null;
}

/** `run(config)`: what `hcx ppo` and the pipeline's ppo stage call. */
export async function run(raw: unknown, opts: PpoOptions = {}): Promise<PpoResult> {
  const cfg = parsePpoConfig(raw, 'ppo config');
  const log = (s: string) => { if (!opts.quiet) process.stderr.write(s + '\n'); };
  const src = openForTraining(cfg.policy, { tokenizer: cfg.tokenizer, flag: '--policy' });
  const policy = src.model, reference = openModel(cfg.policy, { tokenizer: src.tokenizerPath }).model;
  const rm = openScoreModel(cfg.reward), value = openScoreModel(cfg.reward);
  if (rm.model.config.vocabSize !== policy.config.vocabSize) throw new Error(`--reward ${cfg.reward}: vocabulary of ${rm.model.config.vocabSize}, the policy's is ${policy.config.vocabSize} (train the RM from the same SFT model)`);
  const rowLen = cfg.rowLen ?? Math.min(policy.config.maxSeqLen, rm.model.config.maxSeqLen);
  if (rowLen > policy.config.maxSeqLen) throw new Error(`ppo config: field "rowLen" ${rowLen} exceeds the policy's maxSeqLen ${policy.config.maxSeqLen}`);
  const template = trainingTemplate(src.tokenizer);
  const maxPrompt = rowLen - cfg.maxNewTokens;
  if (maxPrompt < 2) throw new Error(`ppo config: maxNewTokens ${cfg.maxNewTokens} leaves no room for a prompt in rows of ${rowLen}`);
  const read = await loadPrompts(cfg.prompts, cfg.format, template, maxPrompt);
  for (const b of read.bad.slice(0, 10)) log(`skipping ${b}`);
  let train: PromptItem[], held: PromptItem[];
  if (cfg.heldoutPrompts) {
    train = read.items;
    held = (await loadPrompts(cfg.heldoutPrompts, cfg.format, template, maxPrompt)).items;
  } else ({ train, heldout: held } = stratifiedSplit(read.items, cfg.heldout, cfg.seed));
  if (!train.length) throw new Error(`no usable prompts in ${cfg.prompts.join(', ')} (${read.tooLong} longer than ${maxPrompt} tokens, ${read.bad.length} bad)`);
  log(`ppo: ${train.length} training prompts, ${held.length} held out (${[...new Set(held.map((p) => p.stratum))].length} strata); ${read.tooLong} skipped as longer than ${maxPrompt} tokens`);

  const run = openRun(cfg.runDir, { resume: !!cfg.resume });
  try {
    run.recordConfig({ ...cfg, model: policy.config });
    saveRunTokenizer(cfg.runDir, src, !!cfg.resume);
    return await loop(cfg, { policy, reference, rm, value, pad: padId(src.tokenizer), stopTokens: template.stopTokens, train, held, rowLen, run, log, opts });
  } finally {
    run.close();
  }
}

interface Ctx {
  policy: Transformer; reference: Transformer; rm: ScoreModel; value: ScoreModel;
  /** The padding id and the template's turn-end tokens (rollouts stop at them). */
  pad: number; stopTokens: number[];
  train: PromptItem[]; held: PromptItem[]; rowLen: number; run: Run; log: (s: string) => void; opts: PpoOptions;
}

/** Everything the update needs about one sample, per response token. */
interface Scored { logp: Float32Array; values: Float32Array; advantages: Float32Array; returns: Float32Array; ulMask: Float32Array }

async function loop(cfg: PpoConfig, c: Ctx): Promise<PpoResult> {
  const { policy, reference, rm, value, run, log } = c;
  const { pad, stopTokens } = c;
  const engine = rolloutEngine(policy, { maxRunning: cfg.maxRunning, maxTokensPerStep: cfg.maxTokensPerStep });
  const opt = new AdamW([...policy.parameters(), ...value.parameters()], { beta1: cfg.beta1, beta2: cfg.beta2, weightDecay: cfg.weightDecay });
  const stopper = new RunStopper(cfg.patience, cfg.maxLengthGrowth);
  const pipe = cfg.heldoutEval === 'pipeline' ? new PipelineHeldout() : null;
  const evaluations: (HeldoutResult & { iteration: number; checkpoint: string })[] = [];
  const metrics: PpoMetrics[] = [];
  const record = { ...cfg, model: policy.config };
  let norm = cfg.rewardNorm ?? storedRewardStats(path.resolve(cfg.reward)) ?? null;
  if (norm) log(`ppo: reward normalisation mean ${norm.mean.toFixed(4)}, std ${norm.std.toFixed(4)} (${cfg.rewardNorm ? 'config' : 'stored with the reward model'})`);
  const normalise = (s: number) => (norm ? (s - norm.mean) / norm.std : s);
  const batchRows = cfg.batchSize;
  const totalSteps = cfg.iterations * cfg.epochs * Math.ceil((cfg.promptsPerIteration * cfg.samplesPerPrompt) / cfg.miniBatchSize);
  let optStep = 0, stopReason: string | null = null, lastSaved = '';
  // A checkpoint holds what --resume needs: the policy, the value network, the optimizer, the schedule
  // position, the normalisation, the early stop's state before this evaluation, and the iteration's metrics row.
  const save = (iteration: number, r: HeldoutResult | null, row?: PpoMetrics): void => {
    const resume: ResumeState = { optStep, norm, stopper: stopper.snapshot(), ...(pipe ? { heldoutTaken: pipe.lastTaken } : {}), ...(row ? { row } : {}) };
    lastSaved = run.saveCheckpoint({
      model: policy, optimizer: opt.state(), state: { step: iteration, tokensSeen: 0, ...(r ? { heldout: r } : {}), ppo: resume }, trainConfig: record,
      extraFiles: { [VALUE_FILE]: encodeSafetensors(value.checkpointParts().weights!) },
    }, 0);
  };
  const judge = (iteration: number, r: HeldoutResult, checkpoint: string, how: string, row?: PpoMetrics): void => {
    if (row) Object.assign(row, { heldout_iteration: iteration, ...heldoutFields(r) });
    evaluations.push({ iteration, checkpoint, ...r });
    stopReason = stopper.record(iteration, r, checkpoint);
    log(`ppo eval @${iteration}${how}: held-out reward ${r.reward.toFixed(4)}, length ${r.length.toFixed(1)}, turn-end ${(r.eosFraction * 100).toFixed(0)}%, rep4 ${r.rep4.toFixed(3)}`);
  };
  // pipeline: the results the eval workers have attached so far, oldest first, until one calls a stop.
  const takeArrived = (at: number, row?: PpoMetrics): void => {
    if (!pipe) return;
    for (const a of pipe.take()) {
      judge(a.iteration, a.result, a.checkpoint, ` (pipeline eval worker, read after iteration ${at})`, row);
      if (stopReason) break;
    }
  };
  const evaluate = async (iteration: number, row?: PpoMetrics): Promise<void> => {
    if (!c.held.length || cfg.evalEvery === 0) return;
    if (pipe) {
      save(iteration, null, row); // the checkpoint-saved event queues the ppo suite on it; training goes on
      pipe.expect(iteration, lastSaved);
      return;
    }
    const r = await heldoutEval(engine, rm, c.held.map((p) => p.ids), { maxTokens: cfg.maxNewTokens, stopTokens, rowLen: c.rowLen, batchRows, pad, normalise, missingEosPenalty: cfg.missingEosPenalty });
    engine.blocks.resetPrefixCache(); // a resumed run starts with an empty cache: so does the next iteration here
    if (row) Object.assign(row, heldoutFields(r));
    save(iteration, r, row);
    judge(iteration, r, lastSaved, '');
  };
  const order = shuffled(c.train.length, cfg.seed);
  let cursor = 0, start = 1;
  if (cfg.resume) {
    const r = resumeFrom(cfg, c, opt, stopper, pipe);
    ({ optStep, norm, stopReason, lastSaved } = r);
    start = r.iteration + 1;
    cursor = r.iteration * cfg.promptsPerIteration;
    metrics.push(...r.metrics);
  } else if (norm) await evaluate(0); // the SFT model's held-out reward and length: the baseline of the early stop
  for (let it = start; it <= cfg.iterations && !stopReason; it++) {
    const batch = Array.from({ length: cfg.promptsPerIteration }, () => c.train[order[cursor++ % order.length]]);
    // 1. rollout
    const ro = await rollout(engine, batch.map((p) => p.ids), { n: cfg.samplesPerPrompt, temperature: cfg.temperature, maxTokens: cfg.maxNewTokens, stopTokens, seed: cfg.seed * 1000003 + it });
    const samples = ro.samples;
    // 2. scoring, on the packed batches the first epoch will train on (so its first ratio is exactly 1).
    // Scoring and update share one scope: the first training micro-batch reuses the scoring forward of
    // the policy and value network instead of repeating it (their graphs live until the update ends: one
    // micro-batch of activations more at peak).
    const tScore = performance.now();
    let scoreS = 0, tTrain = 0, u!: UpdateStats, scores!: number[];
    const logp: Float32Array[] = new Array(samples.length), ref: Float32Array[] = new Array(samples.length);
    const vals: Float32Array[] = new Array(samples.length), raw = new Float32Array(samples.length);
    const first = layout(samples, cfg, c.rowLen, batchRows, pad, shuffled(samples.length, cfg.seed * 7919 + it));
    // 3. rewards, GAE, whitening; 4. update
    const advantagesAndUpdate = (reuse: Reused | null) => {
      const kls = samples.map((_, i) => tokenKl(logp[i], ref[i], cfg.klEstimator));
      scores = samples.map((s, i) => normalise(raw[i]) - (s.ended ? 0 : cfg.missingEosPenalty));
      const g = samples.map((_, i) => gae(tokenRewards(kls[i], scores[i], cfg.klCoef), vals[i], cfg.gamma, cfg.lambda));
      const adv = whiten(g.map((x) => x.advantages));
      const scored: Scored[] = samples.map((s, i) => ({
        logp: logp[i], values: vals[i], advantages: adv[i], returns: g[i].returns, ulMask: Float32Array.from(repeatedNgramMask(s.response, cfg.unlikelihoodN)),
      }));
      scoreS = (performance.now() - tScore) / 1000;
      tTrain = performance.now();
      u = update(cfg, c, scored, samples, first, opt, () => scheduledLr(cfg, optStep, totalSteps), () => ++optStep, lastSaved, reuse);
    };
    const needBaseline = tidy(() => {
      let reuse: Reused | null = null;
      for (const b of first.flat()) {
        // The policy's old log-probs come from the training forward itself (graph recorded): the
        // inference path fuses kernels and rounds differently in the last bits.
        const fwd = (): Reused => ({ b, ...tokenLogprobs(policy, b, cfg.temperature), values: tokenValues(value, b) });
        const f = reuse ? tidy(() => { const r = fwd(); return { lp: perSequence(r.logp.data, b), vp: perSequence(r.values.data, b) }; })
          : (reuse = fwd(), { lp: perSequence(reuse.logp.data, b), vp: perSequence(reuse.values.data, b) });
        tidy(() => noGrad(() => {
          const rp = perSequence(tokenLogprobs(reference, b, cfg.temperature).logp.data, b);
          const sc = sequenceScores(rm, b);
          b.members.forEach((m, k) => { logp[m] = f.lp[k]; ref[m] = rp[k]; vals[m] = f.vp[k]; raw[m] = sc[k]; });
        }));
      }
      if (!norm) return true;
      advantagesAndUpdate(reuse);
      return false;
    });
    if (needBaseline) {
      const mean = raw.reduce((a, b) => a + b, 0) / raw.length;
      const std = Math.sqrt(raw.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, raw.length - 1)) || 1;
      norm = { mean, std };
      log(`ppo: the reward model records no normalisation; using its scores on the SFT policy's first ${raw.length} samples: mean ${mean.toFixed(4)}, std ${std.toFixed(4)}`);
      await evaluate(0); // still the SFT policy: nothing has been updated yet
      if (stopReason) break;
      tidy(() => advantagesAndUpdate(null)); // the scoring graphs are gone with their scope: the update recomputes
    }
    engine.blocks.resetPrefixCache(); // cached prompt KV was computed by the old weights
    const trainS = (performance.now() - tTrain) / 1000;
    const n = samples.length;
    const m: PpoMetrics = {
      step: it, iteration: it,
      reward: scores.reduce((a, b) => a + b, 0) / n, score: raw.reduce((a, b) => a + b, 0) / n,
      kl: tokenKlSums(logp, ref) / n, entropy: u.entropy,
      response_len: samples.reduce((a, s) => a + s.response.length, 0) / n, rep4: samples.reduce((a, s) => a + repeatedNgramShare(s.response), 0) / n,
      eos_fraction: samples.filter((s) => s.ended).length / n,
      policy_loss: u.policyLoss, value_loss: u.valueLoss, ul_loss: u.ulLoss, clipfrac: u.clipfrac, vf_clipfrac: u.vfClipfrac, approx_kl: u.approxKl,
      first_ratio: u.firstMinibatch?.meanRatio ?? 1, first_clipfrac: u.firstMinibatch?.clipfrac ?? 0,
      epochs_run: u.epochsRun, skipped_minibatches: u.skipped, lr: u.lr, grad_norm: u.gradNorm,
      rollout_s: ro.stats.seconds, score_s: scoreS, train_s: trainS, rollout_tokens_per_s: ro.stats.tokens / Math.max(ro.stats.seconds, 1e-9),
      ...(cfg.temperature === 1 ? { logprob_drift: drift(samples, logp) } : {}),
    };
    if (cfg.evalEvery > 0 && (it % cfg.evalEvery === 0 || it === cfg.iterations)) await evaluate(it, m);
    takeArrived(it, m);
    if (stopReason) {
      m.stop = stopReason;
      log(`ppo: stopping early at iteration ${it}: ${stopReason}; keeping the best checkpoint ${stopper.best?.checkpoint} (iteration ${stopper.best?.iteration})`);
    }
    metrics.push(m);
    run.appendMetrics(m);
    c.opts.onIteration?.(m);
    if (it % cfg.logEvery === 0 || stopReason) {
      log(`ppo ${it}/${cfg.iterations}: reward ${m.reward.toFixed(4)} kl ${m.kl.toFixed(4)} len ${m.response_len.toFixed(1)} rep4 ${m.rep4.toFixed(3)} eos ${(m.eos_fraction * 100).toFixed(0)}% ` +
        `clipfrac ${m.clipfrac.toFixed(3)} approx_kl ${m.approx_kl.toFixed(4)} vf ${m.value_loss.toFixed(4)} epochs ${m.epochs_run} | rollout ${m.rollout_s.toFixed(2)}s score ${m.score_s.toFixed(2)}s train ${m.train_s.toFixed(2)}s`);
    }
  }
  if (pipe && pipe.waiting && !stopReason) await awaitResults(pipe, cfg.heldoutWaitS, log, () => { takeArrived(metrics.length); return stopReason !== null; });
  if (!lastSaved) lastSaved = run.saveCheckpoint({ model: policy, state: { step: metrics.length, tokensSeen: 0 }, trainConfig: record }, 0);
  const finalCheckpoint = stopper.best?.checkpoint ?? lastSaved;
  if (stopReason && !metrics.some((m) => m.stop)) log(`ppo: ${stopReason}; keeping the best checkpoint ${stopper.best?.checkpoint} (iteration ${stopper.best?.iteration})`);
  writeFileAtomic(path.join(run.dir, 'result.json'), JSON.stringify({ finalCheckpoint, best: stopper.best, stopReason, iterations: metrics.length, heldoutEval: cfg.heldoutEval, evaluations }, null, 2) + '\n');
  writePlots(run.dir, metrics);
  return { runDir: run.dir, finalCheckpoint, metrics, stopReason, best: stopper.best ? { iteration: stopper.best.iteration, reward: stopper.best.reward } : null };
}

const VALUE_FILE = 'value.safetensors';

interface ResumeState { optStep: number; norm: { mean: number; std: number } | null; stopper: StopperState; heldoutTaken?: number; row?: PpoMetrics }

/** A held-out evaluation as the metrics row's fields. */
const heldoutFields = (r: HeldoutResult) => ({ heldout_reward: r.reward, heldout_len: r.length, heldout_eos: r.eosFraction, heldout_rep4: r.rep4 });

/** pipeline: waits (polling once a second) for the eval workers' results still out, or until one stops the run. */
async function awaitResults(pipe: PipelineHeldout, seconds: number, log: (s: string) => void, poll: () => boolean): Promise<void> {
  log(`ppo: waiting up to ${seconds}s for ${pipe.waiting} held-out result(s) from the pipeline's eval workers`);
  const deadline = Date.now() + seconds * 1000;
  let stopped = poll();
  while (pipe.waiting && !stopped && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    stopped = poll();
  }
  if (pipe.waiting && !stopped) log(`ppo: ${pipe.waiting} held-out result(s) did not arrive within ${seconds}s; the best checkpoint is chosen among those that did`);
}

/**
 * --resume: the run folder's latest checkpoint back into the policy, value network, optimizer and early
 * stop; the metrics file cut back to its iteration (its own row restored if a kill came before it was
 * written). Iterations are seeded by their number, so the run goes on as if never stopped.
 */
function resumeFrom(cfg: PpoConfig, c: Ctx, opt: AdamW, stopper: RunStopper, pipe: PipelineHeldout | null) {
  const ck = latestCheckpoint(cfg.runDir);
  if (!ck) throw new Error(`--resume: ${cfg.runDir} has no checkpoint to resume from`);
  const saved = loadCheckpoint(ck);
  const st = (saved.state as { ppo?: ResumeState }).ppo;
  const heldout = (saved.state as { heldout?: HeldoutResult }).heldout;
  if (!st || (!heldout && !pipe) || !saved.optimizer) throw new Error(`--resume: ${ck} holds no PPO resume state (saved by an older hcx); start the run afresh`);
  for (const [name, t] of c.policy.params) t.data.set(saved.model.param(name).data);
  const v = decodeSafetensors(readCheckpointFile(ck, VALUE_FILE), path.join(ck, VALUE_FILE)).tensors;
  for (const [name, t] of [...c.value.model.params, ...c.value.headTensors()]) {
    const w = v.get(name);
    if (!w) throw new Error(`--resume: ${ck}/${VALUE_FILE} lacks ${name}`);
    t.data.set(w.data as Float32Array);
  }
  opt.loadState(saved.optimizer);
  stopper.restore(st.stopper);
  const iteration = saved.state.step;
  let stopReason: string | null = null;
  if (!pipe) stopReason = stopper.record(iteration, heldout!, ck);
  else {
    // The results taken before this checkpoint are in the stopper's state; the later ones are taken again.
    pipe.lastTaken = st.heldoutTaken ?? -1;
    for (const k of listCheckpoints(cfg.runDir)) if (k.step > pipe.lastTaken && k.step <= iteration) pipe.expect(k.step, k.dir);
  }
  c.run.truncateMetrics(iteration);
  const rows = c.run.readMetrics<PpoMetrics>();
  if (st.row && !rows.some((r) => r.iteration === iteration)) { c.run.appendMetrics(st.row); rows.push(st.row); }
  c.log(`ppo: resuming after iteration ${iteration} from ${ck}`);
  return { iteration, optStep: st.optStep, norm: st.norm, stopReason, lastSaved: ck, metrics: rows };
}

/** Minibatches of `miniBatchSize` sequences in `perm` order, each as packed micro-batches of `rows` rows. */
export function layout(samples: readonly RolloutSample[], cfg: Pick<PpoConfig, 'miniBatchSize'>, rowLen: number, rows: number, pad: number, perm: Uint32Array): PackedRollout[][] {
  const out: PackedRollout[][] = [];
  for (let s = 0; s < perm.length; s += cfg.miniBatchSize) out.push(packInBatches(samples, Array.from(perm.subarray(s, s + cfg.miniBatchSize)), rowLen, rows, pad));
  return out;
}

function tokenKlSums(logp: Float32Array[], ref: Float32Array[]): number {
  let s = 0;
  for (let i = 0; i < logp.length; i++) for (let t = 0; t < logp[i].length; t++) s += logp[i][t] - ref[i][t];
  return s;
}

function drift(samples: readonly RolloutSample[], logp: Float32Array[]): number {
  let d = 0;
  samples.forEach((s, i) => { for (let t = 0; t < s.engineLogprobs.length; t++) d = Math.max(d, Math.abs(s.engineLogprobs[t] - logp[i][t])); });
  return d;
}

interface UpdateStats {
  policyLoss: number; valueLoss: number; ulLoss: number; clipfrac: number; vfClipfrac: number; approxKl: number; entropy: number;
  epochsRun: number; skipped: number; lr: number; gradNorm: number;
  /** Per minibatch of the first epoch: its mean ratio and clip fraction before any update (the exactness test reads these). */
  firstMinibatch: { meanRatio: number; clipfrac: number } | null;
}

/** The scoring forward of one micro-batch with its graphs: the first training micro-batch's forward. */
export interface Reused { b: PackedRollout; logp: Tensor; logits: Tensor; rowMask: Float32Array; values: Tensor }

/** The PPO epochs over one iteration's rollouts; `reuse` (the first epoch's first micro-batch) skips that forward. */
export function update(cfg: PpoConfig, c: Pick<Ctx, 'policy' | 'value' | 'rowLen' | 'pad' | 'log'>, scored: Scored[], samples: readonly RolloutSample[], first: PackedRollout[][],
  opt: AdamW, lr: () => number, nextStep: () => number, lastGood: string, reuse: Reused | null = null): UpdateStats {
  const acc = { pl: 0, vl: 0, ul: 0, cf: 0, vcf: 0, kl: 0, tokens: 0, ent: 0, entN: 0 };
  const st: UpdateStats = { policyLoss: 0, valueLoss: 0, ulLoss: 0, clipfrac: 0, vfClipfrac: 0, approxKl: 0, entropy: 0, epochsRun: 0, skipped: 0, lr: 0, gradNorm: 0, firstMinibatch: null };
  const field = (k: keyof Scored) => scored.map((s) => s[k]);
  for (let epoch = 0; epoch < cfg.epochs; epoch++) {
    const mbs = epoch === 0 ? first : layout(samples, cfg, c.rowLen, cfg.batchSize, c.pad, shuffled(samples.length, cfg.seed * 31 + epoch * 977 + samples.length));
    let epochKl = 0, epochTokens = 0;
    for (const micro of mbs) {
      const count = micro.reduce((a, b) => a + b.mask.reduce((x, y) => x + y, 0), 0);
      let ratioSum = 0, clipSum = 0, klSum = 0;
      for (const b of micro) {
        tidy(() => {
          const n = b.mask.reduce((x, y) => x + y, 0);
          const pre = epoch === 0 && reuse?.b === b ? reuse : null;
          const { logp, logits, rowMask } = pre ?? tokenLogprobs(c.policy, b, cfg.temperature);
          const pg = policyLoss(logp, toRows(field('logp'), b), toRows(field('advantages'), b), b.mask, { clip: cfg.clipRange, logRatioClamp: cfg.logRatioClamp });
          const vf = valueLoss(pre?.values ?? tokenValues(c.value, b), toRows(field('values'), b), toRows(field('returns'), b), b.mask, cfg.clipRangeValue);
          // The losses are means over this micro-batch's tokens; weight them to the minibatch's token mean.
          const w = count > 0 ? n / count : 0;
          let loss = F.add(pg.loss, F.scale(vf.loss, cfg.vfCoef));
          let ul = 0;
          if (cfg.unlikelihood > 0) {
            const u = unlikelihoodLoss(logp, toRows(field('ulMask'), b), n);
            ul = u.item();
            loss = F.add(loss, F.scale(u, cfg.unlikelihood));
          }
          backward(F.scale(loss, w));
          if (epoch === 0) { // the rollout policy's entropy: the first epoch's forwards (a full-vocabulary pass in JS)
            const e = noGrad(() => meanEntropy(logits, rowMask));
            acc.ent += e.sum; acc.entN += e.count;
          }
          acc.pl += pg.loss.item() * n; acc.vl += vf.loss.item() * n; acc.ul += ul * n; acc.cf += pg.clipfrac * n; acc.vcf += vf.clipfrac * n; acc.tokens += n;
          ratioSum += pg.meanRatio * n; clipSum += pg.clipfrac * n; klSum += pg.approxKl * n;
        });
      }
      const meanRatio = count ? ratioSum / count : 1;
      if (!st.firstMinibatch) st.firstMinibatch = { meanRatio, clipfrac: count ? clipSum / count : 0 };
      acc.kl += klSum; epochKl += klSum; epochTokens += count;
      if (meanRatio > cfg.maxRatio) {
        opt.zeroGrad();
        st.skipped++;
        c.log(`ppo: skipping a minibatch with mean ratio ${meanRatio.toFixed(2)} > ${cfg.maxRatio}`);
        continue;
      }
      st.lr = lr();
      const step = nextStep();
      st.gradNorm = optimizerStep(opt, { clip: cfg.clip, lr: st.lr, step, lastGood });
    }
    st.epochsRun = epoch + 1;
    const kl = epochTokens ? epochKl / epochTokens : 0;
    assertFinite('approx-KL', kl, epoch + 1, lastGood);
    if (kl > 1.5 * cfg.targetKl) {
      c.log(`ppo: approx-KL ${kl.toFixed(4)} > 1.5 x target ${cfg.targetKl} after epoch ${epoch + 1}; skipping the remaining epochs`);
      break;
    }
  }
  const t = acc.tokens || 1;
  Object.assign(st, { policyLoss: acc.pl / t, valueLoss: acc.vl / t, ulLoss: acc.ul / t, clipfrac: acc.cf / t, vfClipfrac: acc.vcf / t, approxKl: acc.kl / t, entropy: acc.entN ? acc.ent / acc.entN : 0 });
  F.dropPackedWeights(c.policy.parameters());
  return st;
}

const PLOTS: [string, string][] = [
  ['reward', 'normalised RM reward'], ['kl', 'KL(pi || ref), nats per response'], ['entropy', 'entropy (nats/token)'], ['response_len', 'response tokens'],
  ['rep4', 'repeated 4-gram share'], ['clipfrac', 'policy clip fraction'], ['approx_kl', 'approx-KL(old, new)'], ['value_loss', 'value loss'],
  ['eos_fraction', 'share ending in the turn-end token'], ['rollout_s', 'seconds'],
];

/** One SVG per metric in plots/ (rollout and train seconds share a chart), against the iteration. */
export function writePlots(dir: string, rows: PpoMetrics[]): void {
  for (const [key, label] of PLOTS) {
    const series = key === 'rollout_s'
      ? (['rollout_s', 'score_s', 'train_s'] as const).map((k) => ({ name: k, points: rows.map((r) => [r.iteration, r[k]] as [number, number]) }))
      : [{ name: key, points: rows.map((r) => [r.iteration, r[key as keyof PpoMetrics] as number] as [number, number]) },
        ...(key === 'reward' ? [{ name: 'held-out', points: rows.filter((r) => r.heldout_reward !== undefined).map((r) => [r.heldout_iteration ?? r.iteration, r.heldout_reward!] as [number, number]) }] : [])];
    writeFileAtomic(path.join(dir, 'plots', `${key === 'rollout_s' ? 'seconds' : key}.svg`), lineChartSvg(`hcx PPO: ${key === 'rollout_s' ? 'rollout / score / train seconds' : key}`, 'iteration', label, series));
  }
}

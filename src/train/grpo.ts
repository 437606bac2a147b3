// GRPO (DeepSeekMath): no value network, no reward model. Each prompt gets a group of G samples from the
// serving engine's continuous batching; a verifiable scorer (an eval task's filter + metric, or a given
// function) rewards each; A = (r - group mean) / (group std + 1e-4) applies to every token of the sample;
// the clipped surrogate is normalised over all valid tokens of the batch, with beta * k3 KL to the
// reference when beta > 0 (no reference model is loaded at beta 0, the default). Held-out prompts are
// answered greedily every evalEvery iterations and scored by the same scorer (exact match for gsm8k).
import path from 'node:path';
import { padId, trainingTemplate } from '../data/chat/template.js';
import { shuffled } from '../data/chat/dataset.js';
import type { Transformer } from '../model/transformer.js';
import { AdamW, backward, F, noGrad, tidy } from '../tensor/index.js';
import type { TextTokenizer } from '../tokenizer/index.js';
import { saveRunTokenizer } from './run_tokenizer.js';
import { parseObject, type Schema } from '../util/schema.js';
import { finishTrainSettings } from './config.js';
import { pickedTrainFields, ROLLOUT_FIELDS, type PpoTrainSettings, type RolloutSettings } from './ppo_config.js';
import { groupAdvantages, grpoLoss } from './ppo_losses.js';
import { loadPrompts, stratifiedSplit, type PromptItem } from './prompts.js';
import { rollout, rolloutEngine, type RolloutSample } from './rollout.js';
import { packInBatches, perSequence, tokenLogprobs, toRows } from './rollout_batch.js';
import { openRun } from './run.js';
import { openForTraining, openModel } from '../model/load.js';
import { optimizerStep, scheduledLr } from './step.js';
import { taskScorer, type Scorer } from './task_reward.js';
import { lineChartSvg } from './plot.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { Engine } from '../serve/engine.js';

export interface GrpoConfig extends PpoTrainSettings, RolloutSettings {
  from: string; prompts: string[]; reward: string; filter?: string; runDir: string; tokenizer?: string;
  format: 'auto' | 'messages' | 'sharegpt' | 'alpaca' | 'qa-csv'; heldout: number; heldoutPrompts?: string[];
  beta: number; clipRange: number; logRatioClamp: number; resume?: boolean;
}

export const GRPO_SCHEMA: Schema = {
  from: { type: 'string' }, prompts: { type: 'strings' }, reward: { type: 'string' }, filter: { type: 'string', optional: true },
  runDir: { type: 'string' }, tokenizer: { type: 'string', optional: true },
  format: { type: 'enum', values: ['auto', 'messages', 'sharegpt', 'alpaca', 'qa-csv'], default: 'auto' },
  heldout: { type: 'number', check: (v) => v >= 0, what: 'a share in [0, 1) or a count', default: 0.1 },
  heldoutPrompts: { type: 'strings', optional: true },
  beta: { type: 'number', check: (v) => v >= 0, what: '>= 0', default: 0 },
  clipRange: { type: 'number', check: (v) => v > 0 && v < 1, what: 'in (0, 1)', default: 0.2 },
  logRatioClamp: { type: 'number', check: (v) => v > 0, what: 'a positive number', default: 20 },
  resume: { type: 'bool', optional: true },
  ...ROLLOUT_FIELDS,
  samplesPerPrompt: { type: 'int', min: 2, default: 8 },
  epochs: { type: 'int', min: 1, default: 1 },
  miniBatchSize: { type: 'int', min: 1, default: 64 },
  ...pickedTrainFields({ batchSize: 4, lr: 1e-5, warmupSteps: 0, weightDecay: 0, beta1: 0.9, beta2: 0.99, clip: 1, seed: 1, evalEvery: 5, logEvery: 1 }),
};

export interface GrpoMetrics {
  step: number; iteration: number; reward: number; reward_std: number; zero_std_groups: number; loss: number; kl: number; clipfrac: number;
  response_len: number; eos_fraction: number; rollout_s: number; train_s: number; heldout_score?: number;
}

export interface GrpoOptions { quiet?: boolean; scorer?: Scorer; onIteration?: (m: GrpoMetrics) => void }

export function parseGrpoConfig(raw: unknown, where: string): GrpoConfig {
  const o = parseObject(raw, GRPO_SCHEMA, where) as unknown as GrpoConfig;
  if (o.minLr === undefined) o.minLr = o.lr;
  return finishTrainSettings(o, where);
}

/** Greedy answers to the held-out prompts, mean score. */
async function heldoutScore(engine: Engine, tok: TextTokenizer, stopTokens: number[], held: PromptItem[], scorer: Scorer, maxTokens: number): Promise<number> {
  if (!held.length) return NaN;
  const { samples } = await rollout(engine, held.map((p) => p.ids), { n: 1, temperature: 0, maxTokens, stopTokens, seed: 0 });
  return samples.reduce((a, s, i) => a + scorer(text(tok, s), held[i].reference ?? ''), 0) / samples.length;
}

const text = (tok: TextTokenizer, s: RolloutSample): string => tok.decode(s.ended ? s.response.subarray(0, -1) : s.response);

export async function run(raw: unknown, opts: GrpoOptions = {}) {
  const cfg = parseGrpoConfig(raw, 'grpo config');
  const log = (s: string) => { if (!opts.quiet) process.stderr.write(s + '\n'); };
  const src = openForTraining(cfg.from, { tokenizer: cfg.tokenizer, flag: '--from' });
  const policy = src.model;
  const reference: Transformer | null = cfg.beta > 0 ? openModel(cfg.from, { tokenizer: src.tokenizerPath }).model : null;
  const tok = src.tokenizer;
  const scorer = opts.scorer ?? taskScorer(cfg.reward, cfg.filter);
  const rowLen = cfg.rowLen ?? policy.config.maxSeqLen;
  const template = trainingTemplate(tok);
  const read = await loadPrompts(cfg.prompts, cfg.format, template, rowLen - cfg.maxNewTokens);
  const noRef = read.items.filter((p) => p.reference === undefined);
  if (noRef.length) throw new Error(`${noRef[0].file}:${noRef[0].line}: a GRPO prompt needs its reference answer as the final assistant turn`);
  const split = cfg.heldoutPrompts ? { train: read.items, heldout: (await loadPrompts(cfg.heldoutPrompts, cfg.format, template, rowLen - cfg.maxNewTokens)).items } : stratifiedSplit(read.items, cfg.heldout, cfg.seed);
  if (!split.train.length) throw new Error(`no usable prompts in ${cfg.prompts.join(', ')}`);
  log(`grpo: ${split.train.length} training prompts, ${split.heldout.length} held out; groups of ${cfg.samplesPerPrompt}; reward ${opts.scorer ? 'given scorer' : `task ${cfg.reward}`}`);
  const runDir = openRun(cfg.runDir, { resume: false });
  const engine = rolloutEngine(policy, { maxRunning: cfg.maxRunning, maxTokensPerStep: cfg.maxTokensPerStep });
  const opt = new AdamW(policy.parameters(), { beta1: cfg.beta1, beta2: cfg.beta2, weightDecay: cfg.weightDecay });
  const metrics: GrpoMetrics[] = [];
  const pad = padId(tok), stopTokens = template.stopTokens;
  const total = cfg.iterations * cfg.epochs * Math.ceil((cfg.promptsPerIteration * cfg.samplesPerPrompt) / cfg.miniBatchSize);
  let optStep = 0, lastSaved = '';
  try {
    runDir.recordConfig({ ...cfg, model: policy.config });
    saveRunTokenizer(cfg.runDir, src, false);
    const baseline = cfg.evalEvery > 0 ? await heldoutScore(engine, tok, stopTokens, split.heldout, scorer, cfg.maxNewTokens) : NaN;
    if (!Number.isNaN(baseline)) log(`grpo eval @0: held-out score ${baseline.toFixed(4)}`);
    const order = shuffled(split.train.length, cfg.seed);
    let cursor = 0;
    for (let it = 1; it <= cfg.iterations; it++) {
      const batch = Array.from({ length: cfg.promptsPerIteration }, () => split.train[order[cursor++ % order.length]]);
      const ro = await rollout(engine, batch.map((p) => p.ids), { n: cfg.samplesPerPrompt, temperature: cfg.temperature, maxTokens: cfg.maxNewTokens, stopTokens, seed: cfg.seed * 1000003 + it });
      const samples = ro.samples;
      const rewards = samples.map((s) => scorer(text(tok, s), batch[s.prompt].reference ?? ''));
      const adv = groupAdvantages(rewards, cfg.samplesPerPrompt);
      const tTrain = performance.now();
      const perm = shuffled(samples.length, cfg.seed * 7919 + it);
      const minibatches = (p: Uint32Array) => Array.from({ length: Math.ceil(p.length / cfg.miniBatchSize) }, (_, k) => packInBatches(samples, Array.from(p.subarray(k * cfg.miniBatchSize, (k + 1) * cfg.miniBatchSize)), rowLen, cfg.batchSize, pad));
      const first = minibatches(perm);
      // Old and reference log-probs on the first epoch's own batches (the training forward: ratio 1 exactly).
      const old: Float32Array[] = new Array(samples.length), ref: Float32Array[] = new Array(samples.length);
      for (const b of first.flat()) {
        const lp = tidy(() => perSequence(tokenLogprobs(policy, b, cfg.temperature).logp.data, b));
        const rp = reference ? tidy(() => noGrad(() => perSequence(tokenLogprobs(reference, b, cfg.temperature).logp.data, b))) : null;
        b.members.forEach((m, k) => { old[m] = lp[k]; if (rp) ref[m] = rp[k]; });
      }
      const advTok = samples.map((s, i) => new Float32Array(s.response.length).fill(adv[i]));
      let lossSum = 0, klSum = 0, cfSum = 0, nTok = 0;
      for (let epoch = 0; epoch < cfg.epochs; epoch++) {
        for (const micro of epoch === 0 ? first : minibatches(shuffled(samples.length, cfg.seed * 31 + epoch * 977 + it))) {
          const count = micro.reduce((a, b) => a + b.mask.reduce((x, y) => x + y, 0), 0);
          for (const b of micro) {
            tidy(() => {
              const n = b.mask.reduce((x, y) => x + y, 0);
              const { logp } = tokenLogprobs(policy, b, cfg.temperature);
              const l = grpoLoss(logp, toRows(old, b), reference ? toRows(ref, b) : null, toRows(advTok, b), b.mask, { clip: cfg.clipRange, logRatioClamp: cfg.logRatioClamp, beta: cfg.beta });
              backward(F.scale(l.loss, count ? n / count : 0)); // token-level: the minibatch's valid tokens share one mean
              lossSum += l.loss.item() * n; klSum += l.kl * n; cfSum += l.clipfrac * n; nTok += n;
            });
          }
          optimizerStep(opt, { clip: cfg.clip, lr: scheduledLr(cfg, optStep, total), step: ++optStep, lastGood: lastSaved });
        }
      }
      engine.blocks.resetPrefixCache();
      F.dropPackedWeights(policy.parameters());
      const mean = rewards.reduce((a, b) => a + b, 0) / rewards.length;
      let zero = 0;
      for (let g = 0; g < rewards.length; g += cfg.samplesPerPrompt) if (new Set(rewards.slice(g, g + cfg.samplesPerPrompt)).size === 1) zero++;
      const m: GrpoMetrics = {
        step: it, iteration: it, reward: mean, reward_std: Math.sqrt(rewards.reduce((a, b) => a + (b - mean) ** 2, 0) / rewards.length), zero_std_groups: zero,
        loss: lossSum / (nTok || 1), kl: klSum / (nTok || 1), clipfrac: cfSum / (nTok || 1),
        response_len: samples.reduce((a, s) => a + s.response.length, 0) / samples.length, eos_fraction: samples.filter((s) => s.ended).length / samples.length,
        rollout_s: ro.stats.seconds, train_s: (performance.now() - tTrain) / 1000,
      };
      if (cfg.evalEvery > 0 && (it % cfg.evalEvery === 0 || it === cfg.iterations)) {
        m.heldout_score = await heldoutScore(engine, tok, stopTokens, split.heldout, scorer, cfg.maxNewTokens);
        lastSaved = runDir.saveCheckpoint({ model: policy, state: { step: it, tokensSeen: 0 }, trainConfig: { ...cfg, model: policy.config } }, 0);
      }
      metrics.push(m);
      runDir.appendMetrics(m);
      opts.onIteration?.(m);
      if (it % cfg.logEvery === 0) log(`grpo ${it}/${cfg.iterations}: reward ${m.reward.toFixed(4)} (${zero} groups all equal) loss ${m.loss.toFixed(4)} len ${m.response_len.toFixed(1)}${m.heldout_score !== undefined ? ` held-out ${m.heldout_score.toFixed(4)}` : ''}`);
    }
    if (!lastSaved) lastSaved = runDir.saveCheckpoint({ model: policy, state: { step: cfg.iterations, tokensSeen: 0 }, trainConfig: { ...cfg, model: policy.config } }, 0);
    writeFileAtomic(path.join(cfg.runDir, 'plots', 'reward.svg'), lineChartSvg('hcx GRPO reward', 'iteration', 'mean reward', [
      { name: 'train', points: metrics.map((r) => [r.iteration, r.reward]) },
      { name: 'held-out', points: [[0, baseline] as [number, number], ...metrics.filter((r) => r.heldout_score !== undefined).map((r) => [r.iteration, r.heldout_score!] as [number, number])] },
    ]));
    return { runDir: cfg.runDir, finalCheckpoint: lastSaved, metrics, baseline };
  } finally {
    runDir.close();
  }
}

// The PPO run configuration (strict: unknown fields are errors naming the field): the command line's
// --policy/--reward/--prompts/--out over the config file (JSON or YAML, paths relative to it) over the
// defaults below. Every setting lands in the run's config.json.
import path from 'node:path';
import { CHAT_FORMATS, type ChatFormat } from '../data/chat/readers.js';
import { parseObject, readConfigFile, type Schema } from '../util/schema.js';
import { finishTrainSettings, trainFields, type TrainSettings } from './config.js';
import type { KlEstimator } from './ppo_losses.js';

export type PpoTrainSettings = Pick<TrainSettings, 'batchSize' | 'lr' | 'minLr' | 'warmupSteps' | 'weightDecay' | 'beta1' | 'beta2' | 'clip' | 'seed' | 'evalEvery' | 'logEvery'>;

/** What rollout and sampling share between PPO and GRPO. */
export interface RolloutSettings {
  /** Prompts per iteration. */
  promptsPerIteration: number;
  /** Samples per prompt (they share the prompt's prefill). */
  samplesPerPrompt: number;
  maxNewTokens: number;
  /** One temperature in rollout and in the training forward. */
  temperature: number;
  /** Tokens per packed training row (default: the model's maxSeqLen). */
  rowLen?: number;
  /** Sequences per optimizer step. */
  miniBatchSize: number;
  /** Passes over each iteration's rollouts. */
  epochs: number;
  iterations: number;
  /** Engine: running sequences at most, tokens per step. */
  maxRunning: number;
  maxTokensPerStep: number;
}

export interface PpoConfig extends PpoTrainSettings, RolloutSettings {
  /** The SFT model: policy and reference start from it. */
  policy: string;
  /** The reward model (an hcx score model); the value network starts from it too. */
  reward: string;
  prompts: string[];
  /** Held-out prompts for the run-level early stop; default a stratified share of `prompts`. */
  heldoutPrompts?: string[];
  /** Share (< 1) or count of `prompts` held out when heldoutPrompts is not given. */
  heldout: number;
  runDir: string;
  tokenizer?: string;
  format: ChatFormat;
  klCoef: number;
  klEstimator: KlEstimator;
  gamma: number;
  lambda: number;
  clipRange: number;
  clipRangeValue: number;
  vfCoef: number;
  logRatioClamp: number;
  /** Subtracted from the (normalised) score of a response that does not end with the turn-end token. */
  missingEosPenalty: number;
  /** Reward-model score normalisation; default the RM's stored stats, else the SFT policy's first rollouts. */
  rewardNorm?: { mean: number; std: number };
  /** Sequence-level unlikelihood weight alpha (0: off) and its n-gram length. */
  unlikelihood: number;
  unlikelihoodN: number;
  /** Per update: stop the remaining epochs once approx-KL exceeds 1.5 x this; skip minibatches with mean ratio above maxRatio. */
  targetKl: number;
  maxRatio: number;
  /** Per run: stop when held-out reward has not improved for `patience` evaluations ... */
  patience: number;
  /** ... or when mean held-out response length exceeds (1 + maxLengthGrowth/100) x the SFT model's. */
  maxLengthGrowth: number;
  /**
   * Who scores the held-out prompts at each evaluation: `inline` (the trainer, between iterations) or
   * `pipeline` (the trainer only saves the checkpoint and trains on; the pipeline's eval workers run the `ppo`
   * suite on it and the run-level early stop reads their results as they arrive).
   */
  heldoutEval: 'inline' | 'pipeline';
  /** pipeline: after the last iteration, how long to wait for the results still out (seconds). */
  heldoutWaitS: number;
  resume?: boolean;
}

const positive = { type: 'number', check: (v: number) => v > 0, what: 'a positive number' } as const;
const unitOpen = { type: 'number', check: (v: number) => v > 0 && v < 1, what: 'in (0, 1)' } as const;

export const ROLLOUT_FIELDS: Schema = {
  promptsPerIteration: { type: 'int', min: 1, default: 16 },
  samplesPerPrompt: { type: 'int', min: 1, default: 2 },
  maxNewTokens: { type: 'int', min: 1, default: 48 },
  temperature: { type: 'number', check: (v) => v > 0, what: 'a positive number (training needs a sampling distribution)', default: 1 },
  rowLen: { type: 'int', min: 8, optional: true },
  miniBatchSize: { type: 'int', min: 1, default: 16 },
  epochs: { type: 'int', min: 1, default: 4 },
  iterations: { type: 'int', min: 1, default: 20 },
  maxRunning: { type: 'int', min: 1, default: 64 },
  maxTokensPerStep: { type: 'int', min: 1, default: 1024 },
};

export const PPO_TRAIN_DEFAULTS: Partial<TrainSettings> = {
  batchSize: 4, lr: 1e-5, warmupSteps: 0, weightDecay: 0, beta1: 0.9, beta2: 0.95, clip: 1, seed: 1, evalEvery: 2, logEvery: 1,
};

const TRAIN_KEYS = ['batchSize', 'lr', 'minLr', 'warmupSteps', 'weightDecay', 'beta1', 'beta2', 'clip', 'seed', 'evalEvery', 'logEvery'] as const;

/** The shared training settings PPO and GRPO use (cosine floor minLr defaults to lr: constant, as PPO usually runs). */
export function pickedTrainFields(defaults: Partial<TrainSettings>): Schema {
  const all = trainFields(defaults);
  return Object.fromEntries(TRAIN_KEYS.map((k) => [k, all[k]]));
}

export const PPO_SCHEMA: Schema = {
  policy: { type: 'string' },
  reward: { type: 'string' },
  prompts: { type: 'strings' },
  heldoutPrompts: { type: 'strings', optional: true },
  heldout: { type: 'number', check: (v) => v >= 0, what: 'a share in [0, 1) or a count', default: 0.1 },
  runDir: { type: 'string' },
  tokenizer: { type: 'string', optional: true },
  format: { type: 'enum', values: CHAT_FORMATS, default: 'auto' },
  klCoef: { type: 'number', check: (v) => v >= 0, what: '>= 0', default: 0.04 },
  klEstimator: { type: 'enum', values: ['k1', 'k3'], default: 'k1' },
  gamma: { type: 'number', check: (v) => v > 0 && v <= 1, what: 'in (0, 1]', default: 1 },
  lambda: { type: 'number', check: (v) => v >= 0 && v <= 1, what: 'in [0, 1]', default: 0.95 },
  clipRange: { ...unitOpen, default: 0.2 },
  clipRangeValue: { ...positive, default: 0.2 },
  vfCoef: { type: 'number', check: (v) => v >= 0, what: '>= 0', default: 0.1 },
  logRatioClamp: { ...positive, default: 20 },
  missingEosPenalty: { type: 'number', check: (v) => v >= 0, what: '>= 0', default: 1 },
  rewardNorm: { type: 'object', optional: true, fields: { mean: { type: 'number' }, std: { ...positive } } },
  unlikelihood: { type: 'number', check: (v) => v >= 0, what: '>= 0', default: 0.1 },
  unlikelihoodN: { type: 'int', min: 1, default: 4 },
  targetKl: { ...positive, default: 0.02 },
  maxRatio: { type: 'number', check: (v) => v > 1, what: 'a number > 1', default: 10 },
  patience: { type: 'int', min: 1, default: 3 },
  maxLengthGrowth: { ...positive, default: 50 },
  heldoutEval: { type: 'enum', values: ['inline', 'pipeline'], default: 'inline' },
  heldoutWaitS: { type: 'number', check: (v) => v >= 0, what: '>= 0 seconds', default: 900 },
  resume: { type: 'bool', optional: true },
  ...ROLLOUT_FIELDS,
  ...pickedTrainFields(PPO_TRAIN_DEFAULTS),
};

/** Checks and completes a PPO config (the pipeline's stage config, or the command line merged with a file). */
export function parsePpoConfig(raw: unknown, where: string): PpoConfig {
  const o = parseObject(raw, PPO_SCHEMA, where) as unknown as PpoConfig;
  if (o.minLr === undefined) o.minLr = o.lr; // constant learning rate unless a floor is given
  finishTrainSettings(o, where);
  if (o.heldout >= 1 && !Number.isInteger(o.heldout)) throw new Error(`${where}: field "heldout" must be a share in [0, 1) or a whole count, got ${o.heldout}`);
  return o;
}

export interface PpoCommandLine { policy?: string; reward?: string; prompts?: string[]; out?: string; config?: string }

/** Reads --config (paths in it relative to its folder) and lays the command line's flags over it. */
export function resolveCommandConfig(cl: Record<string, unknown> & { config?: string }, command: string, pathFields: string[], listFields: string[]): Record<string, unknown> {
  let file: Record<string, unknown> = {};
  let baseDir = process.cwd();
  if (cl.config) {
    const raw = readConfigFile(cl.config);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${cl.config}: expected an object of settings`);
    file = raw as Record<string, unknown>;
    baseDir = path.dirname(path.resolve(cl.config));
    if ('out' in file) throw new Error(`${cl.config}: unknown field "out" (the run folder is "runDir")`);
  }
  const rel = (p: unknown) => (typeof p === 'string' ? path.resolve(baseDir, p) : p);
  const merged: Record<string, unknown> = { ...file };
  for (const k of pathFields) if (k in merged) merged[k] = rel(merged[k]);
  for (const k of listFields) if (k in merged) merged[k] = (Array.isArray(merged[k]) ? merged[k] as unknown[] : [merged[k]]).map(rel);
  for (const [k, v] of Object.entries(cl)) {
    if (k === 'config' || v === undefined || (Array.isArray(v) && !v.length)) continue;
    const key = k === 'out' ? 'runDir' : k;
    merged[key] = Array.isArray(v) ? v.map((p) => path.resolve(String(p))) : typeof v === 'string' && pathFields.includes(key) ? path.resolve(v) : v;
  }
  void command;
  return merged;
}

export function resolvePpoConfig(cl: PpoCommandLine): PpoConfig {
  const merged = resolveCommandConfig({ ...cl }, 'hcx ppo', ['policy', 'reward', 'runDir', 'tokenizer'], ['prompts', 'heldoutPrompts']);
  for (const [k, flag] of [['policy', '--policy SFT_MODEL'], ['reward', '--reward RM_MODEL'], ['prompts', '--prompts FILE'], ['runDir', '--out RUNDIR']]) {
    if (merged[k] === undefined) throw new Error(`hcx ppo: ${flag} is required (or "${k}" in the config file)`);
  }
  return parsePpoConfig(merged, cl.config ?? 'hcx ppo');
}

// Configurations of the preference stages, `hcx rm` (reward model) and `hcx dpo`. Precedence, field by
// field: the command line (--from, --data, --out), then the config file (JSON or YAML; paths in it relative
// to its folder), then the stage's defaults. Unlike SFT they do not inherit optimizer settings from the
// source checkpoint: a reward model and DPO want their own learning rates, not the SFT run's.
import path from 'node:path';
import type { ModelConfig } from '../model/config.js';
import { PREF_FORMATS, type PrefFormat } from '../data/prefs/readers.js';
import { parseObject, readConfigFile, type Schema } from '../util/schema.js';
import { finishTrainSettings, trainFields, type TrainSettings } from './config.js';
import { describeModel } from '../model/load.js';
import type { LoraConfig } from '../model/lora.js';
import { SFT_SCHEMA } from './sft_config.js';

/** What both preference stages share. */
export interface PrefStageConfig extends TrainSettings {
  /** The SFT model to start from (hcx run or checkpoint directory). */
  from: string;
  /** Preference pair files (chosen/rejected, HH-RLHF, messages-style; .jsonl or .jsonl.gz). */
  data: string[];
  runDir: string;
  /** hcx tokenizer file; default the one beside the source model. */
  tokenizer?: string;
  format: PrefFormat;
  /** Longest prompt + completion; longer pairs are dropped (counted in data.json). */
  seqLen: number;
  /** Held-out pairs (a share < 1, or a count), for pair accuracy and margin. */
  heldout: number;
  epochs: number;
  /** Optimizer steps; default as many as `epochs` passes over the training pairs take (batchSize pairs each). */
  steps?: number;
  /** Read at most this many pairs (0: all). */
  limit: number;
  onBadLine: 'skip' | 'fatal';
  /** The source model's config (filled in from --from, recorded so --resume can check it). */
  model?: ModelConfig;
}

export interface RmConfig extends PrefStageConfig {
  /** Subtracted from r_chosen - r_rejected inside the loss; a pair's own "margin" field wins. */
  margin: number;
  /** Replies sampled from the SFT policy to held-out prompts for the reward mean/std PPO normalises by (0: none). */
  normSamples: number;
  normMaxNewTokens: number;
  normTemperature: number;
}

export interface DpoConfig extends PrefStageConfig {
  /** beta of the sigmoid DPO loss. */
  beta: number;
  /** Reference log-probs: 'precomputed' once and stored (keyed by the reference's hash), or 'live' from a second model in memory. */
  reference: 'precomputed' | 'live';
  /** Where precomputed reference log-probs are stored; default RUNDIR/reference. */
  referenceCache?: string;
  /** The reference model; default the --from model. */
  ref?: string;
  /** Train LoRA adapters instead of every weight (SFT's settings). */
  lora?: LoraConfig;
}

const COMMON: Schema = {
  from: { type: 'string' },
  data: { type: 'strings' },
  runDir: { type: 'string' },
  tokenizer: { type: 'string', optional: true },
  format: { type: 'enum', values: PREF_FORMATS, default: 'auto' },
  seqLen: { type: 'int', min: 2, optional: true },
  heldout: { type: 'number', check: (v) => v >= 0, what: 'a share in [0, 1) or a count >= 1', default: 0.1 },
  epochs: { type: 'int', min: 1, default: 1 },
  steps: { type: 'int', min: 1, optional: true },
  limit: { type: 'int', min: 0, default: 0 },
  onBadLine: { type: 'enum', values: ['skip', 'fatal'], default: 'skip' },
  model: { type: 'custom', optional: true, parse: (v) => v },
};

const positive = { check: (v: number) => v > 0, what: 'a positive number' };

export const RM_SCHEMA: Schema = {
  ...COMMON,
  ...trainFields({ batchSize: 8, gradAccum: 1, lr: 1e-4, warmupSteps: 5, weightDecay: 0, beta1: 0.9, beta2: 0.95, clip: 1, computeDtype: 'f32', evalEvery: 50, evalBatches: 16, saveEvery: 100, keepCheckpoints: 2, seed: 1, logEvery: 10 }),
  minLr: { type: 'number', check: (v) => v >= 0, what: '>= 0', optional: true },
  margin: { type: 'number', default: 0 },
  normSamples: { type: 'int', min: 0, default: 64 },
  normMaxNewTokens: { type: 'int', min: 1, default: 64 },
  normTemperature: { type: 'number', check: (v) => v >= 0, what: '>= 0 (0: greedy)', default: 1 },
};

export const DPO_SCHEMA: Schema = {
  ...COMMON,
  ...trainFields({ batchSize: 8, gradAccum: 1, lr: 5e-5, warmupSteps: 5, weightDecay: 0, beta1: 0.9, beta2: 0.95, clip: 1, computeDtype: 'f32', evalEvery: 50, evalBatches: 16, saveEvery: 100, keepCheckpoints: 2, seed: 1, logEvery: 10 }),
  minLr: { type: 'number', check: (v) => v >= 0, what: '>= 0', optional: true },
  beta: { type: 'number', ...positive, default: 0.1 },
  reference: { type: 'enum', values: ['precomputed', 'live'], default: 'precomputed' },
  referenceCache: { type: 'string', optional: true },
  ref: { type: 'string', optional: true },
  lora: SFT_SCHEMA.lora,
};

/** Validates a merged settings object against a stage's schema (unknown fields are errors). */
export function parsePrefConfig<T extends PrefStageConfig>(raw: unknown, schema: Schema, where: string, source: { maxSeqLen: number }): T {
  const o = parseObject(raw, schema, where);
  if (o.seqLen === undefined) o.seqLen = Math.min(source.maxSeqLen, 2048);
  if ((o.seqLen as number) > source.maxSeqLen) throw new Error(`${where}: field "seqLen" ${o.seqLen} exceeds the model's maxSeqLen ${source.maxSeqLen}`);
  if ((o.heldout as number) >= 1 && !Number.isInteger(o.heldout)) throw new Error(`${where}: field "heldout" must be a share in [0, 1) or a whole count, got ${o.heldout}`);
  return finishTrainSettings(o as unknown as T, where);
}

export interface PrefCommandLine { from?: string; data?: string[]; out?: string; config?: string }

/** The config of `hcx rm` / `hcx dpo`: the file under the command line's --from/--data/--out. */
export function resolvePrefConfig<T extends PrefStageConfig>(stage: 'rm' | 'dpo', cl: PrefCommandLine): T {
  let file: Record<string, unknown> = {};
  let baseDir = process.cwd();
  const where = cl.config ?? `hcx ${stage}`;
  if (cl.config) {
    const raw = readConfigFile(cl.config);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${cl.config}: expected an object of settings`);
    file = raw as Record<string, unknown>;
    baseDir = path.dirname(path.resolve(cl.config));
    if ('out' in file) throw new Error(`${cl.config}: unknown field "out" (the run folder is "runDir")`);
  }
  const rel = (p: unknown) => (typeof p === 'string' ? path.resolve(baseDir, p) : p);
  const merged: Record<string, unknown> = { ...file };
  for (const k of ['from', 'runDir', 'tokenizer', 'referenceCache', 'ref']) if (k in merged) merged[k] = rel(merged[k]);
  if ('data' in merged) merged.data = (Array.isArray(merged.data) ? merged.data : [merged.data]).map(rel);
  if (cl.from) merged.from = path.resolve(cl.from);
  if (cl.data?.length) merged.data = cl.data.map((p) => path.resolve(p));
  if (cl.out) merged.runDir = path.resolve(cl.out);
  for (const [k, flag] of [['from', '--from SFT_MODEL'], ['data', '--data PAIRS'], ['runDir', '--out RUNDIR']]) {
    if (merged[k] === undefined) throw new Error(`hcx ${stage}: ${flag} is required (or "${k}" in the config file)`);
  }
  const src = describeModel(merged.from as string);
  return parsePrefConfig<T>(merged, stage === 'rm' ? RM_SCHEMA : DPO_SCHEMA, where, src.config);
}

// The pretraining run configuration: JSON validated field by field (errors name the field); every
// default is written into the run's config.json so a run can be repeated exactly.
import { type ModelConfig, parseModelConfig } from '../model/config.js';

export interface PretrainConfig {
  /** Where checkpoints, metrics and plots go. */
  runDir: string;
  /** A dataset directory built by `hcx data build`. */
  data: string;
  /** Preset name, a full config, or { preset, ...overrides }. vocabSize defaults to the dataset's. */
  model: ModelConfig;
  /** hcx tokenizer file, copied into the run so generate/export find it. */
  tokenizer?: string;
  /** Sequences per micro-batch in the short-context phase (the long phase keeps tokens per step equal). */
  batchSize: number;
  gradAccum: number;
  /** Optimizer steps over both phases. */
  steps: number;
  lr: number;
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  clip: number;
  /** Share of steps at the long context (the last part of training). */
  longShare: number;
  /** RoPE base used from the long phase on (the base-frequency adjustment for longer context). */
  longRopeBase: number;
  evalEvery: number;
  evalBatches: number;
  /** Records at the end of the short phase never trained on, for held-out loss. */
  heldoutRecords: number;
  saveEvery: number;
  /** Checkpoints kept on disk (older ones deleted); 0 keeps all. */
  keepCheckpoints: number;
  seed: number;
  logEvery: number;
}

type Raw = Record<string, unknown>;

const DEFAULTS = {
  gradAccum: 1, lr: 3e-3, warmupSteps: 20, weightDecay: 0.1, beta1: 0.9, beta2: 0.95, clip: 1.0,
  longShare: 0.1, evalEvery: 50, evalBatches: 4, heldoutRecords: 16, saveEvery: 100, keepCheckpoints: 3, seed: 1, logEvery: 10,
};

function num(o: Raw, key: string, where: string, check: (v: number) => boolean, what: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) throw new Error(`${where}: field "${key}" must be ${what}, got ${JSON.stringify(v)}`);
  return v;
}

export function parsePretrainConfig(raw: unknown, where: string, datasetVocab?: number): PretrainConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${where}: expected a JSON object`);
  const known = new Set(['runDir', 'data', 'model', 'tokenizer', 'batchSize', 'steps', 'minLr', 'longRopeBase', ...Object.keys(DEFAULTS)]);
  for (const k of Object.keys(raw)) if (!known.has(k)) throw new Error(`${where}: unknown field "${k}"`);
  const o: Raw = { ...DEFAULTS, ...(raw as Raw) };
  for (const k of ['runDir', 'data']) if (typeof o[k] !== 'string' || !o[k]) throw new Error(`${where}: field "${k}" must be a path`);
  if (o.tokenizer !== undefined && typeof o.tokenizer !== 'string') throw new Error(`${where}: field "tokenizer" must be a path`);
  let m = o.model ?? 'demo';
  if (datasetVocab !== undefined) {
    const withVocab = (x: Raw): Raw => (x.vocabSize === undefined ? { ...x, vocabSize: datasetVocab } : x);
    m = typeof m === 'string' ? withVocab({ preset: m }) : withVocab(m as Raw);
  }
  const model = parseModelConfig(m, `${where}: field "model"`);
  if (datasetVocab !== undefined && model.vocabSize < datasetVocab) {
    throw new Error(`${where}: model vocabSize ${model.vocabSize} is smaller than the dataset's ${datasetVocab}`);
  }
  const int = (k: string, min: number) => num(o, k, where, (v) => Number.isInteger(v) && v >= min, `an integer >= ${min}`);
  const pos = (k: string) => num(o, k, where, (v) => v > 0, 'a positive number');
  const lr = pos('lr');
  const c: PretrainConfig = {
    runDir: o.runDir as string, data: o.data as string, model, tokenizer: o.tokenizer as string | undefined,
    batchSize: int('batchSize', 1), gradAccum: int('gradAccum', 1), steps: int('steps', 1),
    lr, minLr: o.minLr === undefined ? lr / 10 : num(o, 'minLr', where, (v) => v >= 0 && v <= lr, 'between 0 and lr'),
    warmupSteps: int('warmupSteps', 0), weightDecay: num(o, 'weightDecay', where, (v) => v >= 0, '>= 0'),
    beta1: num(o, 'beta1', where, (v) => v >= 0 && v < 1, 'in [0, 1)'), beta2: num(o, 'beta2', where, (v) => v >= 0 && v < 1, 'in [0, 1)'),
    clip: num(o, 'clip', where, (v) => v >= 0, '>= 0 (0 disables clipping)'),
    longShare: num(o, 'longShare', where, (v) => v >= 0 && v < 1, 'in [0, 1)'),
    longRopeBase: o.longRopeBase === undefined ? model.ropeBase : pos('longRopeBase'),
    evalEvery: int('evalEvery', 0), evalBatches: int('evalBatches', 1), heldoutRecords: int('heldoutRecords', 0),
    saveEvery: int('saveEvery', 0), keepCheckpoints: int('keepCheckpoints', 0), seed: int('seed', 0), logEvery: int('logEvery', 1),
  };
  return c;
}

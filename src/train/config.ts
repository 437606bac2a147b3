// Run configurations, through the one schema mechanism (src/util/schema.ts): JSON or YAML validated field
// by field, errors that name the field, every default written into the run's config.json so a run can be
// repeated exactly. TRAIN_FIELDS are the settings every training stage shares (optimizer, schedule,
// accumulation, clipping, precision, evaluation and checkpoint cadence); each stage adds its own.
import { type ModelConfig, parseModelConfig } from '../model/config.js';
import { parseObject, type FieldSpec, type Schema } from '../util/schema.js';

/** Settings every training stage shares. */
export interface TrainSettings {
  /** Sequences (or packed rows) per micro-batch. */
  batchSize: number;
  /** Micro-batches per optimizer step. */
  gradAccum: number;
  lr: number;
  /** Cosine floor (default lr / 10). */
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  /** Global gradient-norm clip; 0 disables it. */
  clip: number;
  /** 'bf16': projections multiply in bf16 with fp32 master weights and accumulation. */
  computeDtype: 'f32' | 'bf16';
  evalEvery: number;
  evalBatches: number;
  saveEvery: number;
  /** Checkpoints kept on disk (older ones deleted, never the newest); 0 keeps all. */
  keepCheckpoints: number;
  seed: number;
  logEvery: number;
}

const unit = (v: number) => v >= 0 && v < 1;
export const TRAIN_FIELDS: Record<keyof TrainSettings, FieldSpec> = {
  batchSize: { type: 'int', min: 1 },
  gradAccum: { type: 'int', min: 1 },
  lr: { type: 'number', check: (v) => v > 0, what: 'a positive number' },
  minLr: { type: 'number', check: (v) => v >= 0, what: '>= 0', optional: true },
  warmupSteps: { type: 'int', min: 0 },
  weightDecay: { type: 'number', check: (v) => v >= 0, what: '>= 0' },
  beta1: { type: 'number', check: unit, what: 'in [0, 1)' },
  beta2: { type: 'number', check: unit, what: 'in [0, 1)' },
  clip: { type: 'number', check: (v) => v >= 0, what: '>= 0 (0 disables clipping)' },
  computeDtype: { type: 'enum', values: ['f32', 'bf16'] },
  evalEvery: { type: 'int', min: 0 },
  evalBatches: { type: 'int', min: 1 },
  saveEvery: { type: 'int', min: 0 },
  keepCheckpoints: { type: 'int', min: 0 },
  seed: { type: 'int', min: 0 },
  logEvery: { type: 'int', min: 1 },
};

/** TRAIN_FIELDS with these defaults (fields without one are required, minLr excepted). */
export function trainFields(defaults: Partial<TrainSettings>): Schema {
  return Object.fromEntries(Object.entries(TRAIN_FIELDS).map(([k, f]) => {
    const d = defaults[k as keyof TrainSettings];
    return [k, d === undefined ? f : { ...f, default: d }];
  })) as Schema;
}

/** Fills minLr (lr / 10 unless given) and checks it against lr. */
export function finishTrainSettings<T extends Partial<TrainSettings>>(o: T, where: string): T {
  if (o.lr === undefined) return o;
  if (o.minLr === undefined) o.minLr = o.lr / 10;
  else if (o.minLr > o.lr) throw new Error(`${where}: field "minLr" must be between 0 and lr (${o.lr}), got ${o.minLr}`);
  return o;
}

export interface PretrainConfig extends TrainSettings {
  /** Where checkpoints, metrics and plots go. */
  runDir: string;
  /** A dataset directory built by `hcx data build`. */
  data: string;
  /** Preset name, a full config, or { preset, ...overrides }. vocabSize defaults to the dataset's. */
  model: ModelConfig;
  /** hcx tokenizer file, copied into the run so generate/export find it. */
  tokenizer?: string;
  /** Optimizer steps over both phases. */
  steps: number;
  /** Share of steps at the long context (the last part of training). */
  longShare: number;
  /** RoPE base used from the long phase on (the base-frequency adjustment for longer context). */
  longRopeBase: number;
  /** Records at the end of the short phase never trained on, for held-out loss. */
  heldoutRecords: number;
}

const PRETRAIN_DEFAULTS: Partial<TrainSettings> = {
  gradAccum: 1, lr: 3e-3, warmupSteps: 20, weightDecay: 0.1, beta1: 0.9, beta2: 0.95, clip: 1.0, computeDtype: 'f32',
  evalEvery: 50, evalBatches: 4, saveEvery: 100, keepCheckpoints: 3, seed: 1, logEvery: 10,
};

export function parsePretrainConfig(raw: unknown, where: string, datasetVocab?: number): PretrainConfig {
  const modelField = (v: unknown, w: string): ModelConfig => {
    let m = v;
    if (datasetVocab !== undefined) {
      const withVocab = (x: Record<string, unknown>) => (x.vocabSize === undefined ? { ...x, vocabSize: datasetVocab } : x);
      m = typeof m === 'string' ? withVocab({ preset: m }) : typeof m === 'object' && m !== null ? withVocab(m as Record<string, unknown>) : m;
    }
    const model = parseModelConfig(m, w);
    if (datasetVocab !== undefined && model.vocabSize < datasetVocab) throw new Error(`${where}: model vocabSize ${model.vocabSize} is smaller than the dataset's ${datasetVocab}`);
    return model;
  };
  const schema: Schema = {
    runDir: { type: 'string' },
    data: { type: 'string' },
    model: { type: 'custom', parse: modelField, default: 'demo' },
    tokenizer: { type: 'string', optional: true },
    steps: { type: 'int', min: 1 },
    longShare: { type: 'number', check: unit, what: 'in [0, 1)', default: 0.1 },
    longRopeBase: { type: 'number', check: (v) => v > 0, what: 'a positive number', optional: true },
    heldoutRecords: { type: 'int', min: 0, default: 16 },
    ...trainFields(PRETRAIN_DEFAULTS),
  };
  const o = parseObject(raw, schema, where);
  // A default model goes through the same parse as a given one (the schema's default is the raw preset name).
  if (typeof o.model === 'string') o.model = modelField(o.model, `${where}: field "model"`);
  const c = finishTrainSettings(o as unknown as PretrainConfig, where);
  if (c.longRopeBase === undefined) c.longRopeBase = c.model.ropeBase;
  return c;
}

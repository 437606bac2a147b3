// The SFT run configuration. Precedence, field by field: the command line (--from, --data, --out), then the
// config file (JSON or YAML), then, for the settings every training stage shares (TRAIN_FIELDS), the
// source checkpoint's own training config ("inherited", printed as such), then the SFT defaults.
import path from 'node:path';
import type { ChatFormat } from '../data/chat/readers.js';
import { CHAT_FORMATS } from '../data/chat/readers.js';
import type { ModelConfig } from '../model/config.js';
import { LORA_TARGETS, type LoraConfig } from '../model/lora.js';
import { parseObject, readConfigFile, type Schema } from '../util/schema.js';
import { finishTrainSettings, TRAIN_FIELDS, type TrainSettings } from './config.js';
import { describeModel } from '../model/load.js';

export interface SftConfig extends TrainSettings {
  /** The model to start from (hcx run or checkpoint directory). */
  from: string;
  /** Chat data files. */
  data: string[];
  runDir: string;
  /** hcx tokenizer file; default the one beside the source model. */
  tokenizer?: string;
  /** Reader format for every data file ('auto': by extension and record fields). */
  format: ChatFormat;
  /** Q/A CSV: question and answer columns; and a system prompt put before each pair. */
  columns?: [string, string];
  system?: string;
  /** 'hcx': <|system|>/<|user|>/<|assistant|>/<|endofturn|>; 'model': the model's own Jinja template; 'auto': hcx's for an hcx tokenizer, else the model's. */
  template: 'auto' | 'hcx' | 'model';
  /** Tokens per row (packed) or the longest a conversation may be (padded). */
  seqLen: number;
  /** 'bfd': conversations packed into seqLen rows (best-fit decreasing, block-diagonal attention); 'none': padded. */
  packing: 'bfd' | 'none';
  /** Conversations longer than seqLen: 'cut' at seqLen, or 'drop' them. */
  truncation: 'cut' | 'drop';
  epochs: number;
  /** Optimizer steps; default as many as `epochs` passes over the rows take. */
  steps?: number;
  /** Held-out conversations for the held-out loss: a share (< 1) or a count. */
  heldout: number;
  onBadLine: 'skip' | 'fatal';
  /** Low-rank adapters instead of full fine-tuning. */
  lora?: LoraConfig;
  /** The source model's config (filled in from --from, recorded so --resume can check it). */
  model?: ModelConfig;
}

export const SFT_DEFAULTS: Omit<TrainSettings, 'minLr'> = {
  batchSize: 8, gradAccum: 1, lr: 1e-4, warmupSteps: 10, weightDecay: 0, beta1: 0.9, beta2: 0.95, clip: 1, computeDtype: 'f32',
  evalEvery: 50, evalBatches: 8, saveEvery: 100, keepCheckpoints: 2, seed: 1, logEvery: 10,
};

const optionalTrainFields = Object.fromEntries(Object.entries(TRAIN_FIELDS).map(([k, f]) => [k, { ...f, optional: true }])) as Schema;

export const SFT_SCHEMA: Schema = {
  from: { type: 'string' },
  data: { type: 'strings' },
  runDir: { type: 'string' },
  tokenizer: { type: 'string', optional: true },
  format: { type: 'enum', values: CHAT_FORMATS, default: 'auto' },
  columns: {
    type: 'custom', optional: true,
    parse: (v, w) => {
      if (!Array.isArray(v) || v.length !== 2 || v.some((x) => typeof x !== 'string' || !x)) throw new Error(`${w} must be [question column, answer column], got ${JSON.stringify(v)}`);
      return v;
    },
  },
  system: { type: 'string', optional: true },
  template: { type: 'enum', values: ['auto', 'hcx', 'model'], default: 'auto' },
  seqLen: { type: 'int', min: 2, optional: true },
  packing: { type: 'enum', values: ['bfd', 'none'], default: 'bfd' },
  truncation: { type: 'enum', values: ['cut', 'drop'], default: 'cut' },
  epochs: { type: 'int', min: 1, default: 1 },
  steps: { type: 'int', min: 1, optional: true },
  heldout: { type: 'number', check: (v) => v >= 0, what: 'a share in [0, 1) or a count >= 1', default: 0.05 },
  onBadLine: { type: 'enum', values: ['skip', 'fatal'], default: 'skip' },
  lora: {
    type: 'object', optional: true,
    fields: {
      rank: { type: 'int', min: 1, default: 8 },
      alpha: { type: 'number', check: (v) => v > 0, what: 'a positive number', default: 16 },
      dropout: { type: 'number', check: (v) => v >= 0 && v < 1, what: 'in [0, 1)', default: 0 },
      targets: {
        type: 'custom', default: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
        parse: (v, w) => {
          const list = typeof v === 'string' ? [v] : v;
          if (!Array.isArray(list) || !list.length) throw new Error(`${w} must be a list of projection names`);
          for (const t of list) if (!LORA_TARGETS.includes(t)) throw new Error(`${w}: unknown target ${JSON.stringify(t)} (targets: ${LORA_TARGETS.join(', ')})`);
          return [...new Set(list as string[])];
        },
      },
    },
  },
  model: { type: 'custom', optional: true, parse: (v) => v },
  ...optionalTrainFields,
};

export type Provenance = Record<string, 'given' | 'inherited' | 'default'>;

/**
 * Parses the merged command line + file settings; fills the shared training settings from `inherited`
 * (the source's training config, read from `inheritedFrom`) where not given, else from the defaults.
 */
export function parseSftConfig(raw: unknown, where: string, inherited: Record<string, unknown> | undefined, inheritedFrom: string,
  source: { maxSeqLen: number }): { cfg: SftConfig; provenance: Provenance } {
  const o = parseObject(raw, SFT_SCHEMA, where);
  const provenance: Provenance = {};
  for (const [k, spec] of Object.entries(TRAIN_FIELDS)) {
    if (o[k] !== undefined) { provenance[k] = 'given'; continue; }
    // minLr follows lr: inherit it only with lr itself, else lr / 10 of whatever lr is used.
    if (k === 'minLr' && o.lr !== undefined) continue;
    if (inherited && inherited[k] !== undefined) {
      o[k] = parseObject({ [k]: inherited[k] }, { [k]: spec }, `${inheritedFrom} (inherited)`)[k];
      provenance[k] = 'inherited';
    } else if (k !== 'minLr') {
      o[k] = SFT_DEFAULTS[k as keyof typeof SFT_DEFAULTS];
      provenance[k] = 'default';
    }
  }
  if (o.seqLen === undefined) { o.seqLen = Math.min(source.maxSeqLen, 2048); provenance.seqLen = 'default'; }
  if ((o.seqLen as number) > source.maxSeqLen) throw new Error(`${where}: field "seqLen" ${o.seqLen} exceeds the model's maxSeqLen ${source.maxSeqLen}`);
  if ((o.heldout as number) >= 1 && !Number.isInteger(o.heldout)) throw new Error(`${where}: field "heldout" must be a share in [0, 1) or a whole count, got ${o.heldout}`);
  const cfg = finishTrainSettings(o as unknown as SftConfig, where);
  return { cfg, provenance };
}

export interface SftCommandLine { from?: string; data?: string[]; out?: string; config?: string }

/**
 * The config of `hcx sft`: the file (paths in it relative to its folder) under the command line's
 * --from/--data/--out, the rest inherited from the source checkpoint. Returns the provenance of each
 * shared training setting so the command can print what was inherited.
 */
export function resolveSftConfig(cl: SftCommandLine): { cfg: SftConfig; provenance: Provenance; inheritedFrom: string } {
  let file: Record<string, unknown> = {};
  let baseDir = process.cwd();
  const where = cl.config ?? 'hcx sft';
  if (cl.config) {
    const raw = readConfigFile(cl.config);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${cl.config}: expected an object of settings`);
    file = raw as Record<string, unknown>;
    baseDir = path.dirname(path.resolve(cl.config));
    if ('out' in file) throw new Error(`${cl.config}: unknown field "out" (the run folder is "runDir")`);
  }
  const rel = (p: unknown) => (typeof p === 'string' ? path.resolve(baseDir, p) : p);
  const merged: Record<string, unknown> = { ...file };
  for (const k of ['from', 'runDir', 'tokenizer']) if (k in merged) merged[k] = rel(merged[k]);
  if ('data' in merged) merged.data = (typeof merged.data === 'string' ? [merged.data] : Array.isArray(merged.data) ? merged.data : [merged.data]).map(rel);
  if (cl.from) merged.from = path.resolve(cl.from);
  if (cl.data?.length) merged.data = cl.data.map((p) => path.resolve(p));
  if (cl.out) merged.runDir = path.resolve(cl.out);
  for (const [k, flag] of [['from', '--from MODEL'], ['data', '--data FILE'], ['runDir', '--out RUNDIR']]) {
    if (merged[k] === undefined) throw new Error(`hcx sft: ${flag} is required (or "${k}" in the config file)`);
  }
  const src = describeModel(merged.from as string);
  const inheritedFrom = path.join(src.source.checkpoint ?? src.source.path, 'state.json');
  const { cfg, provenance } = parseSftConfig(merged, where, src.source.trainConfig, inheritedFrom, src.config);
  return { cfg, provenance, inheritedFrom };
}

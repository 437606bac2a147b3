// The build configuration: JSON on disk, validated field by field so that a typo or a wrong type is
// reported by its path ("sources[2].weight: ...") before any work starts. Defaults fill every gap.
import { DEFAULT_THRESHOLDS, type FilterThresholds } from './filters.js';
import { PII_TYPES, DEFAULT_PLACEHOLDERS, type PiiType } from './pii.js';
import { DEFAULT_DEDUP, type DedupOptions } from './dedup.js';
import type { DocMode, Format } from './readers.js';
import { CATEGORIES, type Category } from './types.js';

export interface SourceConfig {
  /** file, directory or glob, relative to the config file's folder */
  path: string;
  name: string;
  format: Format | 'auto';
  field: string;
  column: string | number;
  docMode: DocMode;
  maxDocChars: number;
  /** fixed category, or 'auto' to detect per document */
  category: Category | 'auto';
  knowledgeRich: boolean;
  /** sampling weight of this source's documents within their category */
  weight: number;
}

export interface BuildConfig {
  outDir: string;
  sources: SourceConfig[];
  seed: number;
  onBadInput: 'skip' | 'fatal';
  filters: { enabled: boolean; thresholds: FilterThresholds };
  pii: { enabled: boolean; types: PiiType[]; placeholders: Record<PiiType, string> };
  dedup: DedupOptions;
  mixture: {
    /** target share of tokens per category; normalised over categories that have data */
    shares: Record<Category, number>;
    /** knowledge-rich documents are sampled this many times more often */
    knowledgeUpsample: number;
    /** the scarcest category may be repeated up to this many epochs to meet its share */
    maxRepeat: number;
    /** total tokens to emit; null = as many as the shares allow without exceeding maxRepeat */
    totalTokens: number | null;
  };
  fim: { psmRate: number; spmRate: number; categories: Category[] };
  packing: {
    /** tokens per training sequence in the short phase (records hold seqLen + 1 tokens) */
    seqLen: number;
    /** the long phase uses seqLen * longFactor */
    longFactor: number;
    /** share of tokens in the long phase (the last part of training) */
    longShare: number;
    /** tokens per shard file, rounded down to whole records */
    shardTokens: number;
    dtype: 'auto' | 'uint16' | 'uint32';
  };
  /** within a large file, write a resume checkpoint every this many documents */
  checkpointDocs: number;
}

export class ConfigError extends Error {
  constructor(field: string, msg: string) {
    super(`config.${field}: ${msg}`);
    this.name = 'ConfigError';
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => JSON.stringify(v) ?? String(v);

function obj(v: unknown, field: string, allowed: string[]): Obj {
  if (v === undefined) return {};
  if (!isObj(v)) throw new ConfigError(field, `must be an object, got ${show(v)}`);
  for (const k of Object.keys(v)) if (!allowed.includes(k)) throw new ConfigError(`${field}.${k}`.replace(/^\./, ''), `unknown field (expected one of: ${allowed.join(', ')})`);
  return v;
}
function num(v: unknown, field: string, def: number, min: number, max = Infinity, integer = false): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    throw new ConfigError(field, `must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got ${show(v)}`);
  }
  return v;
}
function bool(v: unknown, field: string, def: boolean): boolean {
  if (v === undefined) return def;
  if (typeof v !== 'boolean') throw new ConfigError(field, `must be true or false, got ${show(v)}`);
  return v;
}
function str<T extends string>(v: unknown, field: string, def: T, choices?: readonly T[]): T {
  if (v === undefined) return def;
  if (typeof v !== 'string' || (choices && !choices.includes(v as T))) throw new ConfigError(field, choices ? `must be one of ${choices.join(', ')}, got ${show(v)}` : `must be a string, got ${show(v)}`);
  return v as T;
}

/** Validates a parsed config; paths stay as written (resolved against the config's folder by the build). */
export function validateConfig(raw: unknown): BuildConfig {
  const top = obj(raw, '', ['outDir', 'sources', 'seed', 'onBadInput', 'filters', 'pii', 'dedup', 'mixture', 'fim', 'packing', 'checkpointDocs', '$comment']);
  if (top.outDir === undefined) throw new ConfigError('outDir', 'is required (the folder for shards, index and report)');
  const outDir = str(top.outDir, 'outDir', '');
  if (!Array.isArray(top.sources) || top.sources.length === 0) throw new ConfigError('sources', `must be a non-empty array of sources, got ${show(top.sources)}`);
  const sources = top.sources.map((s, i): SourceConfig => {
    const f = `sources[${i}]`;
    const o = obj(s, f, ['path', 'name', 'format', 'field', 'column', 'docMode', 'maxDocChars', 'category', 'knowledgeRich', 'weight']);
    if (typeof o.path !== 'string' || !o.path) throw new ConfigError(`${f}.path`, `is required: a file, directory or glob, got ${show(o.path)}`);
    if (o.column !== undefined && typeof o.column !== 'string' && !(typeof o.column === 'number' && Number.isInteger(o.column) && o.column >= 0)) {
      throw new ConfigError(`${f}.column`, `must be a column name or a 0-based index, got ${show(o.column)}`);
    }
    return {
      path: o.path,
      name: str(o.name, `${f}.name`, o.path),
      format: str(o.format, `${f}.format`, 'auto', ['auto', 'text', 'jsonl', 'csv', 'tsv'] as const),
      field: str(o.field, `${f}.field`, 'text'),
      column: (o.column as string | number | undefined) ?? 'text',
      docMode: str(o.docMode, `${f}.docMode`, 'file', ['file', 'blankline', 'line'] as const),
      maxDocChars: num(o.maxDocChars, `${f}.maxDocChars`, 100_000, 100, 1e8, true),
      category: str(o.category, `${f}.category`, 'auto', ['auto', ...CATEGORIES] as const),
      knowledgeRich: bool(o.knowledgeRich, `${f}.knowledgeRich`, false),
      weight: num(o.weight, `${f}.weight`, 1, 0),
    };
  });

  const fo = obj(top.filters, 'filters', ['enabled', 'thresholds']);
  const to = obj(fo.thresholds, 'filters.thresholds', Object.keys(DEFAULT_THRESHOLDS));
  const thresholds: FilterThresholds = { ...DEFAULT_THRESHOLDS };
  for (const [k, v] of Object.entries(to)) {
    const def = (DEFAULT_THRESHOLDS as unknown as Obj)[k];
    const field = `filters.thresholds.${k}`;
    if (Array.isArray(def)) {
      if (!Array.isArray(v) || v.length !== def.length || v.some((x) => typeof x !== 'number' || !Number.isFinite(x) || x < 0)) throw new ConfigError(field, `must be an array of ${def.length} non-negative numbers, got ${show(v)}`);
      (thresholds as unknown as Obj)[k] = v;
    } else (thresholds as unknown as Obj)[k] = num(v, field, def as number, 0);
  }

  const po = obj(top.pii, 'pii', ['enabled', 'types', 'placeholders']);
  let types = [...PII_TYPES];
  if (po.types !== undefined) {
    if (!Array.isArray(po.types)) throw new ConfigError('pii.types', `must be an array, got ${show(po.types)}`);
    types = po.types.map((t, i) => str(t, `pii.types[${i}]`, 'email', PII_TYPES));
  }
  const ph = obj(po.placeholders, 'pii.placeholders', [...PII_TYPES]);
  const placeholders = { ...DEFAULT_PLACEHOLDERS };
  for (const [k, v] of Object.entries(ph)) placeholders[k as PiiType] = str(v, `pii.placeholders.${k}`, '');

  const d = obj(top.dedup, 'dedup', ['exact', 'near', 'threshold', 'numPerm', 'shingle']);
  const numPerm = num(d.numPerm, 'dedup.numPerm', DEFAULT_DEDUP.numPerm, 2, 1024, true);
  if ((numPerm & (numPerm - 1)) !== 0) throw new ConfigError('dedup.numPerm', `must be a power of two, got ${numPerm}`);

  const m = obj(top.mixture, 'mixture', ['shares', 'knowledgeUpsample', 'maxRepeat', 'totalTokens']);
  const so = obj(m.shares, 'mixture.shares', [...CATEGORIES]);
  const shares = { korean: 1 / 3, multilingual: 1 / 3, code: 1 / 3 };
  for (const c of CATEGORIES) if (so[c] !== undefined) shares[c] = num(so[c], `mixture.shares.${c}`, 0, 0, 1);
  if (CATEGORIES.every((c) => shares[c] === 0)) throw new ConfigError('mixture.shares', 'at least one share must be positive');
  const total = m.totalTokens === null || m.totalTokens === undefined ? null : num(m.totalTokens, 'mixture.totalTokens', 0, 1, Number.MAX_SAFE_INTEGER, true);

  const fi = obj(top.fim, 'fim', ['psmRate', 'spmRate', 'categories']);
  const psmRate = num(fi.psmRate, 'fim.psmRate', 0.25, 0, 1);
  const spmRate = num(fi.spmRate, 'fim.spmRate', 0.25, 0, 1);
  if (psmRate + spmRate > 1) throw new ConfigError('fim', `psmRate + spmRate must be <= 1, got ${psmRate + spmRate}`);
  let fimCats: Category[] = ['code'];
  if (fi.categories !== undefined) {
    if (!Array.isArray(fi.categories)) throw new ConfigError('fim.categories', `must be an array, got ${show(fi.categories)}`);
    fimCats = fi.categories.map((c, i) => str(c, `fim.categories[${i}]`, 'code', CATEGORIES));
  }

  const pk = obj(top.packing, 'packing', ['seqLen', 'longFactor', 'longShare', 'shardTokens', 'dtype']);
  return {
    outDir,
    sources,
    seed: num(top.seed, 'seed', 1234, 0, 2 ** 32 - 1, true),
    onBadInput: str(top.onBadInput, 'onBadInput', 'skip', ['skip', 'fatal'] as const),
    filters: { enabled: bool(fo.enabled, 'filters.enabled', true), thresholds },
    pii: { enabled: bool(po.enabled, 'pii.enabled', true), types, placeholders },
    dedup: {
      exact: bool(d.exact, 'dedup.exact', true),
      near: bool(d.near, 'dedup.near', true),
      threshold: num(d.threshold, 'dedup.threshold', DEFAULT_DEDUP.threshold, 0.05, 1),
      numPerm,
      shingle: num(d.shingle, 'dedup.shingle', DEFAULT_DEDUP.shingle, 1, 32, true),
    },
    mixture: {
      shares,
      knowledgeUpsample: num(m.knowledgeUpsample, 'mixture.knowledgeUpsample', 2, 0),
      maxRepeat: num(m.maxRepeat, 'mixture.maxRepeat', 1, 1e-6),
      totalTokens: total,
    },
    fim: { psmRate, spmRate, categories: fimCats },
    packing: {
      seqLen: num(pk.seqLen, 'packing.seqLen', 256, 2, 1 << 20, true),
      longFactor: num(pk.longFactor, 'packing.longFactor', 8, 1, 1024, true),
      longShare: num(pk.longShare, 'packing.longShare', 0.1, 0, 1),
      shardTokens: num(pk.shardTokens, 'packing.shardTokens', 1 << 24, 1, Number.MAX_SAFE_INTEGER, true),
      dtype: str(pk.dtype, 'packing.dtype', 'auto', ['auto', 'uint16', 'uint32'] as const),
    },
    checkpointDocs: num(top.checkpointDocs, 'checkpointDocs', 20_000, 1, 1e9, true),
  };
}

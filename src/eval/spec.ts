// Task specification: the schema of a tasks/*.json file, and its validator. Errors name the file and field.
import { checkTemplate } from './template.js';
import { FILTER_FNS, type FilterPipeline } from './filters.js';
import type { BleuTokenizer } from './translation.js';

export const FORMATS = ['json', 'jsonl', 'csv', 'tsv', 'lines', 'hellaswag_text', 'parallel'] as const;
export type DatasetFormat = (typeof FORMATS)[number];

export interface DatasetSpec {
  /** `$shared/...` (the shared data folder), `$NAME/...` (a folder the user gives with --path NAME=DIR); `*` globs a path segment. `.gz` and `.bz2` are decompressed. */
  path: string;
  format: DatasetFormat;
  /** json: dotted path to the record array inside the document (e.g. "examples"); `*` takes every value of an object. */
  field?: string;
  /** A line-aligned label file: line i becomes `label` of record i (PIQA, WinoGrande). */
  labels?: string;
  /** format "parallel": field name -> line-aligned text file (FLORES). */
  parallel?: Record<string, string>;
  /** format "hellaswag_text" / "lines": field names of each group of lines. */
  fields?: string[];
}

export const OUTPUT_TYPES = ['multiple_choice', 'generate_until', 'loglikelihood_rolling', 'code', 'judge'] as const;
export type OutputType = (typeof OUTPUT_TYPES)[number];

export const METRICS = ['acc', 'acc_norm', 'acc_bytes', 'exact_match', 'f1', 'mc2', 'pass@k', 'bleu', 'chrf', 'chrf++', 'judge_score', 'word_perplexity', 'byte_perplexity', 'bits_per_byte', 'generated_length', 'kobbq_bias', 'bold_sentiment', 'gender_polarity'] as const;
export type MetricName = (typeof METRICS)[number];

export interface MetricSpec {
  metric: MetricName;
  ignore_case?: boolean;
  ignore_punctuation?: boolean;
  ignore_numbers?: boolean;
  regexes_to_ignore?: string[];
  /** pass@k: the k values (each needs at least k samples per problem). */
  k?: number[];
  /** bleu: sacrebleu tokenizer. */
  tokenize?: BleuTokenizer;
  /** kobbq_bias: the prompt's "unknown" choice text (default 알 수 없음, KoBBQ prompt 1). */
  unknown?: string;
}

export interface GenerationSpec {
  until?: string[];
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  /** Samples per document (self-consistency, pass@k). */
  repeats?: number;
  /** Send the prompt as a chat message rather than raw text. */
  chat?: boolean;
}

export interface CodeSpec {
  /** Template of the complete program, with `{{completion}}` for the model's output. */
  program: string;
  timeout_s?: number;
  memory_mb?: number;
}

export interface JudgeSpec {
  /** FastChat judge_prompts.jsonl. */
  prompts: string;
  /** FastChat reference answers (used for math, reasoning and coding questions). */
  references?: string;
  /** Categories graded against a reference answer. */
  reference_categories?: string[];
  /** Sampling temperature per question category for the answering model (FastChat's temperature_config). */
  temperature_by_category?: Record<string, number>;
}

export interface TaskSpec {
  task: string;
  groups?: string[];
  /** One task per subset: `${subset}` in strings is replaced; the task is named task_<subset slug>. */
  subsets?: string[];
  dataset: DatasetSpec;
  fewshot_dataset?: DatasetSpec;
  /** A named document processor (src/eval/processors.ts) applied to every record. */
  process?: string;
  output_type: OutputType;
  description?: string;
  doc_to_text: string;
  doc_to_choice?: string | string[];
  doc_to_target?: string;
  /** Target text used for few-shot examples when it differs from the scored target (CoT rationales). */
  doc_to_fewshot_target?: string;
  target_delimiter?: string;
  fewshot_delimiter?: string;
  num_fewshot?: number;
  fewshot_sampler?: 'first_n' | 'random';
  fewshot_seed?: number;
  /** Fixed few-shot exemplars (documents after processing). */
  fewshot_samples?: Record<string, unknown>[];
  /** A text file whose content (after an optional `-----` header line) is the few-shot prefix (BBH). */
  fewshot_prefix_file?: string;
  /** Choices are alternative contexts and the target the shared continuation (WinoGrande). */
  multiple_input?: boolean;
  generation?: GenerationSpec;
  filters?: FilterPipeline[];
  metrics: MetricSpec[];
  code?: CodeSpec;
  judge?: JudgeSpec;
  /** Free text: provenance of the prompt, deviations from lm-eval. */
  notes?: string;
  /** Set by the loader. */
  file?: string;
  subset?: string;
}

export class SpecError extends Error {
  constructor(file: string, field: string, msg: string) {
    super(`${file}: field "${field}": ${msg}`);
  }
}

const KNOWN = new Set(['task', 'groups', 'subsets', 'dataset', 'fewshot_dataset', 'process', 'output_type', 'description', 'doc_to_text', 'doc_to_choice', 'doc_to_target', 'doc_to_fewshot_target', 'target_delimiter', 'fewshot_delimiter', 'num_fewshot', 'fewshot_sampler', 'fewshot_seed', 'fewshot_samples', 'fewshot_prefix_file', 'multiple_input', 'generation', 'filters', 'metrics', 'code', 'judge', 'notes']);

/** Validate a parsed task file; returns it typed or throws SpecError naming the field. */
export function validateSpec(raw: unknown, file: string, processors: ReadonlySet<string>): TaskSpec {
  const err = (field: string, msg: string): never => { throw new SpecError(file, field, msg); };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return err('(root)', 'must be a JSON object');
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) err(k, 'unknown field');
  const str = (k: string, required: boolean): void => {
    if (o[k] === undefined) { if (required) err(k, 'is required'); return; }
    if (typeof o[k] !== 'string') err(k, `must be a string, got ${typeof o[k]}`);
  };
  str('task', true);
  if (!/^[a-z0-9_\-.]+$/.test(o.task as string)) err('task', 'use lower-case letters, digits, _ - .');
  str('output_type', true);
  if (!OUTPUT_TYPES.includes(o.output_type as OutputType)) err('output_type', `must be one of ${OUTPUT_TYPES.join(', ')}`);
  for (const k of ['description', 'doc_to_text', 'doc_to_target', 'doc_to_fewshot_target']) {
    str(k, k === 'doc_to_text');
    if (typeof o[k] === 'string') try { checkTemplate(o[k] as string); } catch (e) { err(k, (e as Error).message); }
  }
  for (const k of ['target_delimiter', 'fewshot_delimiter', 'process', 'fewshot_prefix_file', 'notes']) str(k, false);
  if (o.process !== undefined && !processors.has(o.process as string)) err('process', `unknown processor "${o.process}"; known: ${[...processors].join(', ')}`);
  const strList = (k: string, v: unknown): void => {
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) err(k, 'must be a list of strings');
  };
  if (o.groups !== undefined) strList('groups', o.groups);
  if (o.subsets !== undefined) strList('subsets', o.subsets);
  if (o.doc_to_choice !== undefined) {
    if (typeof o.doc_to_choice === 'string') { try { checkTemplate(o.doc_to_choice); } catch (e) { err('doc_to_choice', (e as Error).message); } }
    else strList('doc_to_choice', o.doc_to_choice);
  }
  checkDataset(o.dataset, 'dataset', err, true);
  checkDataset(o.fewshot_dataset, 'fewshot_dataset', err, false);
  if (o.num_fewshot !== undefined && (!Number.isInteger(o.num_fewshot) || (o.num_fewshot as number) < 0)) err('num_fewshot', 'must be a non-negative integer');
  if (o.fewshot_seed !== undefined && !Number.isInteger(o.fewshot_seed)) err('fewshot_seed', 'must be an integer');
  if (o.fewshot_sampler !== undefined && o.fewshot_sampler !== 'first_n' && o.fewshot_sampler !== 'random') err('fewshot_sampler', 'must be "first_n" or "random"');
  if (o.fewshot_samples !== undefined && (!Array.isArray(o.fewshot_samples) || o.fewshot_samples.some((x) => typeof x !== 'object' || x === null))) err('fewshot_samples', 'must be a list of objects');
  if (o.multiple_input !== undefined && typeof o.multiple_input !== 'boolean') err('multiple_input', 'must be true or false');
  if ((o.num_fewshot as number) > 0 && !o.fewshot_dataset && !o.fewshot_samples) err('num_fewshot', 'needs fewshot_dataset or fewshot_samples');
  if (o.output_type === 'multiple_choice' && o.doc_to_choice === undefined) err('doc_to_choice', 'is required for multiple_choice');
  if (o.generation !== undefined) {
    const g = o.generation as Record<string, unknown>;
    if (typeof g !== 'object' || g === null) err('generation', 'must be an object');
    for (const k of Object.keys(g)) if (!['until', 'max_tokens', 'temperature', 'top_p', 'repeats', 'chat'].includes(k)) err(`generation.${k}`, 'unknown field');
    if (g.until !== undefined) strList('generation.until', g.until);
    for (const k of ['max_tokens', 'repeats']) if (g[k] !== undefined && (!Number.isInteger(g[k]) || (g[k] as number) < 1)) err(`generation.${k}`, 'must be a positive integer');
    for (const k of ['temperature', 'top_p']) if (g[k] !== undefined && typeof g[k] !== 'number') err(`generation.${k}`, 'must be a number');
  }
  if (o.filters !== undefined) {
    if (!Array.isArray(o.filters)) err('filters', 'must be a list');
    (o.filters as unknown[]).forEach((f, i) => {
      const p = f as Record<string, unknown>;
      if (typeof p?.name !== 'string') err(`filters[${i}].name`, 'is required');
      if (!Array.isArray(p.steps)) err(`filters[${i}].steps`, 'must be a list');
      (p.steps as Record<string, unknown>[]).forEach((s, j) => {
        if (!FILTER_FNS.includes(s?.fn as (typeof FILTER_FNS)[number])) err(`filters[${i}].steps[${j}].fn`, `must be one of ${FILTER_FNS.join(', ')}`);
        if (s.fn === 'regex') {
          if (typeof s.pattern !== 'string') err(`filters[${i}].steps[${j}].pattern`, 'is required for regex');
          try { new RegExp((s.pattern as string).replace(/^\(\?[a-z]+\)/, '')); } catch (e) { err(`filters[${i}].steps[${j}].pattern`, (e as Error).message); }
        }
      });
    });
  }
  if (!Array.isArray(o.metrics) || o.metrics.length === 0) err('metrics', 'must be a non-empty list');
  (o.metrics as Record<string, unknown>[]).forEach((m, i) => {
    if (!METRICS.includes(m?.metric as MetricName)) err(`metrics[${i}].metric`, `unknown metric "${m?.metric}"; known: ${METRICS.join(', ')}`);
    if (m.metric === 'pass@k' && (!Array.isArray(m.k) || m.k.some((x) => !Number.isInteger(x) || x < 1))) err(`metrics[${i}].k`, 'pass@k needs k: a list of positive integers');
    if (m.unknown !== undefined && typeof m.unknown !== 'string') err(`metrics[${i}].unknown`, 'must be a string');
    if (m.tokenize !== undefined && !['13a', 'zh', 'char', 'none'].includes(m.tokenize as string)) err(`metrics[${i}].tokenize`, 'must be 13a, zh, char or none');
  });
  if (o.output_type === 'code') {
    const c = o.code as Record<string, unknown> | undefined;
    if (!c || typeof c.program !== 'string') err('code.program', 'is required for output_type code');
    else if (!c.program.includes('{{completion}}')) err('code.program', 'must contain {{completion}}');
  }
  if (o.output_type === 'judge') {
    const j = o.judge as Record<string, unknown> | undefined;
    if (!j || typeof j.prompts !== 'string') err('judge.prompts', 'is required for output_type judge');
  }
  return o as unknown as TaskSpec;
}

function checkDataset(v: unknown, name: string, err: (f: string, m: string) => never, required: boolean): void {
  if (v === undefined) { if (required) err(name, 'is required'); return; }
  const d = v as Record<string, unknown>;
  if (typeof d !== 'object' || d === null) err(name, 'must be an object');
  for (const k of Object.keys(d)) if (!['path', 'format', 'field', 'labels', 'parallel', 'fields'].includes(k)) err(`${name}.${k}`, 'unknown field');
  if (d.format !== 'parallel' && typeof d.path !== 'string') err(`${name}.path`, 'is required');
  if (!FORMATS.includes(d.format as DatasetFormat)) err(`${name}.format`, `must be one of ${FORMATS.join(', ')}`);
  if (typeof d.path === 'string' && !/^\$[A-Za-z_][\w-]*\//.test(d.path)) err(`${name}.path`, 'must start with $shared/ or $NAME/ (a folder given with --path NAME=DIR)');
  if (d.format === 'parallel' && (typeof d.parallel !== 'object' || d.parallel === null)) err(`${name}.parallel`, 'is required for format parallel');
}

// Task loading: tasks/*.json -> validated specs (subsets expanded), documents (processed), few-shot
// sampling, prompt construction and the requests each document makes. Mirrors lm-eval's ConfigurableTask.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { validateSpec, SpecError, type TaskSpec, type DatasetSpec } from './spec.js';
import { PROCESSOR_NAMES, processDocs } from './processors.js';
import { loadDataset, resolvePaths, readText, type PathRoots } from './data.js';
import { render, renderValue, type Doc } from './template.js';
import { PyRandom } from './pyrandom.js';

/** The repository's tasks/ folder (next to dist/). */
export function defaultTasksDir(): string {
  const here = path.dirname(new URL(import.meta.url).pathname); // dist/src/eval
  return path.resolve(here, '..', '..', '..', 'tasks');
}

const slug = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');

function substitute<T>(v: T, subset: string): T {
  const parts = subset.split('-');
  const sub = (s: string): string => s.replace(/\$\{subset\}/g, subset).replace(/\$\{subset:(\d+)\}/g, (_, i: string) => parts[Number(i)] ?? '');
  const walk = (x: unknown): unknown => (typeof x === 'string' ? sub(x) : Array.isArray(x) ? x.map(walk) : x && typeof x === 'object' ? Object.fromEntries(Object.entries(x).map(([k, y]) => [k, walk(y)])) : x);
  return walk(v) as T;
}

/** Load and validate every task file; subsets become tasks named <task>_<subset slug> in a group <task>. */
export function loadSpecs(dir = defaultTasksDir()): TaskSpec[] {
  if (!existsSync(dir)) throw new Error(`tasks folder not found: ${dir}`);
  const out: TaskSpec[] = [];
  const seen = new Map<string, string>();
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    const file = path.join(dir, name);
    let raw: unknown;
    try { raw = JSON.parse(readFileSync(file, 'utf8')); } catch (e) { throw new SpecError(file, '(root)', `not valid JSON: ${(e as Error).message}`); }
    const spec = validateSpec(raw, file, PROCESSOR_NAMES);
    const expanded = spec.subsets
      ? spec.subsets.map((s) => ({ ...substitute({ ...spec, subsets: undefined }, s), task: `${spec.task}_${slug(s)}`, groups: [spec.task, ...(spec.groups ?? [])], subset: s, file }))
      : [{ ...spec, file }];
    for (const t of expanded) {
      const prev = seen.get(t.task);
      if (prev) throw new SpecError(file, 'task', `name "${t.task}" is also defined in ${prev}`);
      seen.set(t.task, file);
      out.push(t);
    }
  }
  return out;
}

/** Resolve names and group names to task specs (order kept, duplicates dropped). */
export function selectTasks(specs: TaskSpec[], names: string[]): TaskSpec[] {
  const out: TaskSpec[] = [];
  for (const n of names) {
    const hits = specs.filter((s) => s.task === n || (s.groups ?? []).includes(n));
    if (hits.length === 0) throw new Error(`unknown task or group "${n}"; run hcx eval --list`);
    for (const h of hits) if (!out.includes(h)) out.push(h);
  }
  return out;
}

export function listGroups(specs: TaskSpec[]): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const s of specs) for (const name of s.groups ?? []) g.set(name, [...(g.get(name) ?? []), s.task]);
  return g;
}

export type Request =
  | { kind: 'loglikelihood'; context: string; continuation: string }
  | { kind: 'rolling'; text: string }
  | { kind: 'generate'; context: string; chat: boolean; until: string[]; maxTokens: number; temperature: number; topP?: number; seed: number };

export interface Instance {
  docId: number;
  doc: Doc;
  /** The rendered prompt (context) for this document. */
  prompt: string;
  requests: Request[];
  /** For multiple choice: the choice strings (without delimiter); gold index or indices. */
  choices?: string[];
  gold?: number | number[];
  /** For generation: the reference(s). */
  target?: string | string[];
}

export interface LoadedTask {
  spec: TaskSpec;
  docs: Doc[];
  fewshotDocs: Doc[];
  instances: Instance[];
}

function choicesOf(spec: TaskSpec, doc: Doc): string[] {
  const c = spec.doc_to_choice;
  if (c === undefined) throw new Error(`${spec.task}: no doc_to_choice`);
  const v = Array.isArray(c) ? c.map((x) => render(x, doc)) : renderValue(c, doc);
  if (!Array.isArray(v)) throw new Error(`${spec.task}: doc_to_choice did not give a list`);
  return v.map(String);
}

function targetOf(spec: TaskSpec, doc: Doc, fewshot: boolean): unknown {
  const t = (fewshot && spec.doc_to_fewshot_target) || spec.doc_to_target;
  if (t === undefined) return undefined;
  const v = renderValue(t, doc);
  return typeof v === 'string' && /^\d+$/.test(v) && spec.output_type === 'multiple_choice' ? Number(v) : v;
}

/** Target text of a few-shot example, as lm-eval's sampler writes it. */
function fewshotTargetText(spec: TaskSpec, doc: Doc): string {
  const t = targetOf(spec, doc, true);
  if (spec.output_type === 'multiple_choice' && typeof t === 'number' && !spec.doc_to_fewshot_target) return choicesOf(spec, doc)[t];
  if (Array.isArray(t)) return String(t[0]);
  return String(t);
}

export async function fewshotPrefixText(spec: TaskSpec, roots: PathRoots): Promise<string> {
  if (!spec.fewshot_prefix_file) return '';
  const text = await readText(resolvePaths(spec.fewshot_prefix_file, roots)[0]);
  const i = text.indexOf('\n-----\n');
  return (i >= 0 ? text.slice(i + 7) : text).replace(/\s+$/, '');
}

/** Build every document's prompt and requests. `limit` keeps the first N documents. */
export async function loadTask(spec: TaskSpec, roots: PathRoots, opts: { limit?: number; numFewshot?: number; seed?: number } = {}): Promise<LoadedTask> {
  let docs = processDocs(await loadDataset(spec.dataset, roots), spec.process, 'eval', spec.subset);
  if (opts.limit !== undefined) docs = docs.slice(0, opts.limit);
  const sameSplit = !!spec.fewshot_dataset && sameDataset(spec.fewshot_dataset, spec.dataset);
  const fewshotDocs = spec.fewshot_samples
    ? (spec.fewshot_samples as Doc[])
    : spec.fewshot_dataset
      ? processDocs(await loadDataset(spec.fewshot_dataset, roots), spec.process, 'fewshot', spec.subset)
      : [];
  const n = opts.numFewshot ?? spec.num_fewshot ?? 0;
  if (n > fewshotDocs.length && !spec.fewshot_prefix_file) throw new Error(`${spec.task}: ${n}-shot needs ${n} few-shot documents, found ${fewshotDocs.length}`);
  const rnd = new PyRandom(opts.seed ?? spec.fewshot_seed ?? 1234);
  const sampler = spec.fewshot_samples ? 'first_n' : (spec.fewshot_sampler ?? 'random');
  const prefix = await fewshotPrefixText(spec, roots);
  const tdelim = spec.target_delimiter ?? ' ';
  const fdelim = spec.fewshot_delimiter ?? '\n\n';
  const instances: Instance[] = docs.map((doc, docId) => {
    let shots: Doc[] = [];
    if (n > 0 && !spec.fewshot_prefix_file) {
      if (sampler === 'first_n') shots = fewshotDocs.filter((d) => !(sameSplit && d === doc)).slice(0, n);
      else shots = rnd.sample(fewshotDocs, sameSplit ? n + 1 : n).filter((d) => d !== doc).slice(0, n);
    }
    const description = spec.description ? render(spec.description, doc) : '';
    let ctx = description;
    if (prefix) ctx += prefix + fdelim;
    if (shots.length) ctx += shots.map((s) => render(spec.doc_to_text, s) + tdelim + fewshotTargetText(spec, s)).join(fdelim) + fdelim;
    return buildInstance(spec, doc, docId, ctx);
  });
  return { spec, docs, fewshotDocs, instances };
}

function sameDataset(a: DatasetSpec, b: DatasetSpec): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function buildInstance(spec: TaskSpec, doc: Doc, docId: number, ctxPrefix: string): Instance {
  const tdelim = spec.target_delimiter ?? ' ';
  const text = render(spec.doc_to_text, doc);
  const prompt = ctxPrefix + text;
  switch (spec.output_type) {
    case 'multiple_choice': {
      const choices = choicesOf(spec, doc);
      const t = targetOf(spec, doc, false);
      if (spec.multiple_input) {
        // WinoGrande: each choice is a context; the target is the shared continuation.
        const cont = tdelim + String(t);
        const gold = Number(renderValue('{{gold}}', doc));
        return { docId, doc, prompt, choices, gold, requests: choices.map((c) => ({ kind: 'loglikelihood', context: ctxPrefix + c, continuation: cont })) };
      }
      let gold: number | number[];
      if (Array.isArray(t)) gold = t.map(Number);
      else if (typeof t === 'number') gold = t;
      else gold = choices.indexOf(String(t));
      return { docId, doc, prompt, choices, gold, requests: choices.map((c) => ({ kind: 'loglikelihood', context: prompt, continuation: tdelim + c })) };
    }
    case 'loglikelihood_rolling':
      return { docId, doc, prompt, requests: [{ kind: 'rolling', text: String(targetOf(spec, doc, false) ?? prompt) }] };
    case 'generate_until':
    case 'code': {
      const g = spec.generation ?? {};
      const repeats = g.repeats ?? 1;
      const t = targetOf(spec, doc, false);
      const requests: Request[] = Array.from({ length: repeats }, (_, i) => ({
        kind: 'generate', context: prompt, chat: !!g.chat, until: g.until ?? [], maxTokens: g.max_tokens ?? 256,
        temperature: g.temperature ?? 0, topP: g.top_p, seed: 1234 + i,
      }));
      return { docId, doc, prompt, requests, target: Array.isArray(t) ? t.map(String) : t === undefined ? undefined : String(t) };
    }
    case 'judge':
      return { docId, doc, prompt, requests: [] };
  }
}

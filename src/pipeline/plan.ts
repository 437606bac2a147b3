// A pipeline plan (YAML or JSON): stages with their kind, config, dependencies, the evaluation suites
// to run on each checkpoint, and an optional gate on an upstream stage's evaluation. Errors name the
// file, the line and the field. A stage's key hashes its kind, config, gate and its upstream keys, so
// an unchanged stage is not rerun and a changed one reruns everything downstream of it.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, isMap, type Node } from 'yaml';
import { SUITES } from './eval_suites.js';
import { STAGES } from './stages.js';

export interface Gate { stage: string; suite: string; metric: string; min?: number; max?: number }

export interface PlanStage {
  name: string;
  kind: string;
  after: string[];
  config: Record<string, unknown>;
  /** Suites run on every checkpoint the stage saves. */
  eval: string[];
  gate?: Gate;
  maxAttempts: number;
  /** "plan.yaml:LINE: stages.NAME.config", for the stage's own config errors. */
  where: string;
}

export interface Plan {
  file: string;
  name: string;
  /** The pipeline folder: store, logs and (by default) every stage's folder. */
  dir: string;
  store: string;
  /** Relative paths in stage configs resolve against this folder (the plan's). */
  baseDir: string;
  stages: PlanStage[];
}

const REF = /\$\{([A-Za-z0-9_-]+)\.([A-Za-z0-9_.-]+)\}/g;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Upstream stage names a config refers to with ${NAME.field}. */
export function references(v: unknown, out = new Set<string>()): Set<string> {
  if (typeof v === 'string') for (const m of v.matchAll(REF)) out.add(m[1]);
  else if (Array.isArray(v)) v.forEach((x) => references(x, out));
  else if (isObj(v)) Object.values(v).forEach((x) => references(x, out));
  return out;
}

/** Replaces ${NAME.dir}, ${NAME.checkpoint}, ${NAME.files.tokenizer}, ... with upstream outputs. */
export function substitute(v: unknown, outputs: Record<string, Record<string, unknown>>, where: string): unknown {
  if (typeof v === 'string') {
    return v.replace(REF, (_m, name: string, field: string) => {
      let cur: unknown = outputs[name];
      for (const part of field.split('.')) cur = isObj(cur) ? cur[part] : undefined;
      if (typeof cur !== 'string' && typeof cur !== 'number') throw new Error(`${where}: \${${name}.${field}} is not an output of stage ${name}`);
      return String(cur);
    });
  }
  if (Array.isArray(v)) return v.map((x) => substitute(x, outputs, where));
  if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, outputs, where)]));
  return v;
}

export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isObj(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

/** Keys of every stage, upstream first (the plan's stages are already in dependency order). */
export function stageKeys(plan: Plan): Map<string, string> {
  const keys = new Map<string, string>();
  for (const s of plan.stages) {
    const h = createHash('sha256').update(canonicalJson({ kind: s.kind, config: s.config, gate: s.gate ?? null, after: s.after.map((d) => [d, keys.get(d)]) }));
    keys.set(s.name, h.digest('hex').slice(0, 16));
  }
  return keys;
}

export function stageDir(plan: Plan, s: PlanStage): string {
  const field = STAGES[s.kind].dirField;
  const v = field ? s.config[field] : undefined;
  return path.resolve(plan.baseDir, typeof v === 'string' && !references(v).size ? v : path.join(plan.dir, s.name));
}

export async function loadPlan(file: string): Promise<Plan> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  return parsePlan(text, file);
}

export async function parsePlan(text: string, file: string): Promise<Plan> {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0];
    throw new Error(`${file}:${lc.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`);
  }
  const at = (p: (string | number)[]): string => {
    const node = doc.getIn(p, true) as Node | undefined;
    const line = node?.range ? lc.linePos(node.range[0]).line : undefined;
    return `${file}${line ? `:${line}` : ''}: ${p.join('.')}`;
  };
  const fail = (p: (string | number)[], msg: string): never => { throw new Error(`${at(p)}: ${msg}`); };
  const raw = doc.toJS() as unknown;
  if (!isObj(raw)) fail([], 'a plan is a mapping with "stages"');
  const top = raw as Record<string, unknown>;
  for (const k of Object.keys(top)) if (!['name', 'dir', 'store', 'stages'].includes(k)) fail([k], 'unknown field (expected one of: name, dir, store, stages)');
  const name = top.name ?? path.basename(file).replace(/\.(ya?ml|json)$/, '');
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(name)) fail(['name'], `must be a simple name, got ${JSON.stringify(name)}`);
  const baseDir = path.dirname(path.resolve(file));
  if (top.dir !== undefined && typeof top.dir !== 'string') fail(['dir'], 'must be a path');
  const dir = path.resolve(baseDir, (top.dir as string | undefined) ?? path.join('runs', name as string));
  if (top.store !== undefined && typeof top.store !== 'string') fail(['store'], 'must be a store URL (sqlite:PATH or redis://HOST:PORT)');
  const store = (top.store as string | undefined) ?? `sqlite:${path.join(dir, 'pipeline.db')}`;
  if (!isObj(top.stages) || !Object.keys(top.stages).length) fail(['stages'], 'must map stage names to stages');
  const stagesRaw = top.stages as Record<string, unknown>;
  const names = Object.keys(stagesRaw);
  const stages: PlanStage[] = [];
  for (const sname of names) {
    const p = ['stages', sname];
    if (!/^[A-Za-z0-9_-]+$/.test(sname)) fail(p, 'a stage name is letters, digits, - and _');
    const s = stagesRaw[sname];
    if (!isObj(s)) fail(p, 'must be a mapping (kind, config, after, eval, gate)');
    const o = s as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!['kind', 'after', 'config', 'eval', 'gate', 'retries'].includes(k)) fail([...p, k], 'unknown field (expected one of: kind, after, config, eval, gate, retries)');
    const kind = o.kind ?? sname;
    if (typeof kind !== 'string' || !STAGES[kind]) fail([...p, o.kind === undefined ? 'kind' : 'kind'], `unknown stage kind ${JSON.stringify(kind)} (have: ${Object.keys(STAGES).join(', ')})`);
    const config = o.config ?? {};
    if (!isObj(config)) fail([...p, 'config'], 'must be a mapping');
    const afterRaw = o.after === undefined ? [] : typeof o.after === 'string' ? [o.after] : o.after;
    if (!Array.isArray(afterRaw) || !afterRaw.every((x) => typeof x === 'string')) fail([...p, 'after'], 'must be a stage name or a list of them');
    const after = [...new Set([...(afterRaw as string[]), ...references(config)])];
    for (const d of after) if (!names.includes(d)) fail([...p, 'after'], `unknown stage "${d}"`);
    const ev = o.eval ?? [];
    if (!Array.isArray(ev) || !ev.every((x) => typeof x === 'string')) fail([...p, 'eval'], 'must be a list of suite names');
    for (const [i, sname2] of (ev as string[]).entries()) if (!SUITES[sname2]) fail([...p, 'eval', i], `unknown suite "${sname2}" (have: ${Object.keys(SUITES).join(', ')})`);
    if ((ev as string[]).length && !STAGES[kind as string].checkpoints) fail([...p, 'eval'], `a ${kind} stage saves no checkpoints to evaluate`);
    let gate: Gate | undefined;
    if (o.gate !== undefined) {
      const g = o.gate;
      if (!isObj(g)) fail([...p, 'gate'], 'must be a mapping (stage, suite, metric, min and/or max)');
      const gg = g as Record<string, unknown>;
      for (const k of Object.keys(gg)) if (!['stage', 'suite', 'metric', 'min', 'max'].includes(k)) fail([...p, 'gate', k], 'unknown field (expected one of: stage, suite, metric, min, max)');
      for (const k of ['stage', 'suite', 'metric']) if (typeof gg[k] !== 'string') fail([...p, 'gate', k], 'is required (a name)');
      for (const k of ['min', 'max']) if (gg[k] !== undefined && typeof gg[k] !== 'number') fail([...p, 'gate', k], 'must be a number');
      if (gg.min === undefined && gg.max === undefined) fail([...p, 'gate'], 'needs a bar: min or max');
      if (!after.includes(gg.stage as string)) after.push(gg.stage as string);
      if (!names.includes(gg.stage as string)) fail([...p, 'gate', 'stage'], `unknown stage "${gg.stage}"`);
      const gated = stagesRaw[gg.stage as string] as Record<string, unknown>;
      if (!Array.isArray(gated.eval) || !gated.eval.includes(gg.suite)) fail([...p, 'gate', 'suite'], `stage ${gg.stage} does not run suite "${gg.suite}" (add it to its eval list)`);
      gate = gg as unknown as Gate;
    }
    const retries = o.retries ?? 2;
    if (!Number.isInteger(retries) || (retries as number) < 0) fail([...p, 'retries'], 'must be an integer >= 0');
    const where = at([...p, 'config']);
    await STAGES[kind as string].check(config as Record<string, unknown>, where);
    if (kind === 'ppo' && (config as Record<string, unknown>).heldoutEval === 'pipeline' && !(ev as string[]).includes('ppo')) {
      fail([...p, 'config', 'heldoutEval'], 'is "pipeline" but the stage does not run the ppo suite (add it to its eval list: its results are what the early stop reads)');
    }
    stages.push({ name: sname, kind: kind as string, after, config: config as Record<string, unknown>, eval: ev as string[], gate, maxAttempts: (retries as number) + 1, where });
  }
  return { file: path.resolve(file), name: name as string, dir, store, baseDir, stages: topoSort(stages, file) };
}

function topoSort(stages: PlanStage[], file: string): PlanStage[] {
  const byName = new Map(stages.map((s) => [s.name, s]));
  const out: PlanStage[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (s: PlanStage, trail: string[]): void => {
    if (state.get(s.name) === 'done') return;
    if (state.get(s.name) === 'visiting') throw new Error(`${file}: stages form a cycle: ${[...trail, s.name].join(' -> ')}`);
    state.set(s.name, 'visiting');
    for (const d of s.after) visit(byName.get(d)!, [...trail, s.name]);
    state.set(s.name, 'done');
    out.push(s);
  };
  for (const s of stages) visit(s, []);
  return out;
}

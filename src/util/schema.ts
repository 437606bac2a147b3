// One schema mechanism for every run configuration: a config is a plain object (from JSON or YAML)
// checked field by field against a table of field specs. Errors name the file and the field (dotted
// for nested objects); unknown fields are errors; every default is filled in, so the parsed object
// written into a run's config.json repeats the run exactly.
import { readFileSync } from 'node:fs';
import YAML from 'yaml';

interface Base<T> {
  /** Value when the field is absent; with neither default nor optional the field is required. */
  default?: T;
  optional?: boolean;
}
export type FieldSpec =
  | ({ type: 'int'; min?: number; max?: number } & Base<number>)
  | ({ type: 'number'; check?: (v: number) => boolean; what?: string } & Base<number>)
  | ({ type: 'string' } & Base<string>)
  | ({ type: 'bool' } & Base<boolean>)
  | ({ type: 'enum'; values: readonly string[] } & Base<string>)
  /** A string or a list of strings; parsed as a list. */
  | ({ type: 'strings' } & Base<string[]>)
  | ({ type: 'object'; fields: Schema } & Base<Record<string, unknown>>)
  /** Anything, checked by parse (which names `where` in its errors). */
  | ({ type: 'custom'; parse: (v: unknown, where: string) => unknown } & Base<unknown>);
export type Schema = Record<string, FieldSpec>;

const show = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));

function fail(where: string, key: string, what: string, v: unknown): never {
  throw new Error(`${where}: field "${key}" must be ${what}, got ${show(v)}`);
}

function parseField(spec: FieldSpec, v: unknown, where: string, key: string): unknown {
  switch (spec.type) {
    case 'int': {
      const min = spec.min ?? -Infinity, max = spec.max ?? Infinity;
      const what = `an integer${spec.min !== undefined ? ` >= ${min}` : ''}${spec.max !== undefined ? ` and <= ${max}` : ''}`;
      if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) fail(where, key, what, v);
      return v;
    }
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v) || (spec.check && !spec.check(v))) fail(where, key, spec.what ?? 'a finite number', v);
      return v;
    case 'string':
      if (typeof v !== 'string' || v === '') fail(where, key, 'a non-empty string', v);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') fail(where, key, 'true or false', v);
      return v;
    case 'enum':
      if (typeof v !== 'string' || !spec.values.includes(v)) fail(where, key, `one of ${spec.values.map((x) => `"${x}"`).join(', ')}`, v);
      return v;
    case 'strings': {
      const list = typeof v === 'string' ? [v] : v;
      if (!Array.isArray(list) || list.length === 0 || list.some((x) => typeof x !== 'string' || x === '')) fail(where, key, 'a string or a non-empty list of strings', v);
      return list;
    }
    case 'object':
      return parseObject(v, spec.fields, where, `${key}.`);
    case 'custom':
      return spec.parse(v, `${where}: field "${key}"`);
  }
}

/** Checks raw against schema; returns a new object with every field parsed and defaults filled in. */
export function parseObject(raw: unknown, schema: Schema, where: string, prefix = ''): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    if (prefix) fail(where, prefix.slice(0, -1), 'an object', raw);
    throw new Error(`${where}: expected an object of settings, got ${show(raw)}`);
  }
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!(k in schema)) throw new Error(`${where}: unknown field "${prefix}${k}" (known: ${Object.keys(schema).join(', ')})`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, spec] of Object.entries(schema)) {
    const v = o[k];
    if (v === undefined || v === null) {
      if (spec.default !== undefined) out[k] = structuredClone(spec.default);
      else if (!spec.optional) throw new Error(`${where}: field "${prefix}${k}" is required`);
      continue;
    }
    out[k] = parseField(spec, v, where, prefix + k);
  }
  return out;
}

/** A config file's contents: YAML for .yaml/.yml, JSON otherwise; syntax errors name the file and line. */
export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  if (/\.ya?ml$/i.test(file)) {
    const doc = YAML.parseDocument(text, { uniqueKeys: true });
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message.split('\n')[0]}`);
    return doc.toJS();
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

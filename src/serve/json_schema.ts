// JSON Schema -> the node graph the output automaton (json_automaton.ts) walks. Supported: type (one or
// a list), properties / required / additionalProperties, enum / const, items / minItems / maxItems,
// anyOf, local $ref into $defs / definitions (recursion allowed), string (minLength / maxLength), number
// and integer (minimum / maximum / exclusiveMinimum / exclusiveMaximum), boolean, null, and annotations
// (title, description, ...). Any other keyword is an error naming it and where it
// is, so a schema is never enforced only in part.

import { compileBounds, emptyBounds, type NumBounds } from './json_bounds.js';

/** Digits per part of a written number (integer, fraction): bounds checks and the automaton share it. */
export const MAX_DIGITS = 16;

export type SchemaNode =
  | { k: 'any'; id: number }
  | { k: 'object'; id: number; props: { name: string; node: SchemaNode }[]; required: Set<string>; additional: SchemaNode | null }
  | { k: 'array'; id: number; items: SchemaNode; min: number; max: number }
  /** minLength / maxLength in code points (JSON Schema's measure). */
  | { k: 'string'; id: number; minLen?: number; maxLen?: number }
  | { k: 'number' | 'integer'; id: number; bounds?: NumBounds }
  | { k: 'boolean' | 'null'; id: number }
  /** enum / const: the canonical JSON texts of the allowed values, as UTF-8. */
  | { k: 'literal'; id: number; values: Uint8Array[] }
  | { k: 'anyOf'; id: number; options: SchemaNode[] }
  /** A $ref, resolved after the whole schema is read (so recursive references work). */
  | { k: 'ref'; id: number; target: SchemaNode | null };

export class SchemaError extends Error {
  constructor(readonly keyword: string, readonly at: string, message: string) { super(message); }
}

const ANNOTATIONS = new Set(['title', 'description', 'default', 'examples', '$schema', '$id', '$comment', 'readOnly', 'writeOnly', 'deprecated', 'strict']);
const STRING_KWS = ['minLength', 'maxLength'];
const NUMBER_KWS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'];
const TYPES = ['object', 'array', 'string', 'number', 'integer', 'boolean', 'null'] as const;
type TypeName = (typeof TYPES)[number];

// Node ids key the automaton's states; unique across schemas, since one grammar may hold several (tools).
let nextId = 1;

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Compiles a JSON Schema (an object, or true/false) into automaton nodes; throws SchemaError. */
export function compileSchema(schema: unknown): SchemaNode {
  const refs: { node: Extract<SchemaNode, { k: 'ref' }>; path: string; at: string }[] = [];
  const byPath = new Map<string, SchemaNode>();
  const root = schema;
  const fail = (kw: string, at: string, why: string): never => { throw new SchemaError(kw, at, `${why} (at ${at || '/'})`); };

  function node(s: unknown, at: string): SchemaNode {
    if (s === true) return { k: 'any', id: nextId++ };
    if (typeof s !== 'object' || s === null || Array.isArray(s)) return fail('type', at, 'a schema must be an object or true');
    const o = s as Record<string, unknown>;
    const known = new Set(['type', 'properties', 'required', 'additionalProperties', 'enum', 'const', 'items', 'minItems', 'maxItems', 'anyOf', '$ref', '$defs', 'definitions', ...STRING_KWS, ...NUMBER_KWS]);
    for (const kw of Object.keys(o)) {
      if (!known.has(kw) && !ANNOTATIONS.has(kw)) fail(kw, at, `unsupported JSON schema keyword '${kw}'`);
    }
    for (const defs of ['$defs', 'definitions']) {
      const d = o[defs];
      if (d === undefined) continue;
      if (typeof d !== 'object' || d === null || Array.isArray(d)) fail(defs, at, `'${defs}' must be an object`);
    }
    if (o.$ref !== undefined) {
      if (typeof o.$ref !== 'string' || !o.$ref.startsWith('#')) return fail('$ref', at, "only local references ('#/$defs/Name') are supported");
      const others = Object.keys(o).filter((k) => k !== '$ref' && k !== '$defs' && k !== 'definitions' && !ANNOTATIONS.has(k));
      if (others.length) fail(others[0], at, `'${others[0]}' beside '$ref' is not supported`);
      const r = { k: 'ref' as const, id: nextId++, target: null };
      refs.push({ node: r, path: o.$ref, at });
      return r;
    }
    if (o.const !== undefined || o.enum !== undefined) {
      const values = o.const !== undefined ? [o.const] : o.enum;
      if (!Array.isArray(values) || values.length === 0) return fail('enum', at, "'enum' must be a non-empty list");
      return { k: 'literal', id: nextId++, values: [...new Set(values.map((v) => JSON.stringify(v)))].map(utf8) };
    }
    if (o.anyOf !== undefined) {
      if (!Array.isArray(o.anyOf) || o.anyOf.length === 0) return fail('anyOf', at, "'anyOf' must be a non-empty list");
      const rest = Object.keys(o).filter((k) => k !== 'anyOf' && k !== '$defs' && k !== 'definitions' && !ANNOTATIONS.has(k));
      if (rest.length) fail(rest[0], at, `'${rest[0]}' beside 'anyOf' is not supported (move it into each option)`);
      return { k: 'anyOf', id: nextId++, options: o.anyOf.map((x, i) => node(x, `${at}/anyOf/${i}`)) };
    }
    let types: TypeName[];
    if (o.type === undefined) types = inferTypes(o);
    else {
      const list = Array.isArray(o.type) ? o.type : [o.type];
      for (const t of list) if (!TYPES.includes(t as TypeName)) fail('type', at, `unknown type ${JSON.stringify(t)}`);
      types = list as TypeName[];
      if (types.length === 0) fail('type', at, "'type' must not be an empty list");
    }
    const options = types.map((t) => typed(t, o, at));
    if (types.length === 0) return { k: 'any', id: nextId++ };
    return options.length === 1 ? options[0] : { k: 'anyOf', id: nextId++, options };
  }

  function inferTypes(o: Record<string, unknown>): TypeName[] {
    const t: TypeName[] = [];
    if (o.properties !== undefined || o.required !== undefined || o.additionalProperties !== undefined) t.push('object');
    if (o.items !== undefined || o.minItems !== undefined || o.maxItems !== undefined) t.push('array');
    if (STRING_KWS.some((k) => o[k] !== undefined)) t.push('string');
    if (NUMBER_KWS.some((k) => o[k] !== undefined)) t.push('number');
    return t;
  }

  function typed(t: TypeName, o: Record<string, unknown>, at: string): SchemaNode {
    const applies = (k: string) => (k.endsWith('Items') || k === 'items' ? 'arrays' : STRING_KWS.includes(k) ? 'strings' : NUMBER_KWS.includes(k) ? 'numbers' : 'objects');
    const misplaced = (kws: string[]) => { for (const k of kws) if (o[k] !== undefined) fail(k, at, `'${k}' applies to ${applies(k)}, and the type here is '${t}'`); };
    const nonNeg = (k: string, d: number): number => {
      const v = o[k];
      if (v === undefined) return d;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return fail(k, at, `'${k}' must be a non-negative integer`);
      return v;
    };
    if (t !== 'string') misplaced(STRING_KWS);
    if (t !== 'number' && t !== 'integer') misplaced(NUMBER_KWS);
    if (t === 'object') {
      misplaced(['items', 'minItems', 'maxItems']);
      const p = o.properties ?? {};
      if (typeof p !== 'object' || p === null || Array.isArray(p)) return fail('properties', at, "'properties' must be an object");
      const props = Object.entries(p as Record<string, unknown>).map(([name, s]) => ({ name, node: node(s, `${at}/properties/${name}`) }));
      const req = o.required ?? [];
      if (!Array.isArray(req) || req.some((r) => typeof r !== 'string')) return fail('required', at, "'required' must be a list of property names");
      const ap = o.additionalProperties;
      for (const r of req as string[]) if (!props.some((x) => x.name === r) && ap === false) fail('required', at, `required property '${r}' is not in 'properties' and additionalProperties is false`);
      if (req.some((r) => !props.some((x) => x.name === r))) fail('required', at, "'required' names a property not listed in 'properties' (not supported)");
      const additional = ap === false ? null : ap === undefined || ap === true ? { k: 'any' as const, id: nextId++ } : node(ap, `${at}/additionalProperties`);
      return { k: 'object', id: nextId++, props, required: new Set(req as string[]), additional };
    }
    if (t === 'array') {
      misplaced(['properties', 'required', 'additionalProperties']);
      const min = nonNeg('minItems', 0), max = nonNeg('maxItems', Infinity);
      if (max < min) fail('maxItems', at, "'maxItems' is below 'minItems'");
      if (Array.isArray(o.items)) fail('items', at, "tuple 'items' (a list of schemas) is not supported");
      return { k: 'array', id: nextId++, items: o.items === undefined ? { k: 'any', id: nextId++ } : node(o.items, `${at}/items`), min, max };
    }
    misplaced(['properties', 'required', 'additionalProperties', 'items', 'minItems', 'maxItems']);
    if (t === 'string') {
      const minLen = nonNeg('minLength', 0), maxLen = nonNeg('maxLength', Infinity);
      if (maxLen < minLen) fail('maxLength', at, "'maxLength' is below 'minLength'");
      return { k: t, id: nextId++, ...(minLen > 0 ? { minLen } : {}), ...(maxLen < Infinity ? { maxLen } : {}) };
    }
    if (t === 'number' || t === 'integer') {
      const num = (k: string): number | undefined => {
        const v = o[k];
        if (v === undefined) return undefined;
        if (typeof v !== 'number' || !Number.isFinite(v)) return fail(k, at, `'${k}' must be a finite number`);
        if (Math.abs(v) >= 10 ** (MAX_DIGITS - 1)) return fail(k, at, `'${k}' must be below 1e${MAX_DIGITS - 1} in magnitude (numbers are written with at most ${MAX_DIGITS} digits)`);
        return v;
      };
      const b = { min: num('minimum'), max: num('maximum'), xmin: num('exclusiveMinimum'), xmax: num('exclusiveMaximum') };
      if (Object.values(b).every((v) => v === undefined)) return { k: t, id: nextId++ };
      const bounds = compileBounds(b, t === 'integer' ? 0 : MAX_DIGITS);
      if (emptyBounds(bounds)) fail('maximum', at, `no ${t} satisfies these bounds`);
      return { k: t, id: nextId++, bounds };
    }
    return { k: t, id: nextId++ };
  }

  const top = node(schema, '');
  for (const r of refs) {
    let target = byPath.get(r.path);
    if (!target) {
      let s: unknown = root;
      for (const part of r.path.replace(/^#\/?/, '').split('/').filter(Boolean)) {
        const key = decodeURIComponent(part).replace(/~1/g, '/').replace(/~0/g, '~');
        s = typeof s === 'object' && s !== null ? (s as Record<string, unknown>)[key] : undefined;
      }
      if (s === undefined) fail('$ref', r.at, `'$ref' ${r.path} points to nothing`);
      target = r.path === '#' ? top : node(s, r.path.slice(1));
      byPath.set(r.path, target);
    }
    r.node.target = target;
  }
  for (const r of refs) {
    const seen = new Set<SchemaNode>();
    let t: SchemaNode | null = r.node;
    while (t && t.k === 'ref') { if (seen.has(t)) fail('$ref', r.at, "'$ref' cycle without a value"); seen.add(t); t = t.target; }
  }
  return top;
}

/** Follows $refs to a value node. */
export function deref(n: SchemaNode): Exclude<SchemaNode, { k: 'ref' }> {
  while (n.k === 'ref') n = n.target!;
  return n;
}

/** The automaton node of OpenAI's json_object mode: any JSON object. */
export const anyObject = (): SchemaNode => ({ k: 'object', id: nextId++, props: [], required: new Set(), additional: { k: 'any', id: nextId++ } });

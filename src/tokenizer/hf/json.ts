// Reading tokenizer.json components: typed field access with errors that name the file and the field.

export type Json = Record<string, unknown>;

export class TokenizerFileError extends Error {}

/** Where a component sits: the file and the JSON path, e.g. `tokenizer.json: pre_tokenizer.pretokenizers[1]`. */
export class Where {
  constructor(readonly file: string, readonly path: string) {}
  at(key: string | number): Where {
    return new Where(this.file, typeof key === 'number' ? `${this.path}[${key}]` : this.path ? `${this.path}.${key}` : key);
  }
  error(msg: string): TokenizerFileError {
    return new TokenizerFileError(`${this.file}: ${this.path || '(top level)'}: ${msg}`);
  }
  unsupported(kind: string, type: unknown): TokenizerFileError {
    return this.error(`${kind} type ${JSON.stringify(type)} is not supported`);
  }
}

export function obj(v: unknown, w: Where): Json {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw w.error(`expected an object, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
  return v as Json;
}

export function str(o: Json, key: string, w: Where, dflt?: string): string {
  const v = o[key];
  if (v === undefined || v === null) { if (dflt !== undefined) return dflt; throw w.at(key).error('missing'); }
  if (typeof v !== 'string') throw w.at(key).error(`expected a string, got ${typeof v}`);
  return v;
}

export function optStr(o: Json, key: string, w: Where): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw w.at(key).error(`expected a string or null, got ${typeof v}`);
  return v;
}

export function bool(o: Json, key: string, w: Where, dflt?: boolean): boolean {
  const v = o[key];
  if (v === undefined || v === null) { if (dflt !== undefined) return dflt; throw w.at(key).error('missing'); }
  if (typeof v !== 'boolean') throw w.at(key).error(`expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

export function num(o: Json, key: string, w: Where, dflt?: number): number {
  const v = o[key];
  if (v === undefined || v === null) { if (dflt !== undefined) return dflt; throw w.at(key).error('missing'); }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw w.at(key).error(`expected a number, got ${JSON.stringify(v)}`);
  return v;
}

export function arr(o: Json, key: string, w: Where): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) throw w.at(key).error(`expected an array, got ${v === undefined ? 'nothing' : typeof v}`);
  return v;
}

/** The `pattern` of Split/Replace: {"String": "..."} or {"Regex": "..."}. */
export function pattern(o: Json, key: string, w: Where): { kind: 'string' | 'regex'; value: string } {
  const p = obj(o[key], w.at(key));
  if (typeof p.String === 'string') return { kind: 'string', value: p.String };
  if (typeof p.Regex === 'string') return { kind: 'regex', value: p.Regex };
  throw w.at(key).error('expected {"String": ...} or {"Regex": ...}');
}

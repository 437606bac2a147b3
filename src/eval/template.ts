// A small, strict template language for task files: `{{ expr }}` where expr is a path into the document
// (`question`, `question.stem`, `choices[0]`, `answers.text[1]`) followed by optional filters:
// `| trim`, `| lower`, `| upper`, `| join(", ")`, `| default("x")`, `| json`.
// A template that is exactly one `{{ expr }}` returns the raw value (a list, a number), so
// `"doc_to_choice": "{{choices}}"` yields an array and `"doc_to_target": "{{label}}"` a number.

export type Doc = Record<string, unknown>;

export class TemplateError extends Error {}

function parsePath(expr: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /\s*(?:\.?([A-Za-z_$][\w$-]*)|\[\s*(\d+)\s*\]|\[\s*"([^"]*)"\s*\])/y;
  let pos = 0;
  while (pos < expr.length) {
    re.lastIndex = pos;
    const m = re.exec(expr);
    if (!m) throw new TemplateError(`cannot parse "${expr}" at position ${pos}`);
    out.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : m[3]));
    pos = re.lastIndex;
    if (/^\s*$/.test(expr.slice(pos))) break;
  }
  return out;
}

export function lookup(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const key of parsePath(path)) {
    if (cur === null || cur === undefined) throw new TemplateError(`"${path}": "${key}" of ${cur === null ? 'null' : 'undefined'}`);
    if (typeof key === 'number') {
      if (!Array.isArray(cur)) throw new TemplateError(`"${path}": index [${key}] of a non-list`);
      cur = cur[key];
    } else cur = (cur as Record<string, unknown>)[key];
  }
  if (cur === undefined) throw new TemplateError(`"${path}" is not in the document (fields: ${Object.keys((doc ?? {}) as object).join(', ')})`);
  return cur;
}

function stringArg(arg: string | undefined, name: string): string {
  if (arg === undefined) throw new TemplateError(`filter ${name} needs an argument`);
  const a = arg.trim();
  if (!/^".*"$/s.test(a)) throw new TemplateError(`filter ${name}: argument must be a JSON string, got ${a}`);
  return JSON.parse(a) as string;
}

function applyFilter(value: unknown, filter: string, expr: string): unknown {
  const m = /^\s*([a-z_]+)\s*(?:\((.*)\))?\s*$/s.exec(filter);
  if (!m) throw new TemplateError(`bad filter "${filter}" in {{${expr}}}`);
  const [, name, arg] = m;
  switch (name) {
    case 'trim': return String(value).trim();
    case 'lower': return String(value).toLowerCase();
    case 'upper': return String(value).toUpperCase();
    case 'json': return JSON.stringify(value);
    case 'join': {
      if (!Array.isArray(value)) throw new TemplateError(`join of a non-list in {{${expr}}}`);
      return value.join(stringArg(arg, 'join'));
    }
    case 'default': return value === null || value === '' ? stringArg(arg, 'default') : value;
    default: throw new TemplateError(`unknown filter "${name}" in {{${expr}}}`);
  }
}

function evalExpr(doc: Doc, expr: string): unknown {
  const [path, ...filters] = splitFilters(expr);
  const p = path.trim();
  let v: unknown = /^".*"$/s.test(p) ? JSON.parse(p) : /^-?\d+$/.test(p) ? Number(p) : lookup(doc, p);
  for (const f of filters) v = applyFilter(v, f, expr);
  return v;
}

/** Split on `|` outside of string literals. */
function splitFilters(expr: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let inStr = false;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (c === '"' && expr[i - 1] !== '\\') inStr = !inStr;
    if (c === '|' && !inStr) { parts.push(cur); cur = ''; } else cur += c;
  }
  parts.push(cur);
  return parts;
}

const TAG = /\{\{([\s\S]*?)\}\}/g;

/** Render to a value: a template that is a single tag returns the raw value; otherwise a string. */
export function renderValue(template: string, doc: Doc): unknown {
  const single = /^\{\{([\s\S]*?)\}\}$/.exec(template);
  if (single && !single[1].includes('}}')) return evalExpr(doc, single[1]);
  return render(template, doc);
}

export function render(template: string, doc: Doc): string {
  return template.replace(TAG, (_, expr: string) => {
    const v = evalExpr(doc, expr);
    if (v === null || v === undefined) return '';
    return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  });
}

/** Check a template's syntax without a document (paths are checked at run time). */
export function checkTemplate(template: string): void {
  for (const m of template.matchAll(TAG)) {
    const [path, ...filters] = splitFilters(m[1]);
    const p = path.trim();
    if (!/^".*"$/s.test(p) && !/^-?\d+$/.test(p)) parsePath(p);
    for (const f of filters) if (!/^\s*(trim|lower|upper|json|join|default)\s*(\(.*\))?\s*$/s.test(f)) throw new TemplateError(`unknown filter "${f.trim()}"`);
  }
}

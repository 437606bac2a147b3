// Dataset readers for task files: JSON, JSONL, CSV (RFC 4180, multi-line cells), TSV (no quoting),
// plain lines, HellaSwag's 6-lines-per-item text, line-aligned parallel files; gzip and bzip2 transparently.
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import path from 'node:path';
import bz2 from 'unbzip2-stream';
import type { DatasetSpec } from './spec.js';
import type { Doc } from './template.js';

export interface PathRoots {
  /** Folder for `$shared/...` paths. */
  shared: string;
  /** Folders the user gives with --path NAME=DIR. */
  named: Record<string, string>;
}

/** The default shared data folder: $HCX_DATA, else ../shared/data beside the repository. */
export function defaultSharedDir(): string {
  if (process.env.HCX_DATA) return process.env.HCX_DATA;
  const here = path.dirname(new URL(import.meta.url).pathname); // dist/src/eval
  return path.resolve(here, '..', '..', '..', '..', 'shared', 'data');
}

export class MissingDataError extends Error {}

/** Resolve `$root/rel` with `*` wildcards in segments; returns matching files, sorted. */
export function resolvePaths(spec: string, roots: PathRoots): string[] {
  const m = /^\$([A-Za-z_][\w-]*)\/(.*)$/.exec(spec);
  if (!m) throw new Error(`dataset path "${spec}" must start with $shared/ or $NAME/`);
  const [, root, rel] = m;
  const base = root === 'shared' ? roots.shared : roots.named[root];
  if (!base) throw new MissingDataError(`data for "$${root}" is not available here: pass --path ${root}=DIR (the folder holding the public release)`);
  let cur = [base];
  for (const seg of rel.split('/')) {
    if (!seg.includes('*')) { cur = cur.map((c) => path.join(c, seg)); continue; }
    const re = new RegExp('^' + seg.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
    cur = cur.flatMap((c) => (existsSync(c) && statSync(c).isDirectory() ? readdirSync(c).sort().filter((n) => re.test(n)).map((n) => path.join(c, n)) : []));
  }
  const found = cur.filter((p) => existsSync(p));
  if (found.length === 0) throw new MissingDataError(`no file matches ${spec} (resolved under ${base})`);
  return found.sort();
}

async function readBz2(file: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const s = Readable.from([readFileSync(file)]).pipe(bz2());
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve());
    s.on('error', reject);
  });
  return Buffer.concat(chunks);
}

export async function readText(file: string): Promise<string> {
  let buf: Buffer = readFileSync(file);
  if (file.endsWith('.gz')) buf = gunzipSync(buf);
  else if (file.endsWith('.bz2')) buf = await readBz2(file);
  let s = buf.toString('utf8');
  if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
  return s;
}

/** RFC 4180 CSV: quoted cells may hold commas, quotes ("") and newlines. */
export function parseCsv(text: string, delimiter = ','): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let inQuotes = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') { cell += '"'; i++; } else inQuotes = false;
      } else cell += c;
    } else if (c === '"' && cell === '') inQuotes = true;
    else if (c === delimiter) { row.push(cell); cell = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell); rows.push(row); row = []; cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) { row.push(cell); rows.push(row); }
  return rows;
}

function rowsToDocs(rows: string[][], file: string): Doc[] {
  const [header, ...body] = rows;
  if (!header) return [];
  return body.filter((r) => r.length > 1 || r[0] !== '').map((r, i) => {
    if (r.length !== header.length) throw new Error(`${file}: row ${i + 2} has ${r.length} cells, the header ${header.length}`);
    return Object.fromEntries(header.map((h, j) => [h, r[j]]));
  });
}

const lines = (t: string): string[] => { const ls = t.split(/\r?\n/); if (ls[ls.length - 1] === '') ls.pop(); return ls; };

function pluck(doc: unknown, field: string | undefined, file: string): Doc[] {
  let cur: unknown = doc;
  if (field) {
    for (const k of field.split('.')) {
      if (k === '*') {
        cur = Object.values(cur as Record<string, unknown>).flatMap((v) => (Array.isArray(v) ? v : [v]));
      } else cur = (cur as Record<string, unknown>)?.[k];
    }
  }
  if (!field && !Array.isArray(cur)) return [cur as Doc]; // one document; a processor may expand it
  if (!Array.isArray(cur)) throw new Error(`${file}: ${field ? `field "${field}"` : 'the document'} is not a list of records`);
  return cur as Doc[];
}

async function readOne(file: string, ds: DatasetSpec): Promise<Doc[]> {
  const text = await readText(file);
  switch (ds.format) {
    case 'json': return pluck(JSON.parse(text), ds.field, file);
    case 'jsonl': return lines(text).filter((l) => l.trim()).map((l, i) => {
      try { return JSON.parse(l) as Doc; } catch (e) { throw new Error(`${file}: line ${i + 1}: ${(e as Error).message}`); }
    });
    case 'csv': return rowsToDocs(parseCsv(text), file);
    case 'tsv': return rowsToDocs(lines(text).map((l) => l.split('\t')), file);
    case 'lines': return lines(text).map((l) => ({ [ds.fields?.[0] ?? 'text']: l }));
    case 'hellaswag_text': {
      const ls = lines(text);
      const docs: Doc[] = [];
      for (let i = 0; i + 5 < ls.length + 0; i += 6) docs.push({ query: ls[i], label: Number(ls[i + 1]), choices: ls.slice(i + 2, i + 6) });
      if (ls.length % 6 !== 0) throw new Error(`${file}: ${ls.length} lines is not a multiple of 6`);
      return docs;
    }
    case 'parallel': throw new Error('unreachable');
  }
}

/** Read every record of a dataset spec; each record gets `_file` (the file's base name) when a glob matched several. */
export async function loadDataset(ds: DatasetSpec, roots: PathRoots): Promise<Doc[]> {
  if (ds.format === 'parallel') {
    const cols = await Promise.all(Object.entries(ds.parallel ?? {}).map(async ([k, p]) => [k, lines(await readText(resolvePaths(p, roots)[0]))] as const));
    const n = cols[0]?.[1].length ?? 0;
    for (const [k, c] of cols) if (c.length !== n) throw new Error(`parallel dataset: "${k}" has ${c.length} lines, expected ${n}`);
    return Array.from({ length: n }, (_, i) => Object.fromEntries(cols.map(([k, c]) => [k, c[i]])));
  }
  const files = resolvePaths(ds.path, roots);
  const out: Doc[] = [];
  for (const f of files) {
    const docs = await readOne(f, ds);
    if (files.length > 1) for (const d of docs) d._file = path.basename(f);
    out.push(...docs);
  }
  if (ds.labels) {
    const labels = lines(await readText(resolvePaths(ds.labels, roots)[0]));
    if (labels.length !== out.length) throw new Error(`${ds.labels}: ${labels.length} labels for ${out.length} records`);
    out.forEach((d, i) => (d.label = labels[i].trim()));
  }
  return out;
}

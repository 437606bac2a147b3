// Streaming document readers: plain text, JSONL (a chosen field), CSV/TSV (a chosen column), each
// optionally gzip- or bz2-compressed. Files are read in chunks and split into lines as they arrive;
// only the document being assembled is held in memory.
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import unbzip2 from 'unbzip2-stream';
import { CsvParser } from './csv.js';
import { FatalInputError, type OnBadInput, type RawDoc } from './types.js';

export type Format = 'text' | 'jsonl' | 'csv' | 'tsv';
export type DocMode = 'file' | 'blankline' | 'line';

export interface ReadOptions {
  format?: Format | 'auto';
  /** JSONL: the text field, dotted for nesting ("meta.body") */
  field?: string;
  /** CSV/TSV: column name from the header row, or a 0-based index */
  column?: string | number;
  /** text: one document per file (split past maxDocChars), per blank-line block, or per line */
  docMode?: DocMode;
  /** a text document is cut at the next blank line past this many characters */
  maxDocChars?: number;
}

const COMPRESSED = /\.(gz|bz2)$/i;

/** The extension that matters for format and category: "a.jsonl.gz" -> ".jsonl". */
export function innerExt(file: string): string {
  return path.extname(path.basename(file).replace(COMPRESSED, '')).toLowerCase();
}

export function detectFormat(file: string): Format {
  const ext = innerExt(file);
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.csv') return 'csv';
  if (ext === '.tsv') return 'tsv';
  return 'text';
}

function openStream(file: string): Readable {
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  if (/\.gz$/i.test(file)) return raw.pipe(createGunzip());
  if (/\.bz2$/i.test(file)) {
    // unbzip2-stream is a classic (through) stream: re-wrap it so it is async-iterable, and carry its errors
    const out = new PassThrough();
    const bz = unbzip2();
    bz.on('error', (e: Error) => out.destroy(e));
    raw.on('error', (e: Error) => out.destroy(e));
    raw.pipe(bz).pipe(out);
    return out;
  }
  return raw;
}

/** Lines of a file in batches (one per decoded chunk), with the 1-based number of the first line. */
export async function* readLineBatches(file: string, onBad: OnBadInput): AsyncGenerator<{ first: number; lines: string[] }> {
  const decoder = new TextDecoder('utf-8', { fatal: false });
  let carry = '';
  let lineNo = 1;
  let firstChunk = true;
  let badLines = 0;
  const stream = openStream(file);
  try {
    for await (const c of stream as AsyncIterable<Uint8Array>) {
      const chunk = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
      if (firstChunk) {
        firstChunk = false;
        // NUL bytes in the first 8 KiB: a binary file (image, archive, compiled object), not text
        if (chunk.subarray(0, 8192).indexOf(0) >= 0) { onBad({ file, line: 1, reason: 'binary file (NUL bytes)' }); return; }
        if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) { yield* split(decoder.decode(chunk.subarray(3), { stream: true })); continue; }
      }
      yield* split(decoder.decode(chunk, { stream: true }));
    }
    yield* split(decoder.decode(), true);
  } catch (e) {
    if (e instanceof FatalInputError) throw e;
    onBad({ file, line: lineNo, reason: `read error: ${(e as Error).message}` });
  }

  function* split(text: string, last = false): Generator<{ first: number; lines: string[] }> {
    const s = carry + text;
    const lines = s.split('\n');
    carry = last ? '' : lines.pop()!;
    if (last && lines[lines.length - 1] === '') lines.pop();
    if (lines.length === 0) return;
    const first = lineNo;
    lineNo += lines.length;
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i];
      if (l.length && l.charCodeAt(l.length - 1) === 13) lines[i] = l.slice(0, -1);
      // U+FFFD is what the decoder substitutes for invalid UTF-8: report the line and drop it
      if (lines[i].indexOf('\uFFFD') >= 0) {
        if (badLines++ < 20) onBad({ file, line: first + i, reason: 'invalid UTF-8' });
        lines[i] = '\u0000'; // marker: skipped by the format readers
      }
    }
    yield { first, lines };
  }
}

function getField(obj: unknown, dotted: string): unknown {
  let cur: unknown = obj;
  for (const k of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/** Documents of one file, streamed. */
export async function* readDocs(file: string, opts: ReadOptions, onBad: OnBadInput): AsyncGenerator<RawDoc> {
  const format = !opts.format || opts.format === 'auto' ? detectFormat(file) : opts.format;
  const ext = innerExt(file);
  const batches = readLineBatches(file, onBad);
  if (format === 'jsonl') {
    const field = opts.field ?? 'text';
    for await (const { first, lines } of batches) {
      for (let i = 0; i < lines.length; i++) {
        const l = lines[i];
        if (l === '\u0000' || l.trim() === '') continue;
        let v: unknown;
        try { v = getField(JSON.parse(l), field); } catch (e) {
          onBad({ file, line: first + i, reason: `broken JSON: ${(e as Error).message}` });
          continue;
        }
        if (typeof v !== 'string') { onBad({ file, line: first + i, reason: `field "${field}" missing or not a string` }); continue; }
        yield { text: v, file, line: first + i, ext };
      }
    }
    return;
  }
  if (format === 'csv' || format === 'tsv') {
    const parser = new CsvParser(format === 'csv' ? ',' : '\t');
    const want = opts.column ?? 'text';
    let col = typeof want === 'number' ? want : -1;
    let header = typeof want === 'number';
    for await (const { first, lines } of batches) {
      for (let i = 0; i < lines.length; i++) {
        if (lines[i] === '\u0000') continue;
        const rec = parser.pushLine(lines[i], first + i);
        if (!rec) continue;
        if (!header) {
          header = true;
          col = rec.indexOf(String(want));
          if (col < 0) { onBad({ file, line: parser.startLine, reason: `no column "${want}" in header [${rec.join(', ')}]` }); return; }
          continue;
        }
        if (rec.length === 1 && rec[0] === '') continue;
        if (col >= rec.length) { onBad({ file, line: parser.startLine, reason: `record has ${rec.length} cells, column ${col} missing` }); continue; }
        yield { text: rec[col], file, line: parser.startLine, ext };
      }
    }
    if (parser.pending) onBad({ file, line: parser.startLine, reason: 'unterminated quoted cell at end of file' });
    return;
  }
  // plain text
  const mode = opts.docMode ?? 'file';
  const maxChars = opts.maxDocChars ?? 100_000;
  let buf: string[] = [];
  let size = 0;
  let start = 1;
  const flush = (): RawDoc | undefined => {
    const text = buf.join('\n').replace(/^\n+|\n+$/g, '');
    buf = []; size = 0;
    return text ? { text, file, line: start, ext } : undefined;
  };
  for await (const { first, lines } of batches) {
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i];
      if (l === '\u0000') continue;
      if (mode === 'line') {
        if (l.trim()) yield { text: l, file, line: first + i, ext };
        continue;
      }
      const blank = l.trim() === '';
      // cut at a blank line (a paragraph boundary), or anywhere once far past the limit
      if ((blank && (mode === 'blankline' || size > maxChars)) || size > 2 * maxChars) {
        const d = flush();
        if (d) yield d;
        start = first + i + 1;
        if (blank) continue;
      }
      if (size === 0 && blank) { start = first + i + 1; continue; }
      buf.push(l); size += l.length + 1;
    }
  }
  const d = flush();
  if (d) yield d;
}

// Text inputs for tokenizer training: plain text, JSONL (the "text" field, else every string value) and
// directories (walked recursively). Yields pieces of at most ~1 MB so that memory stays bounded.
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { packageRoot } from './default-segmenter.js';

/** The shared data folder: $HCX_SHARED_DATA, else ../shared/data beside the package. */
export function sharedDataDir(): string {
  return process.env.HCX_SHARED_DATA ?? path.join(packageRoot(), '..', 'shared', 'data');
}

function* walk(p: string): Generator<string> {
  const st = statSync(p);
  if (!st.isDirectory()) { yield p; return; }
  for (const name of readdirSync(p).sort()) {
    if (name.startsWith('.') || name === 'node_modules') continue;
    yield* walk(path.join(p, name));
  }
}

function jsonStrings(v: unknown, out: string[]): void {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) jsonStrings(x, out);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) jsonStrings(x, out);
}

export async function* readTexts(inputs: readonly string[]): AsyncGenerator<string> {
  for (const input of inputs) {
    for (const file of walk(input)) {
      const jsonl = /\.jsonl$/i.test(file);
      const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
      let buf = '';
      for await (const line of rl) {
        if (jsonl) {
          if (line.trim() === '') continue;
          try {
            const v = JSON.parse(line) as unknown;
            if (v && typeof v === 'object' && typeof (v as { text?: unknown }).text === 'string') yield (v as { text: string }).text;
            else { const s: string[] = []; jsonStrings(v, s); if (s.length) yield s.join('\n'); }
          } catch { yield line; }
          continue;
        }
        buf += line + '\n';
        if (buf.length > 1 << 20) { yield buf; buf = ''; }
      }
      if (buf) yield buf;
    }
  }
}

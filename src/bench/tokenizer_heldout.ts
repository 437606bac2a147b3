// Text for the tokenizer benchmark and the export parity test, from ../shared/data and installed sources:
// Korean (KorQuAD, NSMC, hate-speech comments, chatbot), English (WikiText-2, BOLD), code (this repository's
// src/ and node_modules), and every KMMLU question as the evaluation prompt shows it.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { CsvParser } from '../data/csv.js';
import { packageRoot } from '../tokenizer/default-segmenter.js';

export interface Corpus { train: string[]; held: string[] }

/** Every 10th document is held out. */
export function splitDocs(docs: string[]): Corpus {
  const c: Corpus = { train: [], held: [] };
  docs.forEach((d, i) => (i % 10 === 9 ? c.held : c.train).push(d));
  return c;
}

/** KorQuAD contexts (one document each), NSMC reviews (one per file), hate-speech and chatbot lines (50 per document). */
export function koreanDocs(d: string): string[] {
  const docs: string[] = [];
  const kq = path.join(d, 'korquad/dataset/KorQuAD_v1.0_dev.json');
  if (existsSync(kq)) for (const a of JSON.parse(readFileSync(kq, 'utf8')).data) for (const p of a.paragraphs) docs.push(p.context);
  const ns = path.join(d, 'nsmc/raw');
  if (existsSync(ns)) for (const f of readdirSync(ns).sort()) docs.push((JSON.parse(readFileSync(path.join(ns, f), 'utf8')) as Array<{ review: string }>).map((r) => r.review).join('\n'));
  const hs = path.join(d, 'korean-hate-speech/unlabeled/unlabeled_comments_5.txt');
  if (existsSync(hs)) { const lines = readFileSync(hs, 'utf8').split('\n'); for (let i = 0; i < lines.length; i += 50) docs.push(lines.slice(i, i + 50).join('\n')); }
  const cb = path.join(d, 'korean-chatbot-data/ChatbotData.csv');
  if (existsSync(cb)) { const lines = readFileSync(cb, 'utf8').split('\n'); for (let i = 1; i < lines.length; i += 50) docs.push(lines.slice(i, i + 50).join('\n')); }
  return docs;
}

/** WikiText-2 valid + test articles, BOLD Wikipedia prompts. */
export function englishDocs(d: string): string[] {
  const docs: string[] = [];
  for (const f of ['valid.txt', 'test.txt']) {
    const p = path.join(d, 'wikitext-2/word_language_model/data/wikitext-2', f);
    if (existsSync(p)) docs.push(...readFileSync(p, 'utf8').split(/\n(?= = [^=])/));
  }
  const bw = path.join(d, 'bold/wikipedia');
  if (existsSync(bw)) for (const f of readdirSync(bw).sort()) {
    const j = JSON.parse(readFileSync(path.join(bw, f), 'utf8')) as Record<string, Record<string, string[]>>;
    for (const g of Object.values(j)) for (const s of Object.values(g)) docs.push(s.join(' '));
  }
  return docs;
}

/** Installed source code, up to maxBytes: this repository's own src/, then node_modules JavaScript/TypeScript/C/Python. */
export function codeDocs(maxBytes: number): string[] {
  const docs: string[] = [];
  let n = 0;
  const walk = (p: string, depth: number) => {
    if (n >= maxBytes || depth > 8) return;
    for (const name of readdirSync(p).sort()) {
      if (n >= maxBytes) return;
      const q = path.join(p, name);
      if (name.startsWith('.') || name.startsWith('tokenizer-') || name === 'js-tiktoken') continue;
      const st = statSync(q);
      if (st.isDirectory()) walk(q, depth + 1);
      else if (/\.(ts|js|mjs|cc|h|py)$/.test(name) && !/\.min\.|\.d\.ts$/.test(name) && st.size < 200_000) { docs.push(readFileSync(q, 'utf8')); n += st.size; }
    }
  };
  const root = packageRoot();
  walk(path.join(root, 'src'), 0);
  walk(path.join(root, 'node_modules'), 0);
  return docs;
}

/**
 * Every KMMLU question (all subjects, test and dev) as the kmmlu task's prompt renders it: the question, the
 * lettered options and 정답：. Empty when the data is absent.
 */
export function kmmluPrompts(d: string): string[] {
  const dir = path.join(d, 'kmmlu/datasets/KMMLU/data');
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.csv')).sort()) {
    const parser = new CsvParser(',');
    let header: string[] | undefined;
    readFileSync(path.join(dir, f), 'utf8').split(/\r?\n/).forEach((line, i) => {
      if (line === '' && !parser.pending) return;
      const rec = parser.pushLine(line, i + 1);
      if (!rec) return;
      if (!header) { header = rec; return; }
      const col = (name: string) => {
        const k = header!.indexOf(name);
        if (k < 0 || rec[k] === undefined) throw new Error(`${path.join(dir, f)}:${parser.startLine}: no column "${name}"`);
        return rec[k];
      };
      out.push(`${col('question').trim()}\nA. ${col('A')}\nB. ${col('B')}\nC. ${col('C')}\nD. ${col('D')}\n정답：`);
    });
  }
  return out;
}

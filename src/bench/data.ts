// `hcx bench data`: data pipeline throughput on one core (filters + PII scrubbing + near/exact dedup,
// the per-document pass) for Korean and English text from ../shared/data, and peak RSS while
// streaming an input of at least 1 GB (real text repeated with perturbations) through readers and
// the same pass. Prints a table, or one JSON document with --json.
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineCommand, type OptionTable, type Values } from '../cli/args.js';
import { validateConfig } from '../data/config.js';
import { DocProcessor } from '../data/process.js';
import { readDocs } from '../data/readers.js';
import { emptyStats } from '../data/stats.js';
import { Rng } from '../data/hashing.js';
import { packageRoot } from '../data/corpus/code.js';

function sharedDir(flag?: string): string {
  const candidates = [flag, process.env.HCX_SHARED_DATA, path.join(packageRoot(), '..', 'shared', 'data'), path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../shared/data')];
  for (const c of candidates) if (c && existsSync(path.join(c, 'MANIFEST.md'))) return c;
  throw new Error('hcx bench data: ../shared/data not found (pass --shared DIR)');
}

/** Real documents of one language, each ~2-6 kB (short items grouped, as a crawl page would hold them). */
function corpus(shared: string, lang: 'ko' | 'en'): string[] {
  const texts: string[] = [];
  if (lang === 'ko') {
    texts.push(...readFileSync(path.join(shared, 'korean-hate-speech/unlabeled/unlabeled_comments_5.txt'), 'utf8').split('\n'));
    const kq = JSON.parse(readFileSync(path.join(shared, 'korquad/dataset/KorQuAD_v1.0_dev.json'), 'utf8')) as { data: { paragraphs: { context: string }[] }[] };
    for (const a of kq.data) for (const p of a.paragraphs) texts.push(p.context);
    for (const f of ['ko_kaist-ud-dev.conllu', 'ko_kaist-ud-test.conllu']) {
      const p = path.join(shared, 'ud-korean/kaist', f);
      if (existsSync(p)) for (const l of readFileSync(p, 'utf8').split('\n')) if (l.startsWith('# text = ')) texts.push(l.slice(9));
    }
  } else {
    texts.push(...readFileSync(path.join(shared, 'wikitext-2/word_language_model/data/wikitext-2/valid.txt'), 'utf8').split('\n'));
    texts.push(...readFileSync(path.join(shared, 'wikitext-2/word_language_model/data/wikitext-2/test.txt'), 'utf8').split('\n'));
    texts.push(...readFileSync(path.join(shared, 'tinyshakespeare/data/tinyshakespeare/input.txt'), 'utf8').split('\n\n'));
  }
  const docs: string[] = [];
  let cur: string[] = [], size = 0;
  const rng = new Rng(1);
  let target = 2000 + rng.int(4000);
  for (const t of texts) {
    if (!t.trim()) continue;
    cur.push(t.trim()); size += t.length;
    if (size > target) { docs.push(cur.join('\n')); cur = []; size = 0; target = 2000 + rng.int(4000); }
  }
  if (cur.length) docs.push(cur.join('\n'));
  return docs;
}

function processor(): DocProcessor {
  const cfg = validateConfig({ outDir: 'x', sources: [{ path: 'x' }] });
  return new DocProcessor(cfg, emptyStats());
}

/** CPU seconds of this process (user + system): a per-core figure even when the machine is shared. */
const cpuSeconds = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

/**
 * MB/s of the per-document pass over docs, repeated with perturbation (prepared before timing) until
 * at least minBytes. Reported per CPU second (one thread) and per wall second.
 */
function throughput(docs: string[], minBytes: number): { mb_per_s: number; mb_per_wall_s: number; mb: number; kept: number; docs: number } {
  const rng = new Rng(3);
  const texts: string[] = [];
  let bytes = 0;
  for (let round = 0; bytes < minBytes; round++) {
    for (const d of docs) {
      // later rounds perturb the text so the dedup tables keep growing like a real crawl's
      const text = round === 0 ? d : perturb(d, rng, 0.05);
      bytes += Buffer.byteLength(text);
      texts.push(text);
    }
  }
  const proc = processor();
  let kept = 0;
  const c0 = cpuSeconds(), t0 = process.hrtime.bigint();
  for (const text of texts) if (proc.process({ text, file: '', line: 0, ext: '' }, 'auto')) kept++;
  const wall = Number(process.hrtime.bigint() - t0) / 1e9, cpu = cpuSeconds() - c0;
  return { mb_per_s: bytes / 1e6 / cpu, mb_per_wall_s: bytes / 1e6 / wall, mb: bytes / 1e6, kept, docs: texts.length };
}

function perturb(text: string, rng: Rng, p: number): string {
  const words = text.split(' ');
  for (let i = 0; i < words.length; i++) {
    const u = rng.next();
    if (u < p / 2) words[i] = words[rng.int(words.length)];
    else if (u < p) words[i] = words[i] + rng.int(100);
  }
  return words.join(' ');
}

/** Writes a JSONL file of at least sizeMb by repeating perturbed real documents. */
async function makeBigInput(file: string, docs: string[], sizeMb: number): Promise<number> {
  const out = createWriteStream(file);
  const rng = new Rng(9);
  let bytes = 0;
  while (bytes < sizeMb * 1e6) {
    const d = docs[rng.int(docs.length)];
    const line = JSON.stringify({ text: rng.next() < 0.3 ? d : perturb(d, rng, 0.02 + rng.next() * 0.3) }) + '\n';
    bytes += Buffer.byteLength(line);
    if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
  return bytes;
}

const options = {
  json: { type: 'boolean', description: 'print one JSON document' },
  shared: { type: 'string', placeholder: 'DIR', description: 'the shared data folder (default: $HCX_SHARED_DATA or ../shared/data)' },
  'size-mb': { type: 'number', min: 1, default: 1024, description: 'size of the streamed input for the peak-RSS row' },
  'min-mb': { type: 'number', min: 1, default: 64, description: 'text per language for the throughput rows' },
  tmp: { type: 'string', placeholder: 'DIR', description: 'where to write the streamed input (default: the OS temp folder)' },
} as const satisfies OptionTable;

export const command = defineCommand({ summary: 'data pipeline throughput per core and peak RSS while streaming a 1 GB input', options, run });

async function run(o: Values<typeof options>): Promise<void> {
  const json = o.json;
  const shared = sharedDir(o.shared);
  const sizeMb = o.sizeMb;
  const minMb = o.minMb;
  const results: Record<string, unknown> = { threads: 1, node: process.version };
  const rows: string[][] = [];
  for (const lang of ['ko', 'en'] as const) {
    const docs = corpus(shared, lang);
    const r = throughput(docs, minMb * 1e6);
    results[lang] = r;
    rows.push([`per-doc pass, ${lang}`, r.mb.toFixed(0) + ' MB', r.mb_per_s.toFixed(1), `${r.kept}/${r.docs} kept; ${r.mb_per_wall_s.toFixed(1)} MB per wall second`]);
  }
  // peak RSS: stream a >= 1 GB file through the reader and the per-document pass
  const dir = mkdtempSync(path.join(o.tmp ?? tmpdir(), 'hcx-bench-data-'));
  try {
    const file = path.join(dir, 'big.jsonl');
    const docs = [...corpus(shared, 'ko'), ...corpus(shared, 'en')];
    await makeBigInput(file, docs, sizeMb);
    const bytes = statSync(file).size;
    const proc = processor();
    let n = 0, kept = 0;
    const c0 = cpuSeconds(), t0 = process.hrtime.bigint();
    for await (const d of readDocs(file, { format: 'jsonl' }, () => {})) { n++; if (proc.process(d, 'auto')) kept++; }
    const wall = Number(process.hrtime.bigint() - t0) / 1e9, s = cpuSeconds() - c0;
    const peak = process.resourceUsage().maxRSS / 1024;
    results.big = { mb: bytes / 1e6, cpu_seconds: s, wall_seconds: wall, mb_per_s: bytes / 1e6 / s, mb_per_wall_s: bytes / 1e6 / wall, docs: n, kept, dedup: proc.stats.dedup, dedup_table_mb: proc.dedup.bytes / 1e6 };
    results.peak_rss_mb = peak;
    rows.push([`stream ${(bytes / 1e9).toFixed(2)} GB jsonl`, (bytes / 1e6).toFixed(0) + ' MB', (bytes / 1e6 / s).toFixed(1), `${kept}/${n} kept, peak RSS ${peak.toFixed(0)} MB`]);
  } finally { rmSync(dir, { recursive: true, force: true }); }
  const ko = results.ko as { mb_per_s: number }, en = results.en as { mb_per_s: number };
  results.mb_per_s = Math.min(ko.mb_per_s, en.mb_per_s);
  results.targets = { mb_per_s: 10, peak_rss_mb: 1024 };
  if (json) { console.log(JSON.stringify(results, null, 2)); return; }
  console.log('hcx bench data (one thread: filters + PII scrubbing + exact/near dedup; MB per CPU second)\n');
  console.log(['case'.padEnd(28), 'input'.padStart(9), 'MB/s'.padStart(7), '  notes'].join(''));
  for (const r of rows) console.log([r[0].padEnd(28), r[1].padStart(9), r[2].padStart(7), '  ' + r[3]].join(''));
  console.log(`\nmb_per_s ${(results.mb_per_s as number).toFixed(1)} (target >= 10); peak_rss_mb ${(results.peak_rss_mb as number).toFixed(0)} (target < 1024)`);
}

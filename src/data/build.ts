// `buildDataset`: the whole pipeline. Pass 1 streams every source through the per-document pass into
// a per-category store, checkpointing as it goes; pass 2 plans the mixture, applies FIM, packs the two
// context phases and writes shards. A killed build rerun with the same config resumes: pass 1 from its
// last checkpoint (dedup tables are rebuilt from the store), pass 2 after the last whole shard.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { validateConfig, type BuildConfig } from './config.js';
import { expandPath } from './glob.js';
import { claimDatasetDir, removeBuildFiles } from './outdir.js';
import { readDocs } from './readers.js';
import { DocProcessor } from './process.js';
import { DocStoreReader, DocStoreWriter, FLAG_KNOWLEDGE } from './store.js';
import { emptyStats, countBad, type BuildStats } from './stats.js';
import { planMixture, phaseBoundary, type MixturePlan } from './mixture.js';
import { chooseFim, encodeFim, type FimMode } from './fim.js';
import { Packer } from './packer.js';
import { ShardWriter, writeJsonAtomic, type DatasetIndex, type Dtype, type PhaseIndex, type Cursor } from './shards.js';
import { fmix32, Rng } from './hashing.js';
import { BUILTIN_PARTS, writeDefaultCorpus, type BuiltinPart } from './corpus/index.js';
import { writeReport, type BuildReport, type PhaseReport } from './report.js';
import { CATEGORIES, FatalInputError, LANGS, type Category, type TextEncoder, type BadInput } from './types.js';

export interface BuildOptions {
  tokenizer: TextEncoder;
  /** folder that relative source paths and outDir are resolved against (the config file's folder) */
  baseDir?: string;
  /** discard any earlier (partial) build in outDir instead of resuming it */
  fresh?: boolean;
  log?: (msg: string) => void;
  /** testing hook: stop (as if killed) after this many documents of pass 1, or this many shards of pass 2 */
  stopAfter?: { docs?: number; shards?: number };
}

export interface BuildResult { outDir: string; index: DatasetIndex; report: BuildReport }

interface Progress {
  buildHash: string;
  stage: 'filter' | 'mix' | 'done';
  nextFile: number;
  docsInFile: number;
  stores: Record<Category, { textBytes: number; docs: number }>;
  stats: BuildStats;
}

export class BuildStopped extends Error {}

const instanceRng = (seed: number, i: number): Rng => new Rng(fmix32((seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0));

function tokenizerFingerprint(enc: TextEncoder): string {
  const probe = enc.encode('hcx probe: 한국어 문장, English text, and code() { return 1; }\n');
  return JSON.stringify({ v: enc.vocabSize, s: enc.special, p: probe });
}

export async function buildDataset(rawConfig: BuildConfig | unknown, opts: BuildOptions): Promise<BuildResult> {
  const cfg = validateConfig(rawConfig);
  const base = opts.baseDir ?? process.cwd();
  const log = opts.log ?? (() => {});
  const enc = opts.tokenizer;
  const outDir = path.resolve(base, cfg.outDir);
  const work = path.join(outDir, 'work');
  const t0 = Date.now();
  // Refuse a folder hcx did not make before writing anything into it (the built-in corpus goes there too).
  claimDatasetDir(outDir);
  if (opts.fresh) {
    const removed = removeBuildFiles(outDir);
    if (removed.length) log(`--fresh: removed ${removed.length} file(s) of the earlier build in ${outDir}`);
  }

  // inputs: every source expanded to files, in a fixed order; builtin:<part> is the embedded corpus
  const files: { file: string; source: number }[] = [];
  cfg.sources.forEach((s, i) => {
    if (s.path.startsWith('builtin:')) {
      const part = s.path.slice(8) as BuiltinPart;
      if (!BUILTIN_PARTS.includes(part)) throw new Error(`config.sources[${i}].path: unknown built-in corpus "${part}" (have: ${BUILTIN_PARTS.join(', ')})`);
      const m = writeDefaultCorpus(path.join(outDir, 'corpus'));
      files.push({ file: path.join(outDir, 'corpus', m.files[part].file), source: i });
    } else {
      let found: string[];
      try { found = expandPath(s.path, base); } catch (e) { throw new Error(`config.sources[${i}].path: ${(e as Error).message}`); }
      if (found.length === 0) throw new Error(`config.sources[${i}].path: "${s.path}" matches no files (relative paths are resolved against ${base})`);
      for (const f of found) files.push({ file: f, source: i });
    }
  });
  const { outDir: _o, checkpointDocs: _c, ...hashed } = cfg;
  const buildHash = createHash('sha256').update(JSON.stringify({
    hashed, files: files.map((f) => [f.file, statSync(f.file).size]), tok: tokenizerFingerprint(enc),
  })).digest('hex').slice(0, 16);

  const progressPath = path.join(work, 'progress.json');
  mkdirSync(work, { recursive: true });
  let prog: Progress | undefined;
  if (existsSync(progressPath)) {
    prog = JSON.parse(readFileSync(progressPath, 'utf8')) as Progress;
    if (prog.buildHash !== buildHash) throw new Error(`${outDir} holds a build of a different config, inputs or tokenizer (hash ${prog.buildHash}, now ${buildHash}); use --fresh to start over`);
    log(`resuming the build in ${outDir} at stage "${prog.stage}"`);
  }
  prog ??= {
    buildHash, stage: 'filter', nextFile: 0, docsInFile: 0, stats: emptyStats(),
    stores: Object.fromEntries(CATEGORIES.map((c) => [c, { textBytes: 0, docs: 0 }])) as Progress['stores'],
  };
  const p = prog;
  const storePaths = (c: Category) => [path.join(work, `${c}.text`), path.join(work, `${c}.meta`)] as const;

  if (p.stage === 'filter') await filterPass(cfg, p, files, enc, storePaths, progressPath, log, opts.stopAfter?.docs);
  const stats = p.stats;

  // pass 2: mixture, FIM, packing, shards
  const stores = {} as Record<Category, DocStoreReader | undefined>;
  for (const c of CATEGORIES) stores[c] = p.stores[c].docs ? new DocStoreReader(...storePaths(c)) : undefined;
  const plan = planMixture(stores, cfg.mixture, cfg.seed);
  const dtype: Dtype = cfg.packing.dtype !== 'auto' ? cfg.packing.dtype : enc.vocabSize <= 65536 ? 'uint16' : 'uint32';
  if (dtype === 'uint16' && enc.vocabSize > 65536) throw new Error(`packing.dtype uint16 cannot hold a vocabulary of ${enc.vocabSize}`);
  const indexPath = path.join(outDir, 'index.json');
  let index: DatasetIndex;
  if ((p.stage === 'mix' || p.stage === 'done') && existsSync(indexPath)) index = JSON.parse(readFileSync(indexPath, 'utf8')) as DatasetIndex;
  else {
    const boundary = phaseBoundary(plan, cfg.packing.longShare);
    const phase = (name: string, seqLen: number, a: number, b: number): PhaseIndex & { tokensByCategory: Record<string, number>; fim: Record<FimMode, number> } => ({
      name, seqLen, recordLen: seqLen + 1, firstInstance: a, endInstance: b, records: 0, shards: [], complete: false, droppedTailTokens: 0,
      tokensByCategory: { korean: 0, multilingual: 0, code: 0 }, fim: { psm: 0, spm: 0, none: 0 },
    });
    const phases = [phase('short', cfg.packing.seqLen, 0, boundary)];
    if (boundary < plan.cat.length) phases.push(phase('long', cfg.packing.seqLen * cfg.packing.longFactor, boundary, plan.cat.length));
    index = { format: 'hcx-shards-v1', dtype, vocabSize: enc.vocabSize, special: { ...enc.special }, buildHash, phases, complete: false };
    p.stage = 'mix';
    writeJsonAtomic(indexPath, index);
    writeJsonAtomic(progressPath, p);
  }
  const tMix = Date.now();
  let shardsWritten = 0;
  for (const ph of index.phases as (PhaseIndex & { tokensByCategory: Record<string, number>; fim: Record<FimMode, number> })[]) {
    if (ph.complete) continue;
    const start: Cursor = ph.shards.length ? ph.shards[ph.shards.length - 1].end : { instance: ph.firstInstance, consumed: 0 };
    const writer = new ShardWriter(outDir, ph, dtype, cfg.packing.shardTokens, (info) => {
      ph.shards.push(info);
      ph.records += info.records;
      writeJsonAtomic(indexPath, index);
      log(`wrote ${info.file} (${info.records} records)`);
      if (opts.stopAfter?.shards !== undefined && ++shardsWritten >= opts.stopAfter.shards) throw new BuildStopped('stopped after shards (test hook)');
    });
    let lastCursor: Cursor = start;
    const packer = new Packer(ph.recordLen, (rec, after) => { lastCursor = after; writer.push(rec, after); });
    for (let i = start.instance; i < ph.endInstance; i++) {
      const cat = CATEGORIES[plan.cat[i]];
      const rng = instanceRng(cfg.seed, i);
      const mode: FimMode = cfg.fim.categories.includes(cat) ? chooseFim(rng, cfg.fim.psmRate, cfg.fim.spmRate) : 'none';
      const toks = encodeFim(stores[cat]!.text(plan.doc[i]), mode, rng, enc);
      toks.push(enc.special.eot);
      const from = i === start.instance ? start.consumed : 0;
      if (from === 0) ph.fim[mode]++;
      packer.push(toks, i, from, (n) => { ph.tokensByCategory[cat] += n; });
    }
    writer.flush(lastCursor);
    ph.droppedTailTokens = packer.pending;
    ph.complete = true;
    writeJsonAtomic(indexPath, index);
  }
  index.complete = true;
  writeJsonAtomic(indexPath, index);
  p.stage = 'done';
  writeJsonAtomic(progressPath, p);
  for (const c of CATEGORIES) stores[c]?.close();

  const phases: PhaseReport[] = (index.phases as (PhaseIndex & { tokensByCategory: Record<Category, number>; fim: Record<FimMode, number> })[]).map((ph) => ({
    name: ph.name, seqLen: ph.seqLen, records: ph.records, tokens: ph.records * ph.recordLen, shards: ph.shards.length,
    tokensByCategory: ph.tokensByCategory, fim: ph.fim, droppedTailTokens: ph.droppedTailTokens,
  }));
  const report = writeReport(outDir, { cfg, stats, plan: summarisePlan(plan), phases, dtype, vocabSize: enc.vocabSize, seconds: { filter: stats.secondsFilter, mix: (Date.now() - tMix) / 1000, total: (Date.now() - t0) / 1000 } });
  return { outDir, index, report };
}

function summarisePlan(plan: MixturePlan): BuildReport['mixture'] {
  return { totalTarget: plan.totalTarget, plannedTokens: plan.plannedTokens, instances: plan.cat.length, perCategory: plan.perCategory, warnings: plan.warnings };
}

async function filterPass(cfg: BuildConfig, p: Progress, files: { file: string; source: number }[], enc: TextEncoder,
  storePaths: (c: Category) => readonly [string, string], progressPath: string, log: (m: string) => void, stopAfterDocs?: number): Promise<void> {
  const t0 = Date.now();
  const secondsBefore = p.stats.secondsFilter;
  const resuming = p.nextFile > 0 || p.docsInFile > 0 || CATEGORIES.some((c) => p.stores[c].docs > 0);
  const proc = new DocProcessor(cfg, p.stats);
  const writers = {} as Record<Category, DocStoreWriter>;
  for (const c of CATEGORIES) writers[c] = new DocStoreWriter(...storePaths(c), resuming ? p.stores[c] : undefined);
  if (resuming) {
    // the dedup tables are not saved: rebuild them from the documents already kept
    for (const c of CATEGORIES) {
      if (!p.stores[c].docs) continue;
      const r = new DocStoreReader(...storePaths(c));
      for (let i = 0; i < r.docs; i++) proc.remember(r.text(i), LANGS[(r.metaOf(i).flags >> 8) & 0xff] ?? 'other');
      r.close();
    }
  }
  const checkpoint = (): void => {
    for (const c of CATEGORIES) p.stores[c] = { textBytes: writers[c].textBytes, docs: writers[c].docs };
    p.stats.secondsFilter = secondsBefore + (Date.now() - t0) / 1000;
    writeJsonAtomic(progressPath, p);
  };
  const onBad = (bad: BadInput): void => {
    if (cfg.onBadInput === 'fatal') throw new FatalInputError(bad);
    countBad(p.stats, bad);
    log(`skipped ${bad.file}:${bad.line}: ${bad.reason}`);
  };
  let processed = 0;
  try {
    for (let fi = p.nextFile; fi < files.length; fi++) {
      const { file, source } = files[fi];
      const src = cfg.sources[source];
      const ps = (p.stats.perSource[src.name] ??= { files: 0, docsIn: 0, docsOut: 0 });
      const skip = fi === p.nextFile ? p.docsInFile : 0;
      let k = 0;
      for await (const raw of readDocs(file, src, onBad)) {
        if (k++ < skip) continue;
        ps.docsIn++;
        const kept = proc.process(raw, src.category);
        if (kept) {
          const tokens = enc.encode(kept.text).length;
          const flags = (src.knowledgeRich ? FLAG_KNOWLEDGE : 0) | (LANGS.indexOf(kept.lang) << 8);
          writers[kept.category].append(kept.text, tokens, src.weight, flags);
          const cs = p.stats.perCategory[kept.category];
          cs.docsOut++; cs.bytesOut += Buffer.byteLength(kept.text, 'utf8'); cs.tokensOut += tokens;
          ps.docsOut++;
        }
        processed++;
        if (k % cfg.checkpointDocs === 0) { p.nextFile = fi; p.docsInFile = k; checkpoint(); }
        if (stopAfterDocs !== undefined && processed >= stopAfterDocs) throw new BuildStopped('stopped after docs (test hook)');
      }
      ps.files++;
      p.stats.files++;
      p.nextFile = fi + 1; p.docsInFile = 0;
      checkpoint();
      if ((fi + 1) % 100 === 0) log(`read ${fi + 1}/${files.length} files`);
    }
  } finally {
    for (const c of CATEGORIES) writers[c].close();
  }
  p.stage = 'mix';
  checkpoint();
  log(`filter pass: ${processed} documents in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

import path from 'node:path';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { defineCommand, defineGroup } from '../args.js';
import {
  analyzeSegmenter, crossValidateSegmenter, DEFAULT_SEGMENTER_PATH, readConlluTagged, readConllu, readKiwiEval, RuleSplitter, scoreBoundaries, Segmenter, sharedDataDir, trainSegmenter,
  type GoldWord, type MorphemeSplitter, type SegmenterTrainOptions,
} from '../../tokenizer/index.js';

const readGold = (f: string): GoldWord[] => (f.endsWith('.conllu') ? readConllu(f) : readKiwiEval(f));

function defaultTrainFiles(): string[] {
  const d = path.join(sharedDataDir(), 'ud-korean');
  return ['kaist/ko_kaist-ud-dev.conllu', 'gsd/ko_gsd-ud-dev.conllu'].map((f) => path.join(d, f));
}

/** Scoring sets: name -> files. Only for scoring, never for training or tuning. */
function defaultEvalSets(): Array<[string, string[]]> {
  const d = sharedDataDir(), k = path.join(d, 'kiwi-model', 'eval_data');
  const dialect = path.join(k, 'dialect');
  return [
    ['ud-kaist-test', [path.join(d, 'ud-korean/kaist/ko_kaist-ud-test.conllu')]],
    ['ud-gsd-test', [path.join(d, 'ud-korean/gsd/ko_gsd-ud-test.conllu')]],
    ['kiwi-web', [path.join(k, 'web.txt')]],
    ['kiwi-written', [path.join(k, 'written.txt')]],
    ['kiwi-web-typos', [path.join(k, 'web_with_typos.txt'), path.join(k, 'web_with_cont_typos.txt')]],
    ['kiwi-dialect', existsSync(dialect) ? readdirSync(dialect).filter((f) => f.endsWith('.txt')).sort().map((f) => path.join(dialect, f)) : []],
  ];
}

// The training flags that train, cv and analyze share.
const TRAIN_OPTIONS = {
  epochs: { type: 'number', integer: true, min: 1, default: 8, description: 'passes over the training words' },
  prune: { type: 'number', min: 0, default: 0.02, description: 'drop features whose averaged |weight| is below this fraction of the largest' },
  directions: { type: 'number', integer: true, min: 1, max: 2, default: 2, description: '1: left-to-right only; 2: also right-to-left' },
} as const;
const FOLDS = { type: 'number', integer: true, min: 2, default: 4, description: 'contiguous folds of TARGET' } as const;

const trainOpts = (o: { epochs: number; prune: number; directions: number }): SegmenterTrainOptions =>
  ({ epochs: o.epochs, prune: o.prune, directions: o.directions as 1 | 2 });

const train = defineCommand({
  summary: 'train the segmenter from UD Korean .conllu or Kiwi evaluation files',
  options: {
    out: { type: 'string', placeholder: 'FILE', description: 'where to write the model (default: models/ko-segmenter.hseg)' },
    ...TRAIN_OPTIONS,
  },
  positionals: { name: 'FILE', description: 'training files (default: ../shared/data/ud-korean/{kaist,gsd}/*-dev.conllu)' },
  async run(o, given) {
    const files = given.length ? given : defaultTrainFiles();
    for (const f of files) if (!existsSync(f)) throw new Error(`hcx segmenter train: ${f} not found (point to UD Korean .conllu files)`);
    const words = files.flatMap(readGold);
    const t0 = performance.now();
    const seg = trainSegmenter(words, trainOpts(o));
    const out = o.out ?? DEFAULT_SEGMENTER_PATH();
    mkdirSync(path.dirname(out), { recursive: true });
    const bytes = seg.toBytes();
    writeFileSync(out, bytes);
    console.log(`trained on ${words.length} Hangul runs from ${files.length} files in ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
      `${seg.size} features, ${(bytes.length / 1024).toFixed(0)} KiB -> ${out}`);
  },
});

const cv = defineCommand({
  summary: 'K-fold cross-validation on the training data (model selection; the scoring sets are never read)',
  options: { folds: FOLDS, ...TRAIN_OPTIONS },
  positionals: { name: 'TARGET', usage: '[TARGET [EXTRA ...]]', description: 'TARGET is split into folds, each scored by a model trained on the other folds + EXTRA (default: Kaist dev, GSD dev)' },
  async run(o, files) {
    // Model selection on the training data only: the scoring sets are never read here.
    const [target, ...extra] = files.length ? files : defaultTrainFiles();
    for (const f of [target, ...extra]) if (!existsSync(f)) throw new Error(`hcx segmenter cv: ${f} not found`);
    const folds = o.folds, t0 = performance.now();
    const s = crossValidateSegmenter(readGold(target), extra.flatMap(readGold), folds, trainOpts(o));
    console.log(`${folds}-fold CV on ${path.basename(target)} (+ ${extra.map((f) => path.basename(f)).join(', ') || 'nothing'}): ` +
      `P ${s.precision.toFixed(4)} R ${s.recall.toFixed(4)} F1 ${s.f1.toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  },
});

const analyze = defineCommand({
  summary: 'the cv folds split into words seen / unseen in training, and the errors by morpheme tag class',
  options: { folds: FOLDS, json: { type: 'boolean', description: 'print one JSON document' }, ...TRAIN_OPTIONS },
  positionals: { name: 'TARGET', usage: '[TARGET.conllu [EXTRA ...]]', description: 'TARGET needs XPOS tags (default: Kaist dev, GSD dev)' },
  notes: 'Compares against repeating a seen word\'s most frequent training segmentation.',
  async run(o, files) {
    const [target, ...extra] = files.length ? files : defaultTrainFiles();
    for (const f of [target, ...extra]) if (!existsSync(f)) throw new Error(`hcx segmenter analyze: ${f} not found`);
    if (!target.endsWith('.conllu')) throw new Error(`hcx segmenter analyze: ${target}: the target must be a CoNLL-U file (its XPOS column names the morphemes' tags)`);
    const folds = o.folds, t0 = performance.now();
    const tagged = readConlluTagged(target);
    if (tagged.length < folds) throw new Error(`hcx segmenter analyze: ${target}: ${tagged.length} fully Hangul words whose LEMMA and XPOS columns have the same number of '+' parts; need at least ${folds}`);
    const r = analyzeSegmenter(tagged, extra.flatMap(readGold), folds, trainOpts(o));
    if (o.json) { console.log(JSON.stringify({ target, extra, ...r })); return; }
    console.log(`${folds}-fold CV on the fully Hangul words of ${path.basename(target)} (+ ${extra.map((f) => path.basename(f)).join(', ') || 'nothing'}), ` +
      `${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const f = (x: number) => x.toFixed(4).padStart(8);
    console.log('words'.padEnd(34) + 'gold'.padStart(8) + 'P'.padStart(8) + 'R'.padStart(8) + 'F1'.padStart(8));
    for (const [name, s] of [['all', r.all], ['seen in training', r.seen], ['unseen', r.unseen], ['seen: most frequent training split', r.seenMajority]] as const)
      console.log(name.padEnd(34) + String(s.gold).padStart(8) + f(s.precision) + f(s.recall) + f(s.f1));
    console.log('\nmissed boundaries by tag classes (errors / gold):');
    for (const c of r.missed.slice(0, 10)) console.log(`  ${c.kind.padEnd(8)} ${String(c.errors).padStart(6)} / ${c.total}`);
    console.log('boundaries invented inside one morpheme, by its tag class (errors / gold morphemes):');
    for (const c of r.spurious.slice(0, 10)) console.log(`  ${c.kind.padEnd(8)} ${String(c.errors).padStart(6)} / ${c.total}`);
  },
});

const evalCmd = defineCommand({
  summary: 'boundary precision/recall/F1 on UD Kaist/GSD test and the Kiwi evaluation sets, and the speed',
  options: {
    model: { type: 'string', placeholder: 'FILE', description: 'the segmenter model (default: models/ko-segmenter.hseg)' },
    rules: { type: 'boolean', description: 'score the rule splitter instead of a model' },
    json: { type: 'boolean', description: 'print one JSON document' },
  },
  positionals: { name: 'FILE', description: 'score these files instead of the default sets' },
  async run(o, files) {
    if (o.rules && o.model) throw new Error('hcx segmenter eval: give --model FILE or --rules, not both');
    let splitter: MorphemeSplitter, name: string;
    if (o.rules) { splitter = new RuleSplitter(); name = 'rules'; }
    else {
      const f = o.model ?? DEFAULT_SEGMENTER_PATH();
      splitter = Segmenter.fromBytes(readFileSync(f)); name = f;
    }
    const sets = files.length ? files.map((f) => [path.basename(f), [f]] as [string, string[]]) : defaultEvalSets();
    const rows: Array<Record<string, unknown>> = [];
    for (const [set, files] of sets) {
      if (files.length === 0 || !files.every((f) => existsSync(f))) { rows.push({ set, missing: true }); continue; }
      const gold = files.flatMap(readGold);
      const s = scoreBoundaries(gold, (w) => splitter.boundaries(w));
      rows.push({ set, ...s });
    }
    // Speed on the scoring text itself (Hangul runs of the first available set), one thread.
    const first = sets.find(([, fs]) => fs.length > 0 && fs.every((f) => existsSync(f)));
    // Wall-clock MB/s, and MB per second of this process's CPU time (the figure that other jobs on a shared
    // machine do not distort); best of three rounds of at least a second.
    let mbps = 0, cpuMbps = 0;
    if (first) {
      const words = first[1].flatMap(readGold).map((w) => w.text);
      const bytes = words.reduce((n, w) => n + Buffer.byteLength(w), 0);
      for (let round = 0; round < 3; round++) {
        let reps = 0; const t0 = performance.now(), c0 = process.cpuUsage();
        while (performance.now() - t0 < 1000 || reps < 2) { for (const w of words) splitter.boundaries(w); reps++; }
        const c = process.cpuUsage(c0);
        mbps = Math.max(mbps, (bytes * reps) / 1e6 / ((performance.now() - t0) / 1000));
        cpuMbps = Math.max(cpuMbps, (bytes * reps) / ((c.user + c.system) || 1));
      }
    }
    if (o.json) { console.log(JSON.stringify({ model: name, sets: rows, mbPerSec: mbps, mbPerCpuSec: cpuMbps })); return; }
    console.log(`segmenter ${name}`);
    console.log('set'.padEnd(18) + 'runs'.padStart(8) + 'gold'.padStart(8) + 'P'.padStart(8) + 'R'.padStart(8) + 'F1'.padStart(8));
    for (const r of rows) {
      if (r.missing) { console.log(String(r.set).padEnd(18) + '  (files missing)'); continue; }
      const f = (x: unknown) => (x as number).toFixed(4).padStart(8);
      console.log(String(r.set).padEnd(18) + String(r.words).padStart(8) + String(r.gold).padStart(8) + f(r.precision) + f(r.recall) + f(r.f1));
    }
    console.log(`speed: ${mbps.toFixed(1)} MB/s of Korean text (UTF-8), one thread; ${cpuMbps.toFixed(1)} MB per CPU second`);
  },
});

export const command = defineGroup({
  summary: 'Korean morpheme segmenter: train from treebanks, evaluate boundary P/R/F1',
  subcommands: { train, cv, analyze, eval: evalCmd },
});

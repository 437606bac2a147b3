import path from 'node:path';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from '../main.js';
import { flagBool, flagNumber, flagString, parseArgs, type ParsedArgs } from '../args.js';
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

function trainOpts(a: ParsedArgs): SegmenterTrainOptions {
  const directions = flagNumber(a, 'directions', 2);
  if (directions !== 1 && directions !== 2) throw new Error('hcx segmenter: --directions is 1 or 2');
  return { epochs: flagNumber(a, 'epochs', 8), prune: flagNumber(a, 'prune', 0.02), directions };
}

export const command: Command = {
  summary: 'Korean morpheme segmenter: train from treebanks, evaluate boundary P/R/F1',
  usage: 'hcx segmenter train [--out FILE] [--epochs N] [--prune X] [--directions 1|2] [FILE.conllu|kiwi.txt ...]\n' +
    '       hcx segmenter cv [--folds K] [--epochs N] [--prune X] [--directions 1|2] [TARGET [EXTRA ...]]\n' +
    '       hcx segmenter analyze [--folds K] [--json] [TARGET.conllu [EXTRA ...]]\n' +
    '       hcx segmenter eval [--model FILE | --rules] [--json] [FILE ...]\n' +
    'defaults: train on ../shared/data/ud-korean/{kaist,gsd}/*-dev.conllu into models/ko-segmenter.hseg;\n' +
    'cv: K contiguous folds of TARGET (Kaist dev), each scored by a model trained on the other folds + EXTRA (GSD dev);\n' +
    'analyze: the same folds, split into words seen / unseen in training, against repeating a seen word\'s most\n' +
    'frequent training segmentation, with the errors by morpheme tag class (TARGET needs XPOS tags);\n' +
    'eval on UD Kaist/GSD test and the Kiwi evaluation sets.',
  async run(argv) {
    const [sub, ...rest] = argv;
    const a = parseArgs(rest);
    if (sub === 'train') {
      const files = a.positional.length ? a.positional : defaultTrainFiles();
      for (const f of files) if (!existsSync(f)) throw new Error(`hcx segmenter train: ${f} not found (point to UD Korean .conllu files)`);
      const words = files.flatMap(readGold);
      const t0 = performance.now();
      const seg = trainSegmenter(words, trainOpts(a));
      const out = flagString(a, 'out', DEFAULT_SEGMENTER_PATH())!;
      mkdirSync(path.dirname(out), { recursive: true });
      const bytes = seg.toBytes();
      writeFileSync(out, bytes);
      console.log(`trained on ${words.length} Hangul runs from ${files.length} files in ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
        `${seg.size} features, ${(bytes.length / 1024).toFixed(0)} KiB -> ${out}`);
      return;
    }
    if (sub === 'cv') {
      // Model selection on the training data only: the scoring sets are never read here.
      const [target, ...extra] = a.positional.length ? a.positional : defaultTrainFiles();
      for (const f of [target, ...extra]) if (!existsSync(f)) throw new Error(`hcx segmenter cv: ${f} not found`);
      const folds = flagNumber(a, 'folds', 4), t0 = performance.now();
      const s = crossValidateSegmenter(readGold(target), extra.flatMap(readGold), folds, trainOpts(a));
      console.log(`${folds}-fold CV on ${path.basename(target)} (+ ${extra.map((f) => path.basename(f)).join(', ') || 'nothing'}): ` +
        `P ${s.precision.toFixed(4)} R ${s.recall.toFixed(4)} F1 ${s.f1.toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      return;
    }
    if (sub === 'analyze') {
      const [target, ...extra] = a.positional.length ? a.positional : defaultTrainFiles();
      for (const f of [target, ...extra]) if (!existsSync(f)) throw new Error(`hcx segmenter analyze: ${f} not found`);
      if (!target.endsWith('.conllu')) throw new Error(`hcx segmenter analyze: ${target}: the target must be a CoNLL-U file (its XPOS column names the morphemes' tags)`);
      const folds = flagNumber(a, 'folds', 4), t0 = performance.now();
      const tagged = readConlluTagged(target);
      if (tagged.length < folds) throw new Error(`hcx segmenter analyze: ${target}: ${tagged.length} fully Hangul words whose LEMMA and XPOS columns have the same number of '+' parts; need at least ${folds}`);
      const r = analyzeSegmenter(tagged, extra.flatMap(readGold), folds, trainOpts(a));
      if (flagBool(a, 'json')) { console.log(JSON.stringify({ target, extra, ...r })); return; }
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
      return;
    }
    if (sub === 'eval') {
      let splitter: MorphemeSplitter, name: string;
      if (flagBool(a, 'rules')) { splitter = new RuleSplitter(); name = 'rules'; }
      else {
        const f = flagString(a, 'model', DEFAULT_SEGMENTER_PATH())!;
        splitter = Segmenter.fromBytes(readFileSync(f)); name = f;
      }
      const sets = a.positional.length ? a.positional.map((f) => [path.basename(f), [f]] as [string, string[]]) : defaultEvalSets();
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
      if (flagBool(a, 'json')) { console.log(JSON.stringify({ model: name, sets: rows, mbPerSec: mbps, mbPerCpuSec: cpuMbps })); return; }
      console.log(`segmenter ${name}`);
      console.log('set'.padEnd(18) + 'runs'.padStart(8) + 'gold'.padStart(8) + 'P'.padStart(8) + 'R'.padStart(8) + 'F1'.padStart(8));
      for (const r of rows) {
        if (r.missing) { console.log(String(r.set).padEnd(18) + '  (files missing)'); continue; }
        const f = (x: unknown) => (x as number).toFixed(4).padStart(8);
        console.log(String(r.set).padEnd(18) + String(r.words).padStart(8) + String(r.gold).padStart(8) + f(r.precision) + f(r.recall) + f(r.f1));
      }
      console.log(`speed: ${mbps.toFixed(1)} MB/s of Korean text (UTF-8), one thread; ${cpuMbps.toFixed(1)} MB per CPU second`);
      return;
    }
    throw new Error('hcx segmenter: train, cv, analyze or eval (hcx segmenter --help)');
  },
};

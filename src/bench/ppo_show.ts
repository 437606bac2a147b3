// The reward model and PPO at small scale, from an `hcx demo` folder (its pretrained model, SFT model and
// reward model on the built-in Korean pairs: a Korean reply over an English one, a plain reply over a
// repetitive one, an answer over one padded to length):
//   1. reward-model held-out pair accuracy: the demo's RM on the Korean pairs it held out, and an RM trained
//      here from the demo's SFT model, one epoch, on HH-RLHF harmless-base (../shared/data/hh-rlhf);
//   2. PPO (KL 0.04) against the demo RM from a language-confused policy (the pretrained model tuned on
//      English-only chats, so it answers Korean prompts in English): held-out reward rises, KL stays
//      bounded, replies keep ending their turn, and they turn Korean;
//   3. PPO from a repetitive policy (tuned on Korean chats whose answers say their last words twice more),
//      against an RM blind to repetition (language pairs with repetition on either side), with and without
//      sequence-level unlikelihood: the repeated-4-gram share (rep4) of the greedy held-out replies, and the reward;
//   4. PPO from the demo's SFT model against a reward model that pays for length (trained on pairs that
//      prefer an answer with other facts' answers appended): the run-level early stop fires on length and
//      says why.
// The PPO prompts are the Korean prompts of the training facts; the held-out prompts those of facts no
// policy was tuned on (src/bench/crosslingual.ts splitByFact).
// Run: node dist/src/bench/ppo_show.js --demo runs/demo [--out runs/ppo-show]; the table goes to OUT/table.md.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { defineCommand, type OptionTable, type Values } from '../cli/args.js';
import { buildKoreanPairs, builtinKoreanQA, koreanPairRecord, repetitive } from '../data/prefs/korean.js';
import { chatSamples } from '../data/corpus/chat.js';
import { hcxTemplate, padId } from '../data/chat/template.js';
import { renderSide, type TokenizedPair } from '../data/prefs/dataset.js';
import { openScoreModel } from '../model/score_head.js';
import { Rng } from '../data/hashing.js';
import { replyLanguage } from '../eval/language.js';
import { latestCheckpoint, loadModel } from '../model/checkpoint.js';
import { generate } from '../model/generate.js';
import { Tokenizer } from '../tokenizer/index.js';
import { sft } from '../train/sft.js';
import { parseSftConfig } from '../train/sft_config.js';
import { splitByFact } from './crosslingual.js';
import { readResult } from '../pipeline/results.js';
import { run as ppo } from '../train/ppo.js';
import { parsePrefConfig, RM_SCHEMA, type RmConfig } from '../train/pref_config.js';
import { evaluatePairs, rm } from '../train/reward.js';
import { writeFileAtomic } from '../util/atomic.js';

const HH = path.resolve('..', 'shared', 'data', 'hh-rlhf', 'harmless-base', 'test.jsonl.gz');

const options = {
  demo: { type: 'string', placeholder: 'DIR', default: 'runs/demo', description: 'an hcx demo folder (npx hcx demo): its SFT run, pipeline/pretrain and pipeline/rm' },
  out: { type: 'string', placeholder: 'DIR', default: 'runs/ppo-show', description: 'work folder; the table goes to DIR/table.md and DIR/results.json' },
  hh: { type: 'string', placeholder: 'FILE', default: HH, description: 'HH-RLHF pairs for the English reward model (skipped when absent)' },
  iterations: { type: 'number', integer: true, min: 1, default: 12, description: 'PPO iterations per run (the length run: twice as many)' },
  lr: { type: 'number', min: 0, default: 1e-4, description: 'PPO learning rate' },
  unlikelihood: { type: 'number', min: 0, default: 0.1, description: 'unlikelihood weight alpha of the run with it' },
  'sft-steps': { type: 'number', integer: true, min: 1, default: 80, description: 'SFT steps of the confused and the repetitive policies' },
  'length-growth': { type: 'number', min: 1, default: 20, description: 'maxLengthGrowth (%) of the length-paying run' },
  'eos-penalty': { type: 'number', min: 0, default: 1, description: 'missingEosPenalty of the unlikelihood runs' },
  repeats: { type: 'number', integer: true, min: 1, default: 2, description: 'times the repetitive policy\'s SFT answers say their last words again' },
  seeds: { type: 'number', integer: true, min: 1, default: 5, description: 'seeds per condition of the repetition runs' },
  runs: { type: 'string', placeholder: 'LIST', default: 'hh,language,repetition,length', description: 'which parts to run: hh, language, repetition, length' },
} as const satisfies OptionTable;

export const command = defineCommand({ summary: 'reward-model accuracy; PPO against language confusion, with and without unlikelihood, and the length early stop', options, run });

interface Evaluation { iteration: number; reward: number; length: number; eosFraction: number; rep4: number }
interface PpoRow { run: string; from: string; sft: Evaluation; best: Evaluation; last: Evaluation; kl: number; korean?: [number, number]; iterations: number; stop: string | null; seconds: number; evaluations: Evaluation[]; curve?: [number, number, number][] }

/** Seeds of one condition as one row: every figure the mean over the runs; `curve` the mean rep4 and reward per evaluation. */
function meanRow(runs: PpoRow[], name: string): PpoRow {
  const m = (f: (r: PpoRow) => number) => runs.reduce((a, r) => a + f(r), 0) / runs.length;
  const ev = (pick: (r: PpoRow) => Evaluation): Evaluation => ({ iteration: pick(runs[0]).iteration, reward: m((r) => pick(r).reward), length: m((r) => pick(r).length), eosFraction: m((r) => pick(r).eosFraction), rep4: m((r) => pick(r).rep4) });
  const curve = runs[0].evaluations.map((e, k) => [e.iteration, m((r) => r.evaluations[k]?.rep4 ?? NaN), m((r) => r.evaluations[k]?.reward ?? NaN)] as [number, number, number]);
  return { ...runs[0], run: name, sft: ev((r) => r.sft), best: ev((r) => r.last), last: ev((r) => r.last), kl: m((r) => r.kl), seconds: m((r) => r.seconds), curve };
}

/** Pair accuracy and margin of the RM at `rmCk` on "the answer with its tail repeated" over "the plain answer",
 *  for the held-out chats: 0.5 and 0 when the RM is blind to repetition. */
function repetitionPreference(rmCk: string, chats: readonly { messages: readonly { role: string; content: string }[] }[], repeats: number, tok: Tokenizer) {
  const template = hcxTemplate(tok), rng = new Rng(11);
  const pairs: TokenizedPair[] = chats.map((x, line) => {
    const prompt = x.messages.slice(0, -1) as never, answer = x.messages[x.messages.length - 1];
    const side = (content: string) => renderSide(template, prompt, [{ role: 'assistant', content }] as never);
    return { chosen: side(repetitive(answer.content, rng, repeats)), rejected: side(answer.content), file: 'heldout', line, prompt: Int32Array.from(template.prompt(prompt)) };
  });
  const { pairs: n, accuracy, margin } = evaluatePairs(openScoreModel(rmCk), pairs, 8, padId(tok));
  return { pairs: n, accuracy, margin };
}

const f3 = (x: number) => x.toFixed(3);
const jsonl = (xs: readonly { messages: unknown }[]) => xs.map((x) => JSON.stringify({ messages: x.messages })).join('\n') + '\n';

export async function ppoShow(o: Values<typeof options>) {
  const demo = path.resolve(o.demo), out = path.resolve(o.out);
  const rmDir = path.join(demo, 'pipeline', 'rm'), pretrain = path.join(demo, 'pipeline', 'pretrain');
  const sftDemo = latestCheckpoint(demo), rmCk = latestCheckpoint(rmDir);
  if (!sftDemo || !rmCk || !latestCheckpoint(pretrain)) throw new Error(`--demo ${demo}: not a finished hcx demo folder (needs its SFT checkpoints, pipeline/pretrain and pipeline/rm; run npx hcx demo)`);
  const tokenizer = path.join(demo, 'tokenizer.json');
  const tok = Tokenizer.load(tokenizer);
  mkdirSync(out, { recursive: true });
  const log = (s: string) => process.stderr.write(s + '\n');
  const trainRm = async (name: string, data: string, extra: Record<string, unknown>) => {
    const cfg = parsePrefConfig<RmConfig>({ from: sftDemo, tokenizer, data: [data], runDir: path.join(out, name), seqLen: 256, epochs: 1, batchSize: 8, lr: 3e-4, warmupSteps: 5, evalEvery: 0, saveEvery: 0, keepCheckpoints: 1, seed: 1, ...extra }, RM_SCHEMA, `ppo-show ${name}`, { maxSeqLen: 1024 });
    const t0 = Date.now();
    const r = await rm(cfg, { quiet: true });
    log(`ppo-show: ${name}: held-out accuracy ${f3(r.heldout.accuracy)} on ${r.heldout.pairs} pairs (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    return r;
  };
  const tune = async (name: string, convs: readonly { messages: unknown }[]) => {
    const data = path.join(out, `${name}.jsonl`);
    writeFileSync(data, jsonl(convs));
    const cfg = parseSftConfig({
      from: pretrain, tokenizer, data: [data], runDir: path.join(out, name), seqLen: 256, packing: 'bfd', steps: o.sftSteps, batchSize: 8,
      lr: 1e-3, warmupSteps: Math.min(10, o.sftSteps), heldout: 0, evalEvery: 0, saveEvery: 0, keepCheckpoints: 1, seed: 1,
    }, `ppo-show ${name}`, undefined, 'none', { maxSeqLen: 1024 }).cfg;
    const r = await sft(cfg, { quiet: true });
    log(`ppo-show: ${name}: SFT loss ${r.metrics[0].loss.toFixed(3)} -> ${r.metrics[r.metrics.length - 1].loss.toFixed(3)}`);
    return r.finalCheckpoint;
  };

  // 1. reward models
  const ko = readResult(rmCk, 'pairs');
  if (!ko) throw new Error(`${rmCk}: no pairs result (the demo's eval worker attaches it)`);
  const rmRows = [{ rm: 'demo RM, built-in Korean pairs (language, repetition, padding)', pairs: ko.metrics.pairs, accuracy: ko.metrics.accuracy, margin: ko.metrics.margin }];
  const parts = new Set(o.runs.split(','));
  for (const p of parts) if (!['hh', 'language', 'repetition', 'length'].includes(p)) throw new Error(`--runs: unknown part "${p}" (hh, language, repetition, length)`);
  if (!parts.has('hh')) log('ppo-show: --runs leaves out hh');
  else if (existsSync(o.hh)) {
    const hh = await trainRm('rm-hh-harmless', o.hh, { format: 'hh', heldout: 200, normSamples: 0 });
    rmRows.push({ rm: 'HH-RLHF harmless-base (one epoch from the demo SFT model)', pairs: hh.heldout.pairs, accuracy: hh.heldout.accuracy, margin: hh.heldout.margin });
  } else log(`ppo-show: ${o.hh} is missing; no HH-RLHF reward model`);

  // Prompts: the Korean chats of the training facts; held out: those of unseen facts.
  const { train, heldout } = splitByFact(chatSamples(600, 7), 0.15);
  const koTrain = train.filter((x) => x.lang === 'ko'), koHeld = heldout.filter((x) => x.lang === 'ko');
  const promptsFile = path.join(out, 'prompts-ko.jsonl'), heldFile = path.join(out, 'heldout-ko.jsonl');
  writeFileSync(promptsFile, jsonl(koTrain));
  writeFileSync(heldFile, jsonl(koHeld));

  // 2-4. PPO runs
  const base = {
    tokenizer, prompts: [promptsFile], heldoutPrompts: [heldFile], iterations: o.iterations, promptsPerIteration: 16, samplesPerPrompt: 2, maxNewTokens: 48,
    miniBatchSize: 16, epochs: 2, batchSize: 8, lr: o.lr, evalEvery: 2, seed: 1, patience: 100,
  };
  const koreanShare = (ck: string) => {
    const model = loadModel(ck), tpl = hcxTemplate(tok);
    const n = koHeld.filter((x) => replyLanguage(tok.decode(generate(model, tpl.prompt(x.messages.slice(0, -1) as never), { maxNewTokens: 48, temperature: 0, stopTokens: tpl.stopTokens }).ids)) === 'ko').length;
    return n / koHeld.length;
  };
  const ppoRun = async (name: string, from: string, policy: string, extra: Record<string, unknown>, language = false): Promise<PpoRow> => {
    const t0 = Date.now();
    const r = await ppo({ ...base, policy, reward: rmCk, runDir: path.join(out, name), ...extra }, { quiet: true });
    const ev = (JSON.parse(readFileSync(path.join(out, name, 'result.json'), 'utf8')) as { evaluations: Evaluation[] }).evaluations;
    const best = ev.find((e) => e.iteration === r.best?.iteration) ?? ev[ev.length - 1];
    const row: PpoRow = { run: name, from, sft: ev[0], best, last: ev[ev.length - 1], kl: r.metrics[r.metrics.length - 1].kl, iterations: r.metrics.length, stop: r.stopReason, seconds: (Date.now() - t0) / 1000, evaluations: ev };
    if (language) row.korean = [koreanShare(policy), koreanShare(r.finalCheckpoint)];
    log(`ppo-show: ${name}: held-out reward ${ev.map((e) => `${e.iteration}:${f3(e.reward)}`).join(' ')}; rep4 ${ev.map((e) => f3(e.rep4)).join(' ')}; length ${ev.map((e) => e.length.toFixed(1)).join(' ')}${row.stop ? `; stopped: ${row.stop}` : ''} (${row.seconds.toFixed(0)} s)`);
    return row;
  };
  const rows: PpoRow[] = [];
  const repetitionCurves: string[] = [];
  if (parts.has('language')) {
    const confused = await tune('sft-english-only', train.filter((x) => x.lang === 'en'));
    rows.push(await ppoRun('ppo-language', 'SFT on English chats only', confused, {}, true));
  }
  if (parts.has('repetition')) {
    // Repetition the reward model cannot see, as in the report's setting (an RM that misses repetition).
    // The policy: SFT on Korean chats whose answers say their last words `repeats` more times, then end the
    // turn (a fixed count, so greedy replies still end: looping never costs a missing turn end). The RM:
    // language pairs (Korean over English) in which neither, the chosen, the rejected or both sides carry the
    // same kind of repetition, a quarter each, so it learns language and is blind to repetition by
    // construction (checked on held-out facts below): whatever lowers rep4 is the unlikelihood term. One
    // seed is noisy at this size: each condition runs with seeds 1..N, and the row is their mean.
    const rng = new Rng(9);
    const repetitiveSft = await tune('sft-repetitive', koTrain.map((x) => ({ messages: x.messages.map((m, i) => (i === x.messages.length - 1 ? { ...m, content: repetitive(m.content, rng, o.repeats) } : m)) })));
    const prng = new Rng(4), loop = (s: string) => repetitive(s, prng, 1 + prng.int(3));
    const langPairs = path.join(out, 'pairs-language-repetition-blind.jsonl');
    writeFileSync(langPairs, buildKoreanPairs(builtinKoreanQA(200), { kinds: ['language'], seed: 3 }).map((p) => {
      const k = prng.int(4);
      return koreanPairRecord({ ...p, chosen: k & 1 ? loop(p.chosen) : p.chosen, rejected: k & 2 ? loop(p.rejected) : p.rejected });
    }).join('\n') + '\n');
    const langRm = await trainRm('rm-language-repetition-blind', langPairs, { heldout: 0.1, normSamples: 32, normMaxNewTokens: 48 });
    rmRows.push({ rm: 'language pairs, repetition on either side (the unlikelihood runs\' RM)', pairs: langRm.heldout.pairs, accuracy: langRm.heldout.accuracy, margin: langRm.heldout.margin });
    rmRows.push({ rm: `blindness check: the same Korean answer with its tail said ${o.repeats} more times over the plain one (held-out facts; 0.5 / 0 is blind)`, ...repetitionPreference(langRm.finalCheckpoint, koHeld, o.repeats, tok) });
    for (const [name, alpha] of [[`ppo-repetitive-unlikelihood-${o.unlikelihood}`, o.unlikelihood], ['ppo-repetitive-no-unlikelihood', 0]] as const) {
      const runs: PpoRow[] = [];
      for (let seed = 1; seed <= o.seeds; seed++) runs.push(await ppoRun(`${name}-seed${seed}`, `SFT on Korean answers that repeat their tail ${o.repeats}x`, repetitiveSft, { reward: langRm.finalCheckpoint, unlikelihood: alpha, seed, missingEosPenalty: o.eosPenalty }));
      const row = meanRow(runs, `${name} (mean of ${o.seeds} seeds)`);
      rows.push(row);
      repetitionCurves.push(`${name}: ${row.curve!.map(([it, v, r]) => `${it}: ${f3(v)} (reward ${f3(r)})`).join(', ')}`);
    }
  }
  if (parts.has('length')) {
    // A reward model that pays for length: an answer with one or two more facts' answers appended chosen
    // over the plain answer (the policy has seen multi-fact answers in SFT, so it can lengthen its replies).
    const lengthPairs = path.join(out, 'pairs-longer-preferred.jsonl');
    const qa = builtinKoreanQA(200), rng = new Rng(3);
    writeFileSync(lengthPairs, qa.map((q, i) => {
      const more = Array.from({ length: 1 + rng.int(2) }, (_, k) => qa[(i + 1 + k * 7 + rng.int(qa.length - 1)) % qa.length].answer);
      return JSON.stringify({ prompt: q.prompt, chosen: [q.answer, ...more].join(' '), rejected: q.answer, kind: 'longer', source: q.source });
    }).join('\n') + '\n');
    const lengthRm = await trainRm('rm-pays-for-length', lengthPairs, { heldout: 0.1, normSamples: 32, normMaxNewTokens: 48 });
    rmRows.push({ rm: 'pays for length (an answer with more answers appended preferred)', pairs: lengthRm.heldout.pairs, accuracy: lengthRm.heldout.accuracy, margin: lengthRm.heldout.margin });
    rows.push(await ppoRun('ppo-length-rm', 'the demo SFT model', sftDemo, { reward: lengthRm.finalCheckpoint, maxLengthGrowth: o.lengthGrowth, iterations: o.iterations * 2, evalEvery: 1, maxNewTokens: 96 }));
  }

  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  const table = [
    '| reward model | held-out pairs | accuracy | margin |', '|---|---:|---:|---:|',
    ...rmRows.map((r) => `| ${r.rm} | ${r.pairs} | ${f3(r.accuracy)} | ${f3(r.margin)} |`),
    '',
    '| PPO run | policy from | held-out reward: start -> kept checkpoint (its iteration) | KL, last iteration | turn-end: start -> kept | rep4 (greedy): start -> kept | length: start -> last | Korean replies: start -> kept | iterations | run-level stop |',
    '|---|---|---|---:|---|---|---|---|---:|---|',
    ...rows.map((r) => `| ${r.run} | ${r.from} | ${f3(r.sft.reward)} -> ${f3(r.best.reward)} (${r.curve ? `last, ${r.last.iteration}` : r.best.iteration}) | ${f3(r.kl)} | ${pct(r.sft.eosFraction)} -> ${pct(r.best.eosFraction)} | ${f3(r.sft.rep4)} -> ${f3(r.best.rep4)} | ${r.sft.length.toFixed(1)} -> ${r.last.length.toFixed(1)} | ${r.korean ? `${pct(r.korean[0])} -> ${pct(r.korean[1])}` : ''} | ${r.iterations} | ${r.stop ?? 'none'} |`),
    ...(repetitionCurves.length ? ['', 'rep4 of the greedy held-out replies at each evaluation (iteration: mean over seeds):', '', ...repetitionCurves.map((c) => `- ${c}`)] : []),
  ].join('\n') + '\n';
  writeFileAtomic(path.join(out, 'table.md'), table);
  writeFileAtomic(path.join(out, 'results.json'), JSON.stringify({ settings: o, rm: rmRows, ppo: rows }, null, 2) + '\n');
  return { table, rm: rmRows, ppo: rows };
}

async function run(o: Values<typeof options>): Promise<void> {
  process.stdout.write((await ppoShow(o)).table);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  command.run(process.argv.slice(2), 'ppo_show').catch((e: Error) => { process.stderr.write(`ppo_show: ${e.message}\n`); process.exit(1); });
}

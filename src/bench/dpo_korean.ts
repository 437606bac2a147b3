// DPO against language confusion, at small scale: a model pretrained on hcx's built-in Korean/English corpus
// is fine-tuned on English-only chats, which makes it answer Korean prompts in English (the cross-lingual
// experiment's "English only" row, src/bench/crosslingual.ts). DPO from that SFT model on hcx's Korean
// preference pairs of kind "language" (src/data/prefs/korean.ts: the real Korean answer chosen over the
// same fact's English answer, for the Korean prompts of the training facts) should make it answer Korean
// prompts in Korean. Both models reply greedily to the prompts of held-out facts (Korean and English);
// the table gives the share answered in the prompt's language (src/eval/language.ts) before and after.
// Run: node dist/src/bench/dpo_korean.js [--base PRETRAINED_RUN] [--out DIR] (exported as `command` too).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { defineCommand, type OptionTable, type Values } from '../cli/args.js';
import { chatSamples, type ChatSample } from '../data/corpus/chat.js';
import { buildKoreanPairs, koreanPairRecord } from '../data/prefs/korean.js';
import { latestCheckpoint, loadModel } from '../model/checkpoint.js';
import { Tokenizer } from '../tokenizer/index.js';
import { dpo } from '../train/dpo.js';
import { DPO_SCHEMA, parsePrefConfig, type DpoConfig } from '../train/pref_config.js';
import { sft } from '../train/sft.js';
import { parseSftConfig } from '../train/sft_config.js';
import { writeFileAtomic } from '../util/atomic.js';
import { transferTable, type Lang, type TransferRow } from '../eval/language.js';
import { evaluate, splitByFact } from './crosslingual.js';

const options = {
  out: { type: 'string', placeholder: 'DIR', default: 'runs/dpo-korean', description: 'work folder; the table goes to DIR/table.md and DIR/results.json' },
  base: { type: 'string', placeholder: 'DIR', description: 'pretrained hcx run to start from (default: pretrain one as hcx demo does, in DIR/base)' },
  'pretrain-steps': { type: 'number', integer: true, min: 1, default: 600, description: 'pretraining steps when no --base is given' },
  'sft-steps': { type: 'number', integer: true, min: 1, default: 80, description: 'English-only SFT steps (8 packed rows of 256 tokens, lr 1e-3)' },
  'dpo-steps': { type: 'number', integer: true, min: 1, default: 60, description: 'DPO steps' },
  'batch-size': { type: 'number', integer: true, min: 1, default: 8, description: 'pairs per DPO step' },
  lr: { type: 'number', min: 0, default: 2e-4, description: 'DPO peak learning rate' },
  beta: { type: 'number', min: 0, default: 0.1, description: 'DPO beta' },
  conversations: { type: 'number', integer: true, min: 10, default: 600, description: 'chat conversations per language before the held-out split' },
  'heldout-share': { type: 'number', min: 0.01, max: 0.9, default: 0.15, description: 'share of facts held out (in both languages)' },
  'max-tokens': { type: 'number', integer: true, min: 1, default: 48, description: 'reply length limit' },
} as const satisfies OptionTable;

export const command = defineCommand({ summary: 'DPO on Korean-over-English pairs fixes an English-only SFT model\'s reply language on Korean prompts', options, run });

const jsonl = (xs: readonly ChatSample[]) => xs.map((s) => JSON.stringify({ messages: s.messages })).join('\n') + '\n';

/** "language" pairs of the training facts: each Korean single-fact chat's answer over the same fact's English answer. */
export function languagePairs(train: readonly ChatSample[], seed = 1): string[] {
  const english = new Map<string, string>();
  for (const s of train) if (s.lang === 'en' && !s.key.includes('+')) english.set(s.key, s.messages[s.messages.length - 1].content);
  const qa = train.filter((s) => s.lang === 'ko' && !s.key.includes('+') && english.has(s.key))
    .map((s) => ({ prompt: s.messages.slice(0, -1), answer: s.messages[s.messages.length - 1].content, english: english.get(s.key), source: `builtin:${s.key}` }));
  return buildKoreanPairs(qa, { kinds: ['language'], seed }).map(koreanPairRecord);
}

export interface DpoKoreanResult { rows: TransferRow[]; table: string; dpo: { heldoutAccuracy: number; firstLoss: number; lastLoss: number; pairs: number; seconds: number } }

export async function dpoKorean(o: Values<typeof options>): Promise<DpoKoreanResult> {
  const out = path.resolve(o.out);
  mkdirSync(out, { recursive: true });
  let base = o.base ? path.resolve(o.base) : path.join(out, 'base');
  if (!o.base && !latestCheckpoint(path.join(base, 'pipeline', 'pretrain'))) {
    const { runDemo } = await import('../demo.js');
    await runDemo({ out: base, steps: o.pretrainSteps, sftSteps: 1 });
  }
  // An hcx demo folder: its pretraining stage is the base (the demo's own SFT is not wanted here).
  if (existsSync(path.join(base, 'pipeline', 'pretrain'))) base = path.join(base, 'pipeline', 'pretrain');
  if (!latestCheckpoint(base)) throw new Error(`--base ${base}: no checkpoint there`);
  const tokFile = path.join(base, 'tokenizer.json');
  if (!existsSync(tokFile)) throw new Error(`--base ${base}: no tokenizer.json beside the checkpoints`);
  const tok = Tokenizer.load(tokFile);
  const { train, heldout } = splitByFact(chatSamples(o.conversations, 7), o.heldoutShare);
  const files = {} as Record<Lang, string>;
  for (const lang of ['ko', 'en'] as const) {
    files[lang] = path.join(out, `heldout-${lang}.jsonl`);
    writeFileSync(files[lang], jsonl(heldout.filter((s) => s.lang === lang)));
  }
  const log = (s: string) => process.stderr.write(s + '\n');

  const enData = path.join(out, 'train-en.jsonl');
  writeFileSync(enData, jsonl(train.filter((s) => s.lang === 'en')));
  const sftCfg = parseSftConfig({
    from: base, data: [enData], runDir: path.join(out, 'sft-en'), seqLen: 256, packing: 'bfd', steps: o.sftSteps, batchSize: 8,
    lr: 1e-3, warmupSteps: Math.min(10, o.sftSteps), heldout: 0, evalEvery: 0, saveEvery: 0, keepCheckpoints: 1, seed: 1,
  }, 'dpo-korean sft', undefined, 'none', { maxSeqLen: 1024 }).cfg;
  const s = await sft(sftCfg, { quiet: true });
  log(`dpo-korean: English-only SFT loss ${s.metrics[0].loss.toFixed(3)} -> ${s.metrics[s.metrics.length - 1].loss.toFixed(3)}`);
  const rows = [await evaluate('SFT on English only', s.model, tok, heldout, files, o.maxTokens)];

  const pairs = path.join(out, 'pairs-language.jsonl');
  const records = languagePairs(train);
  writeFileSync(pairs, records.join('\n') + '\n');
  const dpoCfg = parsePrefConfig<DpoConfig>({
    from: s.finalCheckpoint, data: [pairs], runDir: path.join(out, 'dpo'), seqLen: 256, heldout: 0.1, steps: o.dpoSteps, batchSize: o.batchSize,
    lr: o.lr, warmupSteps: Math.min(5, o.dpoSteps), beta: o.beta, evalEvery: Math.max(1, Math.floor(o.dpoSteps / 5)), saveEvery: 0, keepCheckpoints: 1, seed: 1,
  }, DPO_SCHEMA, 'dpo-korean dpo', { maxSeqLen: 1024 });
  const t0 = Date.now();
  const d = await dpo(dpoCfg, { quiet: true });
  const seconds = (Date.now() - t0) / 1000;
  const first = d.metrics[0], last = d.metrics[d.metrics.length - 1];
  log(`dpo-korean: DPO on ${records.length} pairs, loss ${first.loss.toFixed(3)} -> ${last.loss.toFixed(3)}, held-out pair accuracy ${d.heldout.accuracy.toFixed(2)}, ${seconds.toFixed(0)}s`);
  rows.push(await evaluate('SFT on English only + DPO on Korean pairs', loadModel(d.finalCheckpoint), tok, heldout, files, o.maxTokens));

  const table = transferTable(rows).replace('| SFT data |', '| model |');
  const summary = { heldoutAccuracy: d.heldout.accuracy, firstLoss: first.loss, lastLoss: last.loss, pairs: records.length, seconds };
  writeFileAtomic(path.join(out, 'table.md'), table);
  writeFileAtomic(path.join(out, 'results.json'), JSON.stringify({ settings: { ...o, base }, train: train.length, heldout: heldout.length, dpo: summary, rows }, null, 2) + '\n');
  return { rows, table, dpo: summary };
}

async function run(o: Values<typeof options>): Promise<void> {
  process.stdout.write((await dpoKorean(o)).table);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  command.run(process.argv.slice(2), 'dpo_korean').catch((e: Error) => { process.stderr.write(`dpo_korean: ${e.message}\n`); process.exit(1); });
}

// `hcx bench crosslingual`: the report's cross-lingual transfer at small scale. One small model pretrained
// on hcx's built-in Korean/English/code corpus (`hcx demo`'s tokenizer, data and pretraining, or --base) is
// fine-tuned three times for the same number of steps: on English-only chats, on Korean-only chats, and on
// both (src/data/corpus/chat.ts: questions about the facts the corpus teaches). A share of the facts is held
// out in both languages; on their prompts each model (and the base model, without SFT) replies greedily, and
// the table gives how often the reply is in the prompt's language (Hangul-share rule, src/eval/language.ts),
// how often it ends its turn with <|endofturn|>, and the held-out loss on the held-out conversations.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defineCommand, type OptionTable, type Values } from '../cli/args.js';
import { loadChatData, RowStream } from '../data/chat/dataset.js';
import { hcxTemplate } from '../data/chat/template.js';
import { chatSamples, type ChatSample } from '../data/corpus/chat.js';
import { subSeed } from '../data/hashing.js';
import { latestCheckpoint, loadModel } from '../model/checkpoint.js';
import { generate } from '../model/generate.js';
import type { Transformer } from '../model/transformer.js';
import { sft, heldoutLoss } from '../train/sft.js';
import { parseSftConfig } from '../train/sft_config.js';
import { Tokenizer } from '../tokenizer/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { scoreReplies, transferTable, type Lang, type ReplyRecord, type TransferRow } from '../eval/language.js';

const options = {
  out: { type: 'string', placeholder: 'DIR', default: 'runs/crosslingual', description: 'work folder; the table goes to DIR/table.md and DIR/results.json' },
  base: { type: 'string', placeholder: 'DIR', description: 'pretrained hcx run to start from (default: pretrain one as hcx demo does, in DIR/base)' },
  'pretrain-steps': { type: 'number', integer: true, min: 1, default: 600, description: 'pretraining steps when no --base is given' },
  steps: { type: 'number', integer: true, min: 1, default: 150, description: 'SFT steps of each run (the same for all three)' },
  'batch-size': { type: 'number', integer: true, min: 1, default: 8, description: 'packed rows of 256 tokens per SFT step' },
  lr: { type: 'number', min: 0, default: 1e-3, description: 'SFT peak learning rate' },
  conversations: { type: 'number', integer: true, min: 10, default: 600, description: 'chat conversations per language before the held-out split' },
  'heldout-share': { type: 'number', min: 0.01, max: 0.9, default: 0.15, description: 'share of facts held out (in both languages)' },
  'max-tokens': { type: 'number', integer: true, min: 1, default: 48, description: 'reply length limit' },
} as const satisfies OptionTable;

export const command = defineCommand({ summary: 'cross-lingual transfer: SFT on English, Korean or both; reply language, turn ends, held-out loss', options, run });

/** A fact is held out when its key hashes below the share; a conversation trains only if none of its facts is. */
export function splitByFact(samples: readonly ChatSample[], share: number): { train: ChatSample[]; heldout: ChatSample[] } {
  const held = (k: string) => subSeed(0, k) / 4294967296 < share;
  const train: ChatSample[] = [], heldout: ChatSample[] = [];
  for (const s of samples) {
    const keys = s.key.split('+');
    if (keys.some(held)) { if (keys.length === 1) heldout.push(s); } else train.push(s);
  }
  return { train, heldout };
}

const jsonl = (xs: readonly ChatSample[]) => xs.map((s) => JSON.stringify({ messages: s.messages })).join('\n') + '\n';

export async function evaluate(name: string, model: Transformer, tok: Tokenizer, heldout: ChatSample[], files: Record<Lang, string>, maxTokens: number): Promise<TransferRow & { replies: (ReplyRecord & { prompt: string })[] }> {
  const tpl = hcxTemplate(tok);
  const replies = heldout.map((s) => {
    const user = s.messages.filter((m) => m.role !== 'assistant').slice(0, s.messages[0].role === 'system' ? 2 : 1);
    const g = generate(model, tpl.prompt(user), { maxNewTokens: maxTokens, temperature: 0, stopTokens: tpl.stopTokens });
    return { promptLang: s.lang, prompt: user[user.length - 1].content, reply: tok.decode(g.ids), endedTurn: g.finishReason === 'stop' };
  });
  const heldoutLossOf = async (file: string) => {
    const d = await loadChatData({ sources: [{ path: file }], template: tpl, seqLen: 256, truncation: 'cut', heldout: 0, seed: 1, onBadLine: 'fatal' });
    const stream = new RowStream(d.train, 'bfd', 256, 1, false);
    return heldoutLoss(model, undefined, stream, stream.rowsPerEpoch, 8, tok.special.pad);
  };
  return { model: name, scores: scoreReplies(replies), heldoutLoss: { ko: await heldoutLossOf(files.ko), en: await heldoutLossOf(files.en) }, replies };
}

async function run(o: Values<typeof options>): Promise<void> {
  const out = path.resolve(o.out);
  mkdirSync(out, { recursive: true });
  const base = o.base ? path.resolve(o.base) : path.join(out, 'base');
  if (!o.base && !latestCheckpoint(base)) {
    const { runDemo } = await import('../demo.js');
    await runDemo({ out: base, steps: o.pretrainSteps });
  }
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
  const sets: [string, string, ChatSample[]][] = [
    ['English only', 'en', train.filter((s) => s.lang === 'en')],
    ['Korean only', 'ko', train.filter((s) => s.lang === 'ko')],
    ['Korean + English', 'both', train],
  ];
  process.stderr.write(`crosslingual: ${train.length} training conversations (en ${sets[0][2].length}, ko ${sets[1][2].length}), ${heldout.length} held-out prompts on unseen facts; ${o.steps} SFT steps each\n`);
  const rows = [await evaluate('none (pretrained only)', loadModel(base), tok, heldout, files, o.maxTokens)];
  for (const [name, tag, convs] of sets) {
    const data = path.join(out, `train-${tag}.jsonl`);
    writeFileSync(data, jsonl(convs));
    const cfg = parseSftConfig({
      from: base, data: [data], runDir: path.join(out, `sft-${tag}`), seqLen: 256, packing: 'bfd', steps: o.steps, batchSize: o.batchSize,
      lr: o.lr, warmupSteps: Math.min(10, o.steps), heldout: 0, evalEvery: 0, saveEvery: 0, keepCheckpoints: 1, seed: 1,
    }, `crosslingual ${tag}`, undefined, 'none', { maxSeqLen: 1024 }).cfg;
    const r = await sft(cfg, { quiet: true });
    process.stderr.write(`  SFT ${name}: loss ${r.metrics[0].loss.toFixed(3)} -> ${r.metrics[r.metrics.length - 1].loss.toFixed(3)}\n`);
    rows.push(await evaluate(name, r.model, tok, heldout, files, o.maxTokens));
  }
  const table = transferTable(rows);
  writeFileAtomic(path.join(out, 'table.md'), table);
  writeFileAtomic(path.join(out, 'results.json'), JSON.stringify({ settings: { ...o, base }, train: train.length, heldout: heldout.length, rows }, null, 2) + '\n');
  process.stdout.write(table);
}

// The inputs of `hcx bench sft`: a length-skewed real chat set from ../shared/data (short Korean chatbot
// pairs, medium English self-instruct tasks, long two-turn KoMT-Bench questions with GPT-4's Korean
// reference answers) or, where that folder is absent, a built-in stand-in (hcx's own Korean/English chat
// samples, with one conversation in eight stretched to 6-24 exchanges so the lengths are skewed too); an
// hcx tokenizer trained on it (split "rules", so its Hugging Face export tokenizes alike); and one
// random-initialised model saved both as an hcx run and as a Hugging Face folder, so hcx and TRL train
// the same weights on the same conversations.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readConversations, type ChatTurn } from '../data/chat/readers.js';
import { chatSamples } from '../data/corpus/chat.js';
import { Rng } from '../data/hashing.js';
import { saveCheckpoint } from '../model/checkpoint.js';
import { parseModelConfig, type ModelConfig } from '../model/config.js';
import { exportHfModel } from '../model/export_hf.js';
import { Transformer } from '../model/transformer.js';
import { Tokenizer, trainTokenizer } from '../tokenizer/index.js';

export interface BenchSet {
  dir: string; source: string; hf: string; data: string; conversations: number; lengths: number[]; config: ModelConfig;
  /** Where the conversations came from: the shared data folder, or "built-in". */
  origin: string;
  messages: ChatTurn[][];
}

export const SHARED_FILES = ['korean-chatbot-data/ChatbotData.csv', 'self-instruct/data/seed_tasks.jsonl', 'self-instruct/human_eval/user_oriented_instructions.jsonl'];

async function collect(file: string, keep: (i: number) => boolean): Promise<ChatTurn[][]> {
  const out: ChatTurn[][] = [];
  let i = 0;
  for await (const c of readConversations(file, {}, (b) => { throw new Error(`${b.file}:${b.line}: ${b.reason}`); })) if (keep(i++)) out.push(c.messages);
  return out;
}

/** KoMT-Bench: each question's two turns with GPT-4's two reference answers. */
function komt(root: string): ChatTurn[][] {
  const base = path.join(root, 'komt-bench/FastChat/fastchat/llm_judge/data/mt_bench');
  const lines = (f: string) => readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l, i) => {
    try { return JSON.parse(l); } catch (e) { throw new Error(`${f}:${i + 1}: ${(e as Error).message}`); }
  });
  const answers = new Map<number, string[]>();
  for (const a of lines(path.join(base, 'reference_answer_ko/gpt-4.jsonl'))) answers.set(a.question_id, a.choices[0].turns);
  const out: ChatTurn[][] = [];
  for (const q of lines(path.join(base, 'question_ko.jsonl'))) {
    const a = answers.get(q.question_id);
    if (!a) continue;
    out.push(q.turns.flatMap((t: string, i: number) => [{ role: 'user', content: t }, { role: 'assistant', content: a[i] ?? '' }]));
  }
  return out;
}

/** The real set: every 8th chatbot pair (1,478), all self-instruct seeds and user-oriented tasks, KoMT-Bench. */
async function sharedConversations(root: string): Promise<ChatTurn[][]> {
  return [
    ...(await collect(path.join(root, SHARED_FILES[0]), (i) => i % 8 === 0)),
    ...(await collect(path.join(root, SHARED_FILES[1]), () => true)),
    ...(await collect(path.join(root, SHARED_FILES[2]), () => true)),
    ...komt(root),
  ];
}

/** The built-in stand-in: 1,000 short chats per language, one in eight grown to 6-24 exchanges. */
export function builtinConversations(seed = 11): ChatTurn[][] {
  const samples = chatSamples(1000, seed);
  const rng = new Rng(seed);
  return samples.map((s, i) => {
    if (i % 8 !== 0) return s.messages;
    const sameLang = samples.filter((x) => x.lang === s.lang);
    const out = [...s.messages];
    for (let k = 6 + rng.int(19); k > 0; k--) out.push(...sameLang[rng.int(sameLang.length)].messages.filter((m) => m.role !== 'system'));
    return out;
  });
}

/** Builds (or reuses) the bench set under dir from the shared data at root, or the built-in stand-in. */
export async function benchSet(root: string | null, dir: string, shape: Omit<ModelConfig, 'vocabSize'>): Promise<BenchSet> {
  const shared = root !== null && SHARED_FILES.every((f) => existsSync(path.join(root, f)));
  const convs = shared ? await sharedConversations(root!) : builtinConversations();
  const origin = shared ? root! : 'built-in';
  mkdirSync(dir, { recursive: true });
  const data = path.join(dir, 'chat.jsonl');
  writeFileSync(data, convs.map((messages) => JSON.stringify({ messages })).join('\n') + '\n');
  // The tokenizer and model are cached per origin, so a built-in run never reuses a shared-data tokenizer.
  const source = path.join(dir, shared ? 'source' : 'source-builtin');
  const tokFile = path.join(source, 'tokenizer.json');
  let tok: Tokenizer;
  if (existsSync(tokFile)) tok = Tokenizer.load(tokFile);
  else {
    tok = await trainTokenizer({ texts: convs.flatMap((c) => c.map((m) => m.content)), vocabSize: 8192, split: 'rules' });
    mkdirSync(source, { recursive: true });
    tok.save(tokFile);
  }
  const config = parseModelConfig({ ...shape, vocabSize: tok.vocabSize });
  const hf = path.join(source, 'hf');
  if (!existsSync(path.join(source, 'checkpoints')) || !existsSync(path.join(hf, 'config.json'))) {
    const model = new Transformer(config, 0);
    saveCheckpoint(source, { model, state: { step: 0, tokensSeen: 0 } });
    exportHfModel(model, tok, hf);
  }
  const lengths = convs.map((c) => tok.renderChat(c.map((m) => ({ role: m.role === 'tool' ? 'user' : m.role, content: m.content }))).length);
  return { dir, source, hf, data, conversations: convs.length, lengths, config, origin, messages: convs };
}

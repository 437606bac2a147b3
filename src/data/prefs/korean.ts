// Korean preference pairs built by hcx, for the reward model and DPO (`hcx prefs korean`). Each real
// Korean question/answer (korean-chatbot-data's ChatbotData.csv, or any Q/A CSV or messages JSONL) gives
// up to three pairs, the real answer always chosen:
//   - language: rejected is an English reply to the Korean prompt, the report's "language confusion".
//     With the built-in data (below) it is the same fact's English answer, a true translation; with a
//     Q/A file, which has no English side, it is an English reply drawn (seeded) from a pool of short
//     conversational replies, so the pair teaches language, not content;
//   - repetition: rejected is the answer with its last words looped four to six times (a degenerate reply);
//   - padding: rejected is a reply padded to length with non-answers (hedges, restating the question)
//     to at least three times the answer's length and 60 characters; a length-biased scorer prefers it.
// Without a file, the built-in Korean chat data (src/data/corpus/chat.ts) stands in.
import { chatSamples } from '../corpus/chat.js';
import { Rng, subSeed } from '../hashing.js';
import { readConversations, type ChatTurn } from '../chat/readers.js';
import type { OnBadInput } from '../types.js';

export type KoreanPairKind = 'language' | 'repetition' | 'padding';
export const KOREAN_PAIR_KINDS: readonly KoreanPairKind[] = ['language', 'repetition', 'padding'];

export interface KoreanPair { prompt: ChatTurn[]; chosen: string; rejected: string; kind: KoreanPairKind; source: string }

/** Share of letters that are Hangul (0 when there are none): >= 0.5 counts as a Korean reply. */
export function hangulShare(s: string): number {
  let hangul = 0, letters = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    const isHangul = (c >= 0xac00 && c <= 0xd7a3) || (c >= 0x1100 && c <= 0x11ff) || (c >= 0x3130 && c <= 0x318f);
    if (isHangul) { hangul++; letters++; } else if (/\p{L}/u.test(ch)) letters++;
  }
  return letters ? hangul / letters : 0;
}

export const isKorean = (s: string): boolean => hangulShare(s) >= 0.5;

const ENGLISH_REPLIES = [
  "That sounds really tough. I'm here if you want to talk about it.",
  'I understand how you feel. Take your time.',
  'That is a great idea! You should go for it.',
  "Don't worry too much, things will get better.",
  'It sounds like you had a long day. Get some rest.',
  'Good luck! I am sure you will do well.',
  'That happens to everyone sometimes.',
  'Why not try talking to them honestly?',
  'I hope you find what you are looking for.',
  'Take care of yourself first.',
  'It is okay to feel that way.',
  'That sounds like a lot of fun!',
  'Maybe a short walk would help you clear your mind.',
  'You did your best, and that is what matters.',
  'Let me know how it goes.',
  'Sometimes it is better to let things go.',
  'Have you thought about asking a friend for advice?',
  'Congratulations! That is wonderful news.',
  'I am sorry to hear that.',
  'Eating something warm might make you feel better.',
];

const FILLER = [
  '좋은 질문입니다.', '그 부분에 대해서는 여러 가지 관점에서 생각해 볼 수 있습니다.', '상황에 따라 다를 수 있습니다.',
  '일반적으로 말씀드리면 사람마다 생각이 다릅니다.', '이것은 많은 분들이 궁금해하시는 주제입니다.', '다양한 의견이 있을 수 있습니다.',
  '여러 측면을 함께 고려하는 것이 중요합니다.', '한마디로 말하기는 어렵습니다.', '조금 더 생각해 보면 좋겠습니다.',
  '경우에 따라서는 그렇고, 경우에 따라서는 그렇지 않습니다.',
];

/** The answer with its last words looped `repeats` times (4-6 when not given): "여행은 언제나 좋죠. 언제나 좋죠. 언제나 좋죠. ..." */
export function repetitive(answer: string, r: Rng, repeats?: number): string {
  const words = answer.trim().split(/\s+/);
  const tail = words.slice(-Math.min(words.length, 2 + r.int(2))).join(' ');
  return [answer.trim(), ...Array.from({ length: repeats ?? 4 + r.int(3) }, () => tail)].join(' ');
}

/** Non-answers padded to at least 3x the answer's length (and 60 characters), opening by restating the question. */
export function paddedToLength(question: string, answer: string, r: Rng): string {
  const want = Math.max(60, 3 * answer.length);
  const parts = [`"${question.trim()}"라는 질문이군요.`];
  while (parts.join(' ').length < want) parts.push(FILLER[r.int(FILLER.length)]);
  return parts.join(' ');
}

interface KoreanQA { prompt: ChatTurn[]; answer: string; english?: string; source: string }

/** Korean Q/A from the built-in chat data, each with the same fact's English answer. */
export function builtinKoreanQA(n = 200, seed = 7): KoreanQA[] {
  const samples = chatSamples(n, seed);
  const english = new Map<string, string>();
  for (const s of samples) if (s.lang === 'en' && !s.key.includes('+')) english.set(s.key, s.messages[s.messages.length - 1].content);
  // Facts keyed the same way in both languages: ask chatSamples' English side for every Korean key.
  const out: KoreanQA[] = [];
  for (const s of samples) {
    if (s.lang !== 'ko' || s.key.includes('+')) continue;
    out.push({ prompt: s.messages.slice(0, -1), answer: s.messages[s.messages.length - 1].content, english: english.get(s.key), source: `builtin:${s.key}` });
  }
  return out;
}

/** Korean Q/A of a chat file (Q/A CSV or messages JSONL): single-exchange conversations whose prompt and answer are Korean. */
export async function readKoreanQA(file: string, onBad: OnBadInput): Promise<KoreanQA[]> {
  const out: KoreanQA[] = [];
  for await (const c of readConversations(file, {}, onBad)) {
    const last = c.messages[c.messages.length - 1];
    const user = c.messages.filter((m) => m.role === 'user').pop();
    if (last?.role !== 'assistant' || !user || !isKorean(user.content) || !isKorean(last.content)) continue;
    out.push({ prompt: c.messages.slice(0, -1), answer: last.content, source: `${file}:${c.line}` });
  }
  return out;
}

export interface KoreanPairOptions { kinds?: readonly KoreanPairKind[]; seed?: number; limit?: number }

/** The pairs of every kind for each Q/A (seeded; `limit` caps the Q/A used, spread over the file). */
export function buildKoreanPairs(qa: readonly KoreanQA[], o: KoreanPairOptions = {}): KoreanPair[] {
  const kinds = o.kinds ?? KOREAN_PAIR_KINDS;
  const seed = o.seed ?? 1;
  const r = new Rng(subSeed(seed, 'korean-pairs'));
  let items = [...qa];
  if (o.limit && o.limit < items.length) {
    const step = items.length / o.limit;
    items = Array.from({ length: o.limit }, (_, i) => items[Math.floor(i * step)]);
  }
  const out: KoreanPair[] = [];
  for (const q of items) {
    const question = q.prompt.filter((m) => m.role === 'user').pop()!.content;
    for (const kind of kinds) {
      const rejected = kind === 'language' ? q.english ?? ENGLISH_REPLIES[r.int(ENGLISH_REPLIES.length)]
        : kind === 'repetition' ? repetitive(q.answer, r) : paddedToLength(question, q.answer, r);
      out.push({ prompt: q.prompt, chosen: q.answer, rejected, kind, source: q.source });
    }
  }
  return out;
}

/** A pair as a JSONL record the preference readers take (the "pairs" format). */
export function koreanPairRecord(p: KoreanPair): string {
  return JSON.stringify({ prompt: p.prompt, chosen: p.chosen, rejected: p.rejected, kind: p.kind, source: p.source });
}

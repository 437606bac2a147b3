// Readers of preference data for the reward model and DPO: each record becomes a pair of completions to
// one prompt, the chosen one preferred. Formats (one JSON object per line, .jsonl or .jsonl.gz):
//   - chosen/rejected: {"prompt": P, "chosen": C, "rejected": R}, TRL's "standard" and "conversational"
//     forms: P a string (a user turn) or a messages list; C and R a string (an assistant turn), one
//     message, or a messages list;
//   - implicit prompt: {"chosen": [messages], "rejected": [messages]}: the turns both share are the prompt;
//   - HH-RLHF transcripts: {"chosen": "\n\nHuman: ...\n\nAssistant: ...", "rejected": "..."} (Anthropic's
//     hh-rlhf), split into turns, the shared turns the prompt;
//   - messages-style pairs: {"messages": [prompt turns], "chosen": ..., "rejected": ...}.
// A broken record is reported through onBad with file and line (then skipped, or fatal when the handler
// throws FatalInputError).
import { readLineBatches } from '../readers.js';
import { fromMessages, type ChatTurn } from '../chat/readers.js';
import { FatalInputError, type OnBadInput } from '../types.js';

export interface PreferencePair {
  /** The conversation so far (ends with a user turn, usually). */
  prompt: ChatTurn[];
  /** The completions: one or more turns, the first an assistant turn, the last an assistant turn. */
  chosen: ChatTurn[];
  rejected: ChatTurn[];
  /** The record's own "margin" (the reward model subtracts it from r_c - r_r), if any. */
  margin?: number;
  file: string;
  line: number;
}

export type PrefFormat = 'auto' | 'pairs' | 'hh' | 'messages';
export const PREF_FORMATS: readonly PrefFormat[] = ['auto', 'pairs', 'hh', 'messages'];

class BadPair extends Error {}

const HH_TURN = /\n\n(Human|Assistant): /g;

/** An HH-RLHF transcript ("\n\nHuman: ...\n\nAssistant: ...") as turns. */
export function parseHhTranscript(s: string): ChatTurn[] {
  const marks = [...s.matchAll(HH_TURN)];
  if (!marks.length || marks[0].index !== 0 && s.slice(0, marks[0].index).trim() !== '') throw new BadPair('not an HH-RLHF transcript (it must start with "\\n\\nHuman: ")');
  return marks.map((m, i) => ({
    role: m[1] === 'Human' ? 'user' as const : 'assistant' as const,
    content: s.slice(m.index! + m[0].length, i + 1 < marks.length ? marks[i + 1].index : s.length).trim(),
  }));
}

const sameTurn = (a: ChatTurn, b: ChatTurn) => a.role === b.role && a.content === b.content;

/** Splits two whole conversations at their longest shared prefix of turns (prompt) where a reply starts. */
export function splitSharedPrompt(chosen: ChatTurn[], rejected: ChatTurn[]): { prompt: ChatTurn[]; chosen: ChatTurn[]; rejected: ChatTurn[] } {
  let k = 0;
  while (k < chosen.length && k < rejected.length && sameTurn(chosen[k], rejected[k])) k++;
  if (k === chosen.length && k === rejected.length) throw new BadPair('chosen and rejected are the same conversation');
  // The completions start at an assistant turn: back up over shared assistant turns at the split.
  while (k > 0 && (chosen[k]?.role ?? 'assistant') === 'assistant' && chosen[k - 1].role === 'assistant') k--;
  return { prompt: chosen.slice(0, k), chosen: chosen.slice(k), rejected: rejected.slice(k) };
}

function completion(v: unknown, field: string): ChatTurn[] {
  if (typeof v === 'string') return [{ role: 'assistant', content: v }];
  if (v && typeof v === 'object' && !Array.isArray(v)) return completion([v], field);
  try {
    return fromMessages(v);
  } catch (e) {
    throw new BadPair(`"${field}": ${(e as Error).message}`);
  }
}

function promptTurns(v: unknown, field: string): ChatTurn[] {
  if (typeof v === 'string') return [{ role: 'user', content: v }];
  try {
    return fromMessages(v);
  } catch (e) {
    throw new BadPair(`"${field}": ${(e as Error).message}`);
  }
}

function checkCompletion(turns: ChatTurn[], field: string): void {
  if (!turns.length) throw new BadPair(`"${field}" has no reply after the shared prompt`);
  if (turns[0].role !== 'assistant') throw new BadPair(`"${field}" must start with an assistant turn, got ${turns[0].role}`);
  if (turns[turns.length - 1].role !== 'assistant') throw new BadPair(`"${field}" must end with an assistant turn, got ${turns[turns.length - 1].role}`);
}

/** One JSON record as a pair (format 'auto' decides by its fields). */
export function recordToPair(o: Record<string, unknown>, format: PrefFormat): Omit<PreferencePair, 'file' | 'line'> {
  if (!('chosen' in o) || !('rejected' in o)) throw new BadPair(`a preference record needs "chosen" and "rejected" (fields: ${Object.keys(o).slice(0, 8).join(', ')})`);
  const isHh = typeof o.chosen === 'string' && typeof o.rejected === 'string' && o.chosen.startsWith('\n\nHuman: ');
  const f = format !== 'auto' ? format : 'messages' in o ? 'messages' : isHh && !('prompt' in o) ? 'hh' : 'pairs';
  let pair: { prompt: ChatTurn[]; chosen: ChatTurn[]; rejected: ChatTurn[] };
  if (f === 'hh') {
    if (typeof o.chosen !== 'string' || typeof o.rejected !== 'string') throw new BadPair('HH-RLHF records hold "chosen" and "rejected" transcripts as strings');
    pair = splitSharedPrompt(parseHhTranscript(o.chosen), parseHhTranscript(o.rejected));
  } else {
    const promptField = f === 'messages' ? 'messages' : 'prompt';
    if (promptField in o) {
      pair = { prompt: promptTurns(o[promptField], promptField), chosen: completion(o.chosen, 'chosen'), rejected: completion(o.rejected, 'rejected') };
    } else {
      if (typeof o.chosen === 'string' || typeof o.rejected === 'string') throw new BadPair(`"chosen" and "rejected" are plain strings, so the record needs a "${promptField}"`);
      pair = splitSharedPrompt(completion(o.chosen, 'chosen'), completion(o.rejected, 'rejected'));
    }
  }
  checkCompletion(pair.chosen, 'chosen');
  checkCompletion(pair.rejected, 'rejected');
  if (!pair.prompt.length) throw new BadPair('the pair has no prompt');
  if ('margin' in o) {
    if (typeof o.margin !== 'number' || !Number.isFinite(o.margin)) throw new BadPair(`"margin" must be a finite number, got ${JSON.stringify(o.margin)}`);
    return { ...pair, margin: o.margin };
  }
  return pair;
}

/** The preference pairs of one file, streamed. */
export async function* readPreferencePairs(file: string, format: PrefFormat, onBad: OnBadInput): AsyncGenerator<PreferencePair> {
  for await (const { first, lines } of readLineBatches(file, onBad)) {
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i], line = first + i;
      if (l === '\u0000' || l.trim() === '') continue;
      let v: unknown;
      try { v = JSON.parse(l); } catch (e) { onBad({ file, line, reason: `broken JSON: ${(e as Error).message}` }); continue; }
      if (!v || typeof v !== 'object' || Array.isArray(v)) { onBad({ file, line, reason: 'not a JSON object' }); continue; }
      try {
        yield { ...recordToPair(v as Record<string, unknown>, format), file, line };
      } catch (e) {
        if (e instanceof FatalInputError || !(e instanceof BadPair)) throw e;
        onBad({ file, line, reason: e.message });
      }
    }
  }
}

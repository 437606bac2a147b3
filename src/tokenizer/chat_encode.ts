// Encoding a conversation with a model's chat template: special tokens are parsed only in the template's own
// text (message content can never become a role marker), the text is otherwise tokenized as one string (so ids
// equal the model's own apply_chat_template when content holds no special-token strings), and the assistant
// turns' tokens are marked for the SFT loss: an assistant message's content (and reasoning) plus the template
// text after it up to and including the first stop token (e.g. <|im_end|>, <|eot_id|>, <end_of_turn>).
import { ChatTemplate, ChatTemplateError, type ContentRegion } from './chat_template.js';
import type { ChatEncoding, ChatOptions, ChatTurn } from './types.js';

export interface OffsetEncoder {
  /** Ids and per-token [start, end) in text; a special token is accepted only where allowSpecial(start, end). */
  encodeWithOffsets(text: string, allowSpecial: (start: number, end: number) => boolean): { ids: number[]; offsets: number[] };
  /** Strings of the special tokens (to check content for them). */
  readonly specialStrings: readonly string[];
}

export function encodeChatWithTemplate(enc: OffsetEncoder, template: ChatTemplate, stopStrings: readonly string[],
  messages: readonly ChatTurn[], opts: ChatOptions = {}): ChatEncoding {
  let located: { text: string; regions: ContentRegion[] };
  try {
    located = template.locate(messages, opts);
  } catch (e) {
    if (!(e instanceof ChatTemplateError) || e.message.includes('failed on this conversation')) throw e;
    // Content cannot be told from template text: parse specials everywhere if no content could inject one.
    const text = template.render(messages, opts);
    for (const [i, m] of messages.entries()) {
      for (const s of contentStrings(m)) {
        const bad = enc.specialStrings.find((sp) => s.includes(sp));
        if (bad) throw new ChatTemplateError(`${e.message}; and message ${i} contains the special token ${bad}, which must stay text`);
      }
    }
    const { ids } = enc.encodeWithOffsets(text, () => true);
    return { text, ids, assistantMask: null, assistantSpans: [], maskError: e.message };
  }
  const { text, regions } = located;
  const sorted = [...regions].sort((a, b) => a.start - b.start);
  // Specials only where no content region overlaps.
  const allow = (s: number, e: number): boolean => {
    let lo = 0, hi = sorted.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (sorted[mid].end <= s) lo = mid + 1; else hi = mid; }
    return lo >= sorted.length || sorted[lo].start >= e || sorted[lo].end <= s || sorted[lo].start === sorted[lo].end;
  };
  const { ids, offsets } = enc.encodeWithOffsets(text, allow);
  const spans = assistantSpans(text, messages, sorted, stopStrings);
  const mask = new Array<number>(ids.length).fill(0);
  let j = 0;
  for (let t = 0; t < ids.length; t++) {
    const s = offsets[2 * t], e = offsets[2 * t + 1];
    if (e <= s) continue; // added by post-processing
    while (j < spans.length && spans[j][1] <= s) j++;
    if (j < spans.length && s >= spans[j][0]) mask[t] = 1;
  }
  return { text, ids, assistantMask: mask, assistantSpans: spans };
}

function contentStrings(m: ChatTurn): string[] {
  const out: string[] = [];
  if (typeof m.content === 'string') out.push(m.content);
  else if (Array.isArray(m.content)) for (const p of m.content) if (typeof p?.text === 'string') out.push(p.text);
  if (typeof m.reasoning_content === 'string') out.push(m.reasoning_content);
  return out;
}

/** Character spans of the assistant turns: their content regions, extended through the first stop token after them. */
export function assistantSpans(text: string, messages: readonly ChatTurn[], sorted: ContentRegion[], stopStrings: readonly string[]): [number, number][] {
  const spans: [number, number][] = [];
  const byMessage = new Map<number, ContentRegion[]>();
  for (const r of sorted) {
    if (messages[r.message]?.role !== 'assistant') continue;
    const list = byMessage.get(r.message) ?? [];
    list.push(r);
    byMessage.set(r.message, list);
  }
  for (const [msg, rs] of [...byMessage].sort((a, b) => a[0] - b[0])) {
    const start = Math.min(...rs.map((r) => r.start));
    let end = Math.max(...rs.map((r) => r.end));
    // Template text up to the next message's content.
    const next = sorted.find((r) => r.start >= end && r.message !== msg);
    const limit = next ? next.start : text.length;
    let best = -1;
    for (const s of stopStrings) {
      if (!s) continue;
      const i = text.indexOf(s, end);
      if (i >= 0 && i + s.length <= limit && (best < 0 || i + s.length < best)) best = i + s.length;
    }
    if (best >= 0) end = best;
    spans.push([start, end]);
  }
  return spans;
}

// Prompts for RL stages: chat records in any format the chat readers take (messages, ShareGPT, Alpaca,
// Q/A CSV). A record's prompt is its turns up to the last assistant turn, rendered with the chat
// template's generation header; that assistant turn, when there is one, is kept as the reference answer
// (GRPO's verifiable rewards score against it). Held-out prompts are taken stratified by prompt length
// (tertiles) and format (system prompt or not, single or multi-turn), so the held-out set the run-level
// early stop watches has the training prompts' mix of lengths and formats.
import { readConversations, type ChatFormat, type ChatTurn } from '../data/chat/readers.js';
import type { ChatTemplate } from '../data/chat/template.js';
import { shuffled } from '../data/chat/dataset.js';

export interface PromptItem {
  ids: number[];
  turns: ChatTurn[];
  /** The record's final assistant turn, if it had one. */
  reference?: string;
  file: string;
  line: number;
  /** Stratum: "short|single", "long|system+multi", ... */
  stratum: string;
}

/** Reads prompts; those longer than maxPromptTokens are skipped (counted in `tooLong`). */
export async function loadPrompts(files: readonly string[], format: ChatFormat, template: ChatTemplate, maxPromptTokens: number): Promise<{ items: PromptItem[]; tooLong: number; bad: string[] }> {
  const items: PromptItem[] = [], bad: string[] = [];
  let tooLong = 0;
  for (const file of files) {
    for await (const conv of readConversations(file, { format }, (b) => { bad.push(`${b.file}:${b.line}: ${b.reason}`); })) {
      let turns = conv.messages;
      let reference: string | undefined;
      const lastAssistant = turns.map((t) => t.role).lastIndexOf('assistant');
      if (lastAssistant >= 0 && lastAssistant === turns.length - 1) {
        reference = turns[lastAssistant].content;
        turns = turns.slice(0, lastAssistant);
      }
      if (!turns.some((t) => t.role === 'user')) { bad.push(`${conv.file}:${conv.line}: no user turn to answer`); continue; }
      const ids = template.prompt(turns);
      if (ids.length > maxPromptTokens) { tooLong++; continue; }
      const fmt = `${turns.some((t) => t.role === 'system') ? 'system+' : ''}${turns.filter((t) => t.role === 'user').length > 1 ? 'multi' : 'single'}`;
      items.push({ ids, turns, reference, file: conv.file, line: conv.line, stratum: fmt });
    }
  }
  // Length tertiles over all prompts read.
  const sorted = items.map((p) => p.ids.length).sort((a, b) => a - b);
  const cut1 = sorted[Math.floor(sorted.length / 3)] ?? 0, cut2 = sorted[Math.floor((2 * sorted.length) / 3)] ?? 0;
  for (const p of items) p.stratum = `${p.ids.length < cut1 ? 'short' : p.ids.length < cut2 ? 'medium' : 'long'}|${p.stratum}`;
  return { items, tooLong, bad };
}

/**
 * Splits off `heldout` prompts (a share < 1 or a count), the same share from every stratum (largest
 * remainders), chosen by a seeded shuffle within each; both sides keep file order.
 */
export function stratifiedSplit<T extends { stratum: string }>(items: readonly T[], heldout: number, seed: number): { train: T[]; heldout: T[] } {
  const want = heldout < 1 ? Math.round(heldout * items.length) : Math.min(heldout, items.length - 1);
  if (want <= 0) return { train: [...items], heldout: [] };
  const byStratum = new Map<string, number[]>();
  items.forEach((p, i) => { const l = byStratum.get(p.stratum) ?? []; l.push(i); byStratum.set(p.stratum, l); });
  const strata = [...byStratum.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  const quotas = strata.map(([, l]) => (l.length * want) / items.length);
  const take = quotas.map(Math.floor);
  let left = want - take.reduce((a, b) => a + b, 0);
  const byRemainder = quotas.map((q, i) => [q - Math.floor(q), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of byRemainder) { if (left <= 0) break; take[i]++; left--; }
  const held = new Uint8Array(items.length);
  strata.forEach(([, l], s) => {
    const perm = shuffled(l.length, (seed * 2654435761 + s) >>> 0);
    for (let k = 0; k < take[s]; k++) held[l[perm[k]]] = 1;
  });
  return { train: items.filter((_, i) => !held[i]), heldout: items.filter((_, i) => held[i]) };
}

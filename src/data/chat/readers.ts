// Readers of chat data for SFT: each yields conversations (lists of role/content turns) with the file and
// line they came from. Formats: OpenAI-style `messages` JSONL (system, user, assistant, tool turns; content
// as a string or a list of text parts; assistant `tool_calls`), ShareGPT (`conversations` of `from`/`value`),
// Alpaca / self-instruct (`instruction`, `input`, `output`, or `instances` of input/output), and two-column
// question/answer CSV/TSV (e.g. korean-chatbot-data's `Q,A,label`). A broken record is reported through
// onBad with file and line, then skipped, or fatal when the handler throws (FatalInputError).
import { CsvParser } from '../csv.js';
import { innerExt, readLineBatches } from '../readers.js';
import type { OnBadInput } from '../types.js';

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';
export interface ChatTurn { role: ChatRole; content: string }
export interface Conversation {
  messages: ChatTurn[];
  /** Where it came from, for error messages and reports. */
  file: string;
  line: number;
}

export type ChatFormat = 'auto' | 'messages' | 'sharegpt' | 'alpaca' | 'qa-csv';
export const CHAT_FORMATS: readonly ChatFormat[] = ['auto', 'messages', 'sharegpt', 'alpaca', 'qa-csv'];

export interface ChatReadOptions {
  format?: ChatFormat;
  /** qa-csv: question and answer columns (header names or 0-based indices); default Q/A, question/answer, else the first two. */
  columns?: [string | number, string | number];
  /** qa-csv: an optional system prompt put before every pair. */
  system?: string;
}

class BadRecord extends Error {}

const SHAREGPT_ROLES: Record<string, ChatRole> = {
  system: 'system', human: 'user', user: 'user', gpt: 'assistant', assistant: 'assistant', chatgpt: 'assistant', bard: 'assistant',
  bing: 'assistant', model: 'assistant', function_call: 'assistant', tool: 'tool', observation: 'tool', function_response: 'tool', function: 'tool',
};

function text(v: unknown, what: string): string {
  if (typeof v === 'string') return v;
  // OpenAI content parts: [{ type: 'text', text }]; other part types (images) cannot be trained on here.
  if (Array.isArray(v)) {
    return v.map((p, i) => {
      if (p && typeof p === 'object' && (p as { type?: unknown }).type === 'text' && typeof (p as { text?: unknown }).text === 'string') return (p as { text: string }).text;
      throw new BadRecord(`${what}[${i}] is not a text part ({"type": "text", "text": ...})`);
    }).join('');
  }
  throw new BadRecord(`${what} must be a string or a list of text parts, got ${JSON.stringify(v)?.slice(0, 60)}`);
}

/** OpenAI chat messages -> turns. Assistant tool calls are kept as text the model learns to write. */
export function fromMessages(raw: unknown): ChatTurn[] {
  if (!Array.isArray(raw)) throw new BadRecord('"messages" must be a list');
  return raw.map((m, i) => {
    if (!m || typeof m !== 'object') throw new BadRecord(`messages[${i}] is not an object`);
    const o = m as Record<string, unknown>;
    const role = o.role === 'developer' ? 'system' : o.role;
    if (role !== 'system' && role !== 'user' && role !== 'assistant' && role !== 'tool') throw new BadRecord(`messages[${i}].role ${JSON.stringify(o.role)} is not system, user, assistant or tool`);
    let content = o.content === null || o.content === undefined ? '' : text(o.content, `messages[${i}].content`);
    if (role === 'assistant' && Array.isArray(o.tool_calls)) {
      for (const c of o.tool_calls) {
        const fn = (c as { function?: { name?: unknown; arguments?: unknown } })?.function;
        if (!fn || typeof fn.name !== 'string') throw new BadRecord(`messages[${i}].tool_calls: each call needs function.name`);
        const args = typeof fn.arguments === 'string' ? fn.arguments : JSON.stringify(fn.arguments ?? {});
        content += `<tool_call>${JSON.stringify({ name: fn.name, arguments: args })}</tool_call>`;
      }
    }
    return { role, content };
  });
}

export function fromShareGpt(raw: unknown): ChatTurn[] {
  if (!Array.isArray(raw)) throw new BadRecord('"conversations" must be a list');
  return raw.map((m, i) => {
    const o = (m ?? {}) as Record<string, unknown>;
    const role = SHAREGPT_ROLES[String(o.from)];
    if (!role) throw new BadRecord(`conversations[${i}].from ${JSON.stringify(o.from)} is not a known speaker (${Object.keys(SHAREGPT_ROLES).join(', ')})`);
    if (typeof o.value !== 'string') throw new BadRecord(`conversations[${i}].value must be a string`);
    return { role, content: o.value };
  });
}

/** Alpaca: the instruction (and its input, after a blank line) is the user turn, the output the reply. */
function alpacaPair(instruction: unknown, input: unknown, output: unknown, where: string): ChatTurn[] {
  if (typeof instruction !== 'string') throw new BadRecord(`${where}"instruction" must be a string`);
  if (input !== undefined && input !== null && typeof input !== 'string') throw new BadRecord(`${where}"input" must be a string`);
  if (typeof output !== 'string') throw new BadRecord(`${where}"output" must be a string`);
  const user = input ? `${instruction}\n\n${input}` : instruction;
  return [{ role: 'user', content: user }, { role: 'assistant', content: output }];
}

/** One record -> conversations (self-instruct's `instances` give one per instance). */
export function recordToConversations(o: Record<string, unknown>, format: ChatFormat): ChatTurn[][] {
  const f = format !== 'auto' ? format : 'messages' in o ? 'messages' : 'conversations' in o ? 'sharegpt' : 'instruction' in o ? 'alpaca' : null;
  if (f === 'messages') return [fromMessages(o.messages)];
  if (f === 'sharegpt') return [fromShareGpt(o.conversations)];
  if (f === 'alpaca') {
    if (Array.isArray(o.instances)) return o.instances.map((x, i) => alpacaPair(o.instruction, (x as Record<string, unknown>)?.input, (x as Record<string, unknown>)?.output, `instances[${i}]: `));
    return [alpacaPair(o.instruction, o.input, o.output, '')];
  }
  throw new BadRecord(`not a chat record: expected "messages", "conversations" or "instruction" (fields: ${Object.keys(o).slice(0, 8).join(', ')})`);
}

function qaColumns(header: string[], want?: [string | number, string | number]): [number, number] {
  const find = (w: string | number) => (typeof w === 'number' ? w : header.indexOf(w));
  if (want) {
    const cols = [find(want[0]), find(want[1])] as [number, number];
    cols.forEach((c, i) => { if (c < 0) throw new BadRecord(`no column "${want[i]}" in header [${header.join(', ')}]`); });
    return cols;
  }
  const lower = header.map((h) => h.trim().toLowerCase());
  for (const [q, a] of [['q', 'a'], ['question', 'answer'], ['instruction', 'output'], ['prompt', 'response']]) {
    if (lower.includes(q) && lower.includes(a)) return [lower.indexOf(q), lower.indexOf(a)];
  }
  if (header.length < 2) throw new BadRecord(`a Q/A file needs two columns, the header has ${header.length}`);
  return [0, 1];
}

/** Conversations of one file, streamed. */
export async function* readConversations(file: string, opts: ChatReadOptions, onBad: OnBadInput): AsyncGenerator<Conversation> {
  const ext = innerExt(file);
  const format = opts.format && opts.format !== 'auto' ? opts.format : ext === '.csv' || ext === '.tsv' ? 'qa-csv' : 'auto';
  const batches = readLineBatches(file, onBad);
  if (format === 'qa-csv') {
    const parser = new CsvParser(ext === '.tsv' ? '\t' : ',');
    let cols: [number, number] | null = null;
    for await (const { first, lines } of batches) {
      for (let i = 0; i < lines.length; i++) {
        if (lines[i] === '\u0000') continue;
        const rec = parser.pushLine(lines[i], first + i);
        if (!rec) continue;
        const line = parser.startLine;
        if (!cols) {
          try { cols = qaColumns(rec, opts.columns); } catch (e) { onBad({ file, line, reason: (e as Error).message }); return; }
          continue;
        }
        if (rec.length === 1 && rec[0] === '') continue;
        const [q, a] = [rec[cols[0]], rec[cols[1]]];
        if (q === undefined || a === undefined) { onBad({ file, line, reason: `record has ${rec.length} cells, columns ${cols[0]} and ${cols[1]} needed` }); continue; }
        const messages: ChatTurn[] = [...(opts.system ? [{ role: 'system' as const, content: opts.system }] : []), { role: 'user', content: q }, { role: 'assistant', content: a }];
        yield { messages, file, line };
      }
    }
    if (parser.pending) onBad({ file, line: parser.startLine, reason: 'unterminated quoted cell at end of file' });
    return;
  }
  // JSONL (a .json file holding one list of records is read too).
  if (ext === '.json') {
    let all = '';
    for await (const { lines } of batches) all += lines.join('\n') + '\n';
    let list: unknown;
    try { list = JSON.parse(all); } catch (e) { onBad({ file, line: 1, reason: `broken JSON: ${(e as Error).message}` }); return; }
    if (!Array.isArray(list)) { onBad({ file, line: 1, reason: 'a .json chat file must hold a list of records (or use .jsonl)' }); return; }
    for (let i = 0; i < list.length; i++) yield* fromRecord(list[i], i + 1, `record ${i + 1}`);
    return;
  }
  for await (const { first, lines } of batches) {
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i];
      if (l === '\u0000' || l.trim() === '') continue;
      let v: unknown;
      try { v = JSON.parse(l); } catch (e) { onBad({ file, line: first + i, reason: `broken JSON: ${(e as Error).message}` }); continue; }
      yield* fromRecord(v, first + i, '');
    }
  }

  function* fromRecord(v: unknown, line: number, where: string): Generator<Conversation> {
    if (!v || typeof v !== 'object' || Array.isArray(v)) { onBad({ file, line, reason: `${where}not a JSON object` }); return; }
    let convs: ChatTurn[][];
    try {
      convs = recordToConversations(v as Record<string, unknown>, format as ChatFormat);
    } catch (e) {
      if (!(e instanceof BadRecord)) throw e;
      onBad({ file, line, reason: (where ? where + ': ' : '') + e.message });
      return;
    }
    for (const messages of convs) {
      if (messages.length === 0) { onBad({ file, line, reason: 'conversation has no turns' }); continue; }
      yield { messages, file, line };
    }
  }
}

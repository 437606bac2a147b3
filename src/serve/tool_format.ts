// Tool calls in hcx's chat template, and reading them back out of the model's text. The format (the same
// as the exported Jinja template's, CHAT_TEMPLATE_JINJA in src/tokenizer/special.ts; test/tokenizer/export_template.test.ts):
//   - the tools are listed at the end of the system turn (a system turn is added when there is none):
//       # Tools\n\nYou may call one or more functions ... <tools>\n{tool as JSON}\n...</tools> ...
//   - an assistant call:    <tool_call>\n{"name": "get_weather", "arguments": {"city": "Seoul"}}\n</tool_call>
//     (several calls: one block each, separated by a newline; text before the first block is content)
//   - a tool's result:      a user turn <tool_response>\n...\n</tool_response>
//
// An imported model (a Hugging Face or GGUF tokenizer) renders tools, calls and results with its own template
// (templateTurns); its calls are read back with the same parser when the template writes them in this
// <tool_call> format (Qwen's and Hermes' do), and otherwise are left as content.
import { TOOL_CALL_CLOSE, TOOL_CALL_OPEN, TOOLS_INTRO, TOOLS_OUTRO, type ChatMessage, type ChatOptions, type ChatTurn, type TextTokenizer } from '../tokenizer/index.js';
import type { ChatMessageIn, ToolSpec } from './request_chat.js';

export { TOOL_CALL_CLOSE, TOOL_CALL_OPEN };

/** JSON as Jinja's `tojson` writes it (Python's json.dumps: ", " and ": " separators, non-ASCII kept), so the exported template renders tools byte for byte as hcx does. */
export function pyJson(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map((x) => (x === undefined ? 'null' : pyJson(x))).join(', ') + ']';
  if (v !== null && typeof v === 'object') {
    return '{' + Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).map(([k, x]) => JSON.stringify(k) + ': ' + pyJson(x)).join(', ') + '}';
  }
  return JSON.stringify(v) ?? 'null';
}

/** The text of one call, as the model writes it (arguments: a JSON text). */
export const callText = (name: string, args: string): string => `${TOOL_CALL_OPEN}\n{"name": ${JSON.stringify(name)}, "arguments": ${args}}\n${TOOL_CALL_CLOSE}`;

/** The tools block of the system turn. `raw` are the tools as the client sent them. */
export function toolsText(raw: unknown[]): string {
  return TOOLS_INTRO + raw.map((t) => pyJson(t) + '\n').join('') + TOOLS_OUTRO;
}

/** Messages with tools, calls and results -> the plain role/content turns of hcx's template. */
export function toTemplateMessages(messages: readonly ChatMessageIn[], rawTools: unknown[] | null): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const m of messages) {
    if (m.role === 'tool') { out.push({ role: 'user', content: `<tool_response>\n${m.content}\n</tool_response>` }); continue; }
    if (m.role === 'assistant' && m.toolCalls?.length) {
      out.push({ role: 'assistant', content: m.content + (m.content ? '\n' : '') + m.toolCalls.map((c) => callText(c.name, c.arguments)).join('\n') });
      continue;
    }
    out.push({ role: m.role, content: m.content });
  }
  if (rawTools && rawTools.length) {
    const block = toolsText(rawTools);
    if (out[0]?.role === 'system') out[0] = { role: 'system', content: out[0].content + '\n\n' + block };
    else out.unshift({ role: 'system', content: block });
  }
  return out;
}

/** Whether the model writes tool calls as <tool_call> JSON blocks: hcx's template, or one that spells the tag. */
export function writesToolCallBlocks(tok: TextTokenizer): boolean {
  return tok.kind === 'hcx' || (tok.chatTemplate?.includes(TOOL_CALL_OPEN) ?? false);
}

/** Arguments as templates expect them: an object (vLLM parses them so too), else the string as sent. */
function callArguments(args: string): string | Record<string, unknown> {
  try {
    const v = JSON.parse(args) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : args;
  } catch {
    return args;
  }
}

/**
 * The request's messages (and tools) as the served tokenizer's template takes them: hcx's plain turns with the
 * tools in the system turn, or OpenAI-shaped turns with `tools` for an imported model's own template.
 */
export function templateTurns(tok: TextTokenizer, messages: readonly ChatMessageIn[], rawTools: unknown[] | null): { turns: ChatTurn[]; opts: ChatOptions } {
  if (tok.kind === 'hcx') return { turns: toTemplateMessages(messages, rawTools).map((m) => ({ role: m.role, content: m.content })), opts: {} };
  const turns = messages.map((m): ChatTurn => {
    if (m.role === 'tool') return { role: 'tool', content: m.content, tool_call_id: m.toolCallId };
    if (m.role === 'assistant' && m.toolCalls?.length) {
      return { role: 'assistant', content: m.content, tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: callArguments(c.arguments) } })) };
    }
    return { role: m.role, content: m.content };
  });
  return { turns, opts: rawTools && rawTools.length ? { tools: rawTools } : {} };
}

export type ToolEvent = { content: string } | { call: { name: string; arguments: string } };

/**
 * Splits streamed model text into content and tool calls. Content is released as it comes, except a tail
 * that may be the start of `<tool_call>` and trailing whitespace (which separates calls); a call is
 * released when its `</tool_call>` arrives. A block that does not parse, or never closes, is content.
 * The non-streaming reply runs the same parser over the whole text, so both agree.
 */
export class ToolCallParser {
  private buf = '';
  private inCall = false;
  /** Whitespace before an open tag: dropped if the block is a call, content if it is not. */
  private gap = '';
  calls = 0;

  push(text: string): ToolEvent[] {
    this.buf += text;
    const ev: ToolEvent[] = [];
    for (;;) {
      if (this.inCall) {
        const end = this.buf.indexOf(TOOL_CALL_CLOSE);
        if (end < 0) return ev;
        const body = this.buf.slice(TOOL_CALL_OPEN.length, end);
        const call = parseCall(body);
        if (call) { ev.push({ call }); this.calls++; } else ev.push({ content: this.gap + this.buf.slice(0, end + TOOL_CALL_CLOSE.length) });
        this.buf = this.buf.slice(end + TOOL_CALL_CLOSE.length);
        this.inCall = false;
        this.gap = '';
        continue;
      }
      const at = this.buf.indexOf(TOOL_CALL_OPEN);
      if (at >= 0) {
        const before = this.buf.slice(0, at);
        const text = before.replace(/\s+$/, '');
        if (text) ev.push({ content: text });
        this.gap = before.slice(text.length);
        this.buf = this.buf.slice(at);
        this.inCall = true;
        continue;
      }
      // Hold back a possible start of the open tag and trailing whitespace.
      let hold = 0;
      for (let k = Math.min(TOOL_CALL_OPEN.length - 1, this.buf.length); k > 0; k--) if (this.buf.endsWith(TOOL_CALL_OPEN.slice(0, k))) { hold = k; break; }
      let cut = this.buf.length - hold;
      while (cut > 0 && /\s/.test(this.buf[cut - 1])) cut--;
      if (cut > 0) { ev.push({ content: this.buf.slice(0, cut) }); this.buf = this.buf.slice(cut); }
      return ev;
    }
  }

  /** The end of the text: what is held back is content (unless it is only whitespace after calls). */
  finish(): ToolEvent[] {
    const rest = (this.inCall ? this.gap : '') + this.buf;
    this.buf = '';
    this.gap = '';
    if (!rest || (this.calls > 0 && !rest.trim())) return [];
    return [{ content: rest }];
  }
}

function parseCall(body: string): { name: string; arguments: string } | null {
  try {
    const o = JSON.parse(body) as { name?: unknown; arguments?: unknown };
    if (typeof o !== 'object' || o === null || typeof o.name !== 'string') return null;
    const args = o.arguments ?? {};
    return { name: o.name, arguments: typeof args === 'string' ? args : JSON.stringify(args) };
  } catch {
    return null;
  }
}

/** Whole-text form of the parser: content and calls of a finished reply. */
export function parseToolCalls(text: string): { content: string; calls: { name: string; arguments: string }[] } {
  const p = new ToolCallParser();
  let content = '';
  const calls: { name: string; arguments: string }[] = [];
  for (const e of [...p.push(text), ...p.finish()]) {
    if ('call' in e) calls.push(e.call);
    else content += e.content;
  }
  return { content, calls };
}

export type { ToolSpec };

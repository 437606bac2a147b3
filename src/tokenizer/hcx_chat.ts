// hcx's own chat template through the TextTokenizer interface: ChatTurn messages checked down to what the
// template renders (system/user/assistant, text content), and the ids + mask of renderChatWithMask with the
// matching character spans of the rendered text.
import { roleName, SPECIAL_TOKENS, type ChatMessage } from './special.js';
import type { ChatEncoding, ChatOptions, ChatTurn } from './types.js';

export function hcxMessages(messages: readonly ChatTurn[], opts?: ChatOptions): ChatMessage[] {
  if (opts?.tools && opts.tools.length > 0) throw new Error("chat: hcx's chat template does not render tools");
  return messages.map((m, i) => {
    const role = roleName(m.role);
    let content: string;
    if (typeof m.content === 'string') content = m.content;
    else if (m.content === null || m.content === undefined) content = '';
    else if (Array.isArray(m.content)) {
      content = m.content.map((p, j) => {
        if (p?.type !== 'text' || typeof p.text !== 'string') throw new Error(`chat: message ${i} part ${j}: hcx's template renders only text parts, got ${JSON.stringify(p?.type)}`);
        return p.text;
      }).join('');
    } else throw new Error(`chat: message ${i}: content must be a string or a list of parts`);
    if (m.tool_calls && m.tool_calls.length > 0) throw new Error(`chat: message ${i}: hcx's chat template does not render tool calls`);
    return { role, content };
  });
}

/** Spans: each assistant message's content and its <|endofturn|>, as renderChatWithMask masks them. */
export function hcxChatEncoding(msgs: readonly ChatMessage[], r: { ids: number[]; mask: number[] }, text: string): ChatEncoding {
  const spans: [number, number][] = [];
  let pos = 0;
  for (const m of msgs) {
    pos += SPECIAL_TOKENS[m.role].length;
    const end = pos + m.content.length + SPECIAL_TOKENS.endofturn.length;
    if (m.role === 'assistant') spans.push([pos, end]);
    pos = end;
  }
  return { text, ids: r.ids, assistantMask: r.mask, assistantSpans: spans };
}

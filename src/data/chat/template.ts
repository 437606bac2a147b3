// Chat templates for training: a conversation becomes token ids plus a mask of the tokens the model is
// trained to produce. The mask is 1 on exactly the assistant turns' content and their turn-end token, and
// 0 on role headers, system, user and tool turns (and, later, on padding).
//
// hcx's own template is `<|role|>content<|endofturn|>` per turn (src/tokenizer/special.ts). Tool results
// have no role token of their own: they render as a user turn whose text starts with "tool:\n" (not
// trained either way). Contents are always encoded as plain text, so "<|assistant|>" typed inside a
// message is a few ordinary tokens and can never switch roles.
//
// A model's own Jinja template (imported with a Hugging Face tokenizer) implements the same ChatTemplate
// interface: it renders the text, tokenizes it, and marks the assistant spans the template produced.
import type { ChatTurn } from './readers.js';

export interface RenderedChat {
  ids: number[];
  /** 1 where the token is trained on (assistant content and turn end), else 0; same length as ids. */
  mask: number[];
}

export interface ChatTemplate {
  readonly name: string;
  /** A whole conversation for training. */
  render(messages: readonly ChatTurn[]): RenderedChat;
  /** The conversation so far plus the header that asks for the next assistant turn (generation). */
  prompt(messages: readonly ChatTurn[]): number[];
  /** Tokens that end an assistant turn: generation stops at them. */
  readonly stopTokens: number[];
}

/** What hcx's template needs from a tokenizer (hcx's Tokenizer fits; tests plug in a byte-level one). */
export interface ChatTokenizer {
  /** Text as tokens, special-token strings read as plain text. */
  encode(text: string): number[];
  readonly special: { user: number; assistant: number; system: number; endofturn: number };
}

export const TOOL_PREFIX = 'tool:\n';

export function hcxTemplate(tok: ChatTokenizer): ChatTemplate {
  const header = (role: ChatTurn['role']) => (role === 'tool' ? tok.special.user : tok.special[role]);
  const render = (messages: readonly ChatTurn[]): RenderedChat => {
    const ids: number[] = [], mask: number[] = [];
    for (const m of messages) {
      const content = tok.encode(m.role === 'tool' ? TOOL_PREFIX + m.content : m.content);
      const bit = m.role === 'assistant' ? 1 : 0;
      ids.push(header(m.role), ...content, tok.special.endofturn);
      mask.push(0, ...content.map(() => bit), bit);
    }
    return { ids, mask };
  };
  return {
    name: 'hcx',
    render,
    prompt: (messages) => [...render(messages).ids, tok.special.assistant],
    stopTokens: [tok.special.endofturn],
  };
}

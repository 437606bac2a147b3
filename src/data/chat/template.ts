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
import { Tokenizer, type TextTokenizer } from '../../tokenizer/index.js';

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

/**
 * An imported model's own Jinja chat template as a training template: ids equal the model's own
 * apply_chat_template (special tokens parsed only in the template's text), the mask marks each assistant
 * turn's content through its first stop token (tokenizer/chat_encode.ts). A rendered conversation ends at
 * its last supervised token: the template text after the final turn end (ChatML's "\n") is never trained
 * and is not what generation produces, so a reward model scores the same last token in training as on a
 * PPO rollout.
 */
export function modelTemplate(tok: TextTokenizer): ChatTemplate {
  if (!tok.chatTemplate) throw new Error('template "model": the model\'s tokenizer has no chat template (use template "hcx" with an hcx tokenizer, or give a tokenizer that has one)');
  const stopTokens = [...tok.specialIds.stop];
  if (!stopTokens.length) throw new Error('template "model": the model\'s tokenizer names no stop token (eos_token_id in generation_config.json or config.json)');
  return {
    name: 'model',
    render(messages) {
      const enc = tok.encodeChat(turns(messages));
      if (!enc.assistantMask) throw new Error(`template "model": the chat template's assistant turns cannot be located (${enc.maskError ?? 'no reason given'})`);
      const last = enc.assistantMask.lastIndexOf(1);
      const n = last >= 0 ? last + 1 : enc.ids.length;
      return { ids: enc.ids.slice(0, n), mask: enc.assistantMask.slice(0, n) };
    },
    prompt: (messages) => tok.encodeChat(turns(messages), { addGenerationPrompt: true }).ids,
    stopTokens,
  };
}

const turns = (ms: readonly ChatTurn[]) => ms.map((m) => ({ role: m.role, content: m.content }));

/** A trainer's template: 'auto' is hcx's for an hcx tokenizer and the model's own for an imported one. */
export function trainingTemplate(tok: TextTokenizer, name: 'auto' | 'hcx' | 'model' = 'auto'): ChatTemplate {
  const use = name === 'auto' ? (tok instanceof Tokenizer ? 'hcx' : 'model') : name;
  if (use === 'model') return modelTemplate(tok);
  if (!(tok instanceof Tokenizer)) throw new Error(`template "hcx" needs an hcx tokenizer; this model's is a ${tok.kind === 'hf' ? 'Hugging Face' : 'GGUF'} tokenizer (use template "model", its own chat template)`);
  return hcxTemplate(tok);
}

/** The id padding positions hold (never attended to by real tokens, never trained). */
export function padId(tok: TextTokenizer): number {
  return tok.specialIds.pad ?? tok.specialIds.eos ?? 0;
}

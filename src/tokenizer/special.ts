// Special tokens and the chat template.
// Special tokens get the ids right after the learned tokens, in this order. Ordinary text never produces them:
// encode() reads "<|user|>" in a string as plain characters unless asked otherwise, so user content cannot
// inject a role switch.

export const SPECIAL_TOKENS = {
  eot: '<|endoftext|>',
  user: '<|user|>',
  assistant: '<|assistant|>',
  endofturn: '<|endofturn|>',
  system: '<|system|>',
  fimPrefix: '<|fim_prefix|>',
  fimMiddle: '<|fim_middle|>',
  fimSuffix: '<|fim_suffix|>',
  pad: '<|pad|>',
} as const;

export type SpecialName = keyof typeof SPECIAL_TOKENS;
export type SpecialIds = Readonly<Record<SpecialName, number>>;
export const SPECIAL_NAMES = Object.keys(SPECIAL_TOKENS) as SpecialName[];

export type Role = 'system' | 'user' | 'assistant';
export interface ChatMessage { role: Role; content: string }

/**
 * The template: each message is `<|role|>` + content + `<|endofturn|>`, nothing between messages; with
 * addGenerationPrompt a final `<|assistant|>` asks the model for the next turn, which it ends with
 * `<|endofturn|>` (the stop token when serving). `<|endoftext|>` separates documents in pretraining only.
 */
export function chatText(messages: readonly ChatMessage[], addGenerationPrompt = false): string {
  let s = '';
  for (const m of messages) s += SPECIAL_TOKENS[roleName(m.role)] + m.content + SPECIAL_TOKENS.endofturn;
  return addGenerationPrompt ? s + SPECIAL_TOKENS.assistant : s;
}

/** The same template in Jinja, for tokenizer_config.json's chat_template. */
export const CHAT_TEMPLATE_JINJA =
  "{% for message in messages %}{{ '<|' + message['role'] + '|>' + message['content'] + '<|endofturn|>' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}";

export function roleName(role: string): 'system' | 'user' | 'assistant' {
  if (role === 'system' || role === 'user' || role === 'assistant') return role;
  throw new Error(`chat: unknown role "${role}" (system, user or assistant)`);
}

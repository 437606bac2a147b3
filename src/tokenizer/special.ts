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

// Tools in the template (hcx serve renders them the same way, src/serve/tool_format.ts): the tools' JSON at the end
// of the system turn, an assistant's calls as <tool_call> blocks after its text, a tool's result as a user turn.
export const TOOL_CALL_OPEN = '<tool_call>';
export const TOOL_CALL_CLOSE = '</tool_call>';
export const TOOLS_INTRO = '# Tools\n\nYou may call one or more functions to assist with the user query. The functions, as JSON schemas:\n<tools>\n';
export const TOOLS_OUTRO = '</tools>\n\nTo call a function, answer with one block per call:\n<tool_call>\n{"name": <function-name>, "arguments": <arguments-json-object>}\n</tool_call>';

const jinjaStr = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;

/**
 * The same template in Jinja, for tokenizer_config.json's chat_template (transformers, TRL, vLLM, llama.cpp),
 * rendering what hcx serve renders: `developer` is a system turn, content is a string or a list of text
 * parts, `tools` and tool calls and results as above. Each assistant turn (content through <|endofturn|>)
 * sits in {% generation %} ... {% endgeneration %}, the tokens hcx's SFT trains on, so TRL's
 * assistant_only_loss masks an export as hcx does.
 */
export const CHAT_TEMPLATE_JINJA = [
  '{%- set ns = namespace(c=\'\', tools=\'\') -%}',
  '{%- if tools -%}{%- set ns.tools = ' + jinjaStr(TOOLS_INTRO) + ' -%}',
  '{%- for t in tools -%}{%- set ns.tools = ns.tools + (t | tojson) + \'\\n\' -%}{%- endfor -%}',
  '{%- set ns.tools = ns.tools + ' + jinjaStr(TOOLS_OUTRO) + ' -%}',
  "{%- if messages[0]['role'] not in ['system', 'developer'] -%}{{- '<|system|>' + ns.tools + '<|endofturn|>' -}}{%- endif -%}",
  '{%- endif -%}',
  '{%- for message in messages -%}',
  "{%- set role = message['role'] -%}",
  "{%- if message['content'] is string -%}{%- set ns.c = message['content'] -%}",
  "{%- elif message['content'] -%}{%- set ns.c = '' -%}{%- for p in message['content'] -%}",
  "{%- if p['type'] != 'text' -%}{{- raise_exception('messages: only text content parts are supported, got ' + p['type']) -}}{%- endif -%}",
  "{%- set ns.c = ns.c + p['text'] -%}{%- endfor -%}",
  "{%- else -%}{%- set ns.c = '' -%}{%- endif -%}",
  "{%- if role in ['system', 'developer'] -%}",
  "{%- if loop.first and tools -%}{%- set ns.c = ns.c + '\\n\\n' + ns.tools -%}{%- endif -%}",
  "{{- '<|system|>' + ns.c + '<|endofturn|>' -}}",
  "{%- elif role == 'user' -%}{{- '<|user|>' + ns.c + '<|endofturn|>' -}}",
  "{%- elif role == 'tool' -%}{{- '<|user|><tool_response>\\n' + ns.c + '\\n</tool_response><|endofturn|>' -}}",
  "{%- elif role == 'assistant' -%}",
  "{%- if message['tool_calls'] -%}{%- for tc in message['tool_calls'] -%}",
  "{%- set f = tc['function'] if tc['function'] is defined else tc -%}",
  "{%- set args = f['arguments'] if f['arguments'] is string else (f['arguments'] | tojson) -%}",
  "{%- set ns.c = ns.c + ('\\n' if ns.c else '') + '" + TOOL_CALL_OPEN + "\\n{\"name\": \"' + f['name'] + '\", \"arguments\": ' + args + '}\\n" + TOOL_CALL_CLOSE + "' -%}",
  '{%- endfor -%}{%- endif -%}',
  "{{- '<|assistant|>' -}}{%- generation -%}{{- ns.c + '<|endofturn|>' -}}{%- endgeneration -%}",
  "{%- else -%}{{- raise_exception('messages: unknown role ' + role + ' (system, developer, user, assistant or tool)') -}}",
  '{%- endif -%}',
  '{%- endfor -%}',
  "{%- if add_generation_prompt -%}{{- '<|assistant|>' -}}{%- endif -%}",
].join('');

/** The template without {% generation %} markers, for readers that do not know them (GGUF: llama.cpp). */
export const CHAT_TEMPLATE_JINJA_PLAIN = CHAT_TEMPLATE_JINJA.replace(/\{%-? *(end)?generation *-?%\}/g, '');

export function roleName(role: string): 'system' | 'user' | 'assistant' {
  if (role === 'system' || role === 'user' || role === 'assistant') return role;
  throw new Error(`chat: unknown role "${role}" (system, user or assistant)`);
}

// The tokenizer interface every model's tokenizer implements (hcx's own, a Hugging Face tokenizer.json, the
// tokenizer inside a GGUF), so serving, generation, chat, evaluation and the trainers work with any of them.
//
// Two encode paths, by hcx's rule that message content can never become special tokens:
// - encode(text): plain text. Strings that spell special tokens ("<|im_start|>") are encoded as ordinary text.
//   (Added tokens that are not special, such as Qwen's "<think>", are ordinary vocabulary and still match.)
// - encode(text, { allowSpecial: true }): special-token strings in the text become the special tokens.
// encodeChat renders a conversation with the model's chat template and parses special tokens only in the
// template's own text, never inside message content.

export interface EncodeOptions {
  /** Read special-token strings in the text as the special tokens (default false: plain text). */
  allowSpecial?: boolean;
  /** Add what the model adds around a sequence (BOS/EOS, the post-processor's template). Default false. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Leave out special tokens (BOS, EOS, role markers). */
  skipSpecial?: boolean;
}

/** Ids of the model's special tokens; null where the model has none. */
export interface SpecialTokenIds {
  /** Beginning of sequence (also the natural context of an empty prompt when scoring). */
  bos: number | null;
  /** End of sequence: where a plain completion stops. */
  eos: number | null;
  /** End of a chat turn, when the model has one distinct role (e.g. <|eot_id|>, <|im_end|>, <end_of_turn>). */
  eot: number | null;
  pad: number | null;
  unk: number | null;
  /** Every token a chat generation stops at (eos, eot, generation_config.json's eos_token_id list, ...), ascending. */
  stop: readonly number[];
  /** Fill-in-the-middle tokens, when the model has all three. */
  fim: { prefix: number; middle: number; suffix: number } | null;
}

/** One part of a message's content in the list form ({type: 'text', text} or e.g. {type: 'image'}). */
export interface ContentPart { type: string; text?: string; [key: string]: unknown }

export interface ToolCall {
  id?: string;
  type?: string;
  function: { name: string; arguments: string | Record<string, unknown> };
  [key: string]: unknown;
}

/**
 * A chat message as chat templates see it: any role the template knows (system, user, assistant, tool, ...),
 * content as a string or a list of parts, plus optional tool calls and reasoning.
 */
export interface ChatTurn {
  role: string;
  content?: string | ContentPart[] | null;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  name?: string;
  reasoning_content?: string;
  [key: string]: unknown;
}

export interface ChatOptions {
  /** End with the template's assistant header, so the model writes the next turn. */
  addGenerationPrompt?: boolean;
  /** Tool (function) definitions, JSON-schema style, for templates that render them. */
  tools?: unknown[];
  /** Extra template variables (e.g. enable_thinking, date_string). */
  vars?: Record<string, unknown>;
}

/** A rendered, encoded conversation. */
export interface ChatEncoding {
  /** The rendered text (special tokens spelt out). */
  text: string;
  ids: number[];
  /**
   * 1 on the tokens an assistant wrote (its content and the end-of-turn token that closes it), 0 elsewhere:
   * the loss mask for supervised fine-tuning. null when the template's output cannot be split into template
   * text and message content (then maskError says why; ids are still right).
   */
  assistantMask: number[] | null;
  /** Character ranges [start, end) of `text` that the assistant mask covers, one per assistant turn. */
  assistantSpans: [number, number][];
  maskError?: string;
}

/** Incremental detokenizer: feed ids one at a time, get the text that became final. */
export interface DecodeStream {
  /** Adds one id; returns the new text ('' while a character is still incomplete). */
  step(id: number): string;
  /** The text still held back (an incomplete character at the very end, as U+FFFD). */
  flush(): string;
}

export interface TextTokenizer {
  /** Where it came from: 'hcx' (hcx's own format), 'hf' (tokenizer.json), 'gguf'. */
  readonly kind: 'hcx' | 'hf' | 'gguf';
  /** Number of ids (the largest id + 1, added tokens included). */
  readonly vocabSize: number;
  readonly specialIds: SpecialTokenIds;
  /** Whether encode(..., { addSpecialTokens: true }) prepends BOS (the model's own setting). */
  readonly addsBos: boolean;
  /** The model's own chat template (Jinja source), or null. */
  readonly chatTemplate: string | null;

  encode(text: string, opts?: EncodeOptions): number[];
  decode(ids: ArrayLike<number>, opts?: DecodeOptions): string;
  /** A streaming decoder, correct across multi-byte characters split over tokens and across word-initial spaces. */
  decodeStream(opts?: DecodeOptions): DecodeStream;
  /** The bytes a token stands for (a special token: its UTF-8 spelling); null (hcx's own: an error) for an unknown id. */
  tokenBytes(id: number): Uint8Array | null;
  /** The token's string in the vocabulary (e.g. "Ġhello", "▁hello", "<|im_end|>"), or undefined. */
  idToToken(id: number): string | undefined;
  tokenToId(token: string): number | undefined;
  /** Whether an id is a special (control) token. */
  isSpecial(id: number): boolean;
  /** The conversation rendered by the chat template, special tokens spelt out (throws when the model has none). */
  renderChatText(messages: readonly ChatTurn[], opts?: ChatOptions): string;
  /** Rendered and encoded, special tokens parsed only in the template's text, with the assistant loss mask. */
  encodeChat(messages: readonly ChatTurn[], opts?: ChatOptions): ChatEncoding;
}

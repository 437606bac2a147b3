// vLLM's tokenizer routes, so clients that tokenize remotely (lm-eval's local-completions detects them)
// use the served model's own tokenizer: POST /tokenize {prompt | messages, add_special_tokens,
// add_generation_prompt, return_token_strs} -> {count, max_model_len, tokens[, token_strs]}, POST
// /detokenize {tokens} -> {prompt}, GET /tokenizer_info -> the tokenizer's config (special tokens, chat
// template). A prompt is read as /v1/completions reads it (special-token strings are those tokens);
// messages as /v1/chat/completions renders them.
import { toHfTokenizerConfig } from '../tokenizer/index.js';
import { ApiError } from './openai.js';
import { asObject, bad, bool } from './request.js';
import { parseMessages } from './request_chat.js';
import { toTemplateMessages } from './tool_format.js';
import type { ServeContext } from './handlers.js';

function checkModel(ctx: ServeContext, b: Record<string, unknown>): void {
  if (b.model !== undefined && b.model !== null && b.model !== ctx.modelName) {
    throw new ApiError(404, `The model '${String(b.model)}' does not exist (this server serves '${ctx.modelName}')`, 'model', 'model_not_found');
  }
}

function only(b: Record<string, unknown>, keys: string[]): void {
  for (const k of Object.keys(b)) if (b[k] !== undefined && b[k] !== null && !keys.includes(k)) throw new ApiError(400, `'${k}' is not a parameter this route supports`, k, 'unsupported_parameter');
}

export async function tokenize(ctx: ServeContext, body: unknown): Promise<unknown> {
  const b = asObject(body);
  checkModel(ctx, b);
  only(b, ['model', 'prompt', 'messages', 'add_special_tokens', 'add_generation_prompt', 'return_token_strs']);
  // hcx adds no BOS or other special tokens around a text, so add_special_tokens changes nothing.
  bool(b, 'add_special_tokens');
  let ids: number[];
  if (b.messages !== undefined) {
    if (b.prompt !== undefined) bad('prompt', "cannot be given with 'messages'");
    const addGen = bool(b, 'add_generation_prompt') ?? true;
    const msgs = toTemplateMessages(parseMessages(b.messages), null);
    ids = addGen ? await ctx.asyncTok.renderChat(msgs) : ctx.tok.renderChat(msgs, { addGenerationPrompt: false });
  } else {
    if (typeof b.prompt !== 'string') return bad('prompt', 'must be a string (or give messages)');
    if (b.add_generation_prompt !== undefined) bad('add_generation_prompt', "applies to 'messages' only");
    ids = await ctx.asyncTok.encode(b.prompt, { allowSpecial: true });
  }
  const out: Record<string, unknown> = { count: ids.length, max_model_len: ctx.engine.config.maxSeqLen, tokens: ids };
  if (bool(b, 'return_token_strs')) out.token_strs = ids.map((t) => ctx.tok.decode([t]));
  return out;
}

export function detokenize(ctx: ServeContext, body: unknown): unknown {
  const b = asObject(body);
  checkModel(ctx, b);
  only(b, ['model', 'tokens']);
  const t = b.tokens;
  if (!Array.isArray(t) || t.some((x) => !Number.isInteger(x))) return bad('tokens', 'must be a list of token ids');
  for (const x of t as number[]) if (!(x >= 0 && x < ctx.tok.vocabSize)) bad('tokens', `token id ${x} is outside the vocabulary (0..${ctx.tok.vocabSize - 1})`);
  return { prompt: ctx.tok.decode(t as number[]) };
}

export function tokenizerInfo(ctx: ServeContext): unknown {
  const cfg = toHfTokenizerConfig(ctx.tok);
  // <|endoftext|> separates documents in pretraining: the token to score a text from (lm-eval's prefix token).
  return { ...cfg, bos_token: '<|endoftext|>', model_max_length: ctx.engine.config.maxSeqLen, vocab_size: ctx.tok.vocabSize };
}

// vLLM's tokenizer routes, so clients that tokenize remotely (lm-eval's local-completions detects them)
// use the served model's own tokenizer: POST /tokenize {prompt | messages, add_special_tokens,
// add_generation_prompt, return_token_strs} -> {count, max_model_len, tokens[, token_strs]}, POST
// /detokenize {tokens} -> {prompt}, GET /tokenizer_info -> the tokenizer's config (special tokens, chat
// template). A prompt is read as /v1/completions reads it (special-token strings are those tokens);
// messages as /v1/chat/completions renders them.
import { Tokenizer, toHfTokenizerConfig, type TextTokenizer } from '../tokenizer/index.js';
import { ApiError } from './openai.js';
import { asObject, bad, bool } from './request.js';
import { parseMessages } from './request_chat.js';
import { templateTurns } from './tool_format.js';
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
  // What the model adds around a text (BOS for Llama-style tokenizers; nothing for hcx's), as /v1/completions.
  const addSpecial = bool(b, 'add_special_tokens') ?? true;
  let ids: number[];
  if (b.messages !== undefined) {
    if (b.prompt !== undefined) bad('prompt', "cannot be given with 'messages'");
    const addGen = bool(b, 'add_generation_prompt') ?? true;
    const { turns, opts } = templateTurns(ctx.tok, parseMessages(b.messages), null);
    try {
      ids = await ctx.asyncTok.encodeChat(turns, { ...opts, addGenerationPrompt: addGen });
    } catch (e) {
      return bad('messages', `could not be rendered with the chat template: ${(e as Error).message}`);
    }
  } else {
    if (typeof b.prompt !== 'string') return bad('prompt', 'must be a string (or give messages)');
    if (b.add_generation_prompt !== undefined) bad('add_generation_prompt', "applies to 'messages' only");
    ids = await ctx.asyncTok.encode(b.prompt, { allowSpecial: true, addSpecialTokens: addSpecial });
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

/** An imported tokenizer's config as tokenizer_config.json spells it: special tokens by their strings, the chat template. */
function importedConfig(tok: TextTokenizer): Record<string, unknown> {
  const s = tok.specialIds;
  const str = (id: number | null) => (id === null ? null : tok.idToToken(id) ?? null);
  return {
    tokenizer_class: 'PreTrainedTokenizerFast', bos_token: str(s.bos), eos_token: str(s.eos), pad_token: str(s.pad), unk_token: str(s.unk),
    add_bos_token: tok.addsBos, chat_template: tok.chatTemplate, stop_token_ids: s.stop,
  };
}

export function tokenizerInfo(ctx: ServeContext): unknown {
  if (!(ctx.tok instanceof Tokenizer)) return { ...importedConfig(ctx.tok), model_max_length: ctx.engine.config.maxSeqLen, vocab_size: ctx.tok.vocabSize };
  const cfg = toHfTokenizerConfig(ctx.tok);
  // <|endoftext|> separates documents in pretraining: the token to score a text from (lm-eval's prefix token).
  return { ...cfg, bos_token: '<|endoftext|>', model_max_length: ctx.engine.config.maxSeqLen, vocab_size: ctx.tok.vocabSize };
}

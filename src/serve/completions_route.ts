// /v1/completions (echo, logprobs, suffix via FIM, logit_bias, response_format) and /v1/infill, streamed
// over SSE or answered with one JSON object. Text prompts are raw model input: special-token strings in
// them are read as those tokens (as vLLM and llama.cpp do), so a client can send a rendered chat template.
// Generation stops at the model's stop tokens (end-of-text and end-of-turn: a chat model's reply ends with
// the latter). A text prompt gets what the model adds around a sequence (BOS for Llama-style tokenizers, as
// vLLM's add_special_tokens default does; hcx's own adds nothing).
import type { ServerResponse } from 'node:http';
import type { RequestOutput, RequestParams, StreamDelta, TokenLogprob } from './sequence.js';
import { tokenPieces } from './text_stream.js';
import { ApiError, completionLogprobs, requestId, usage } from './openai.js';
import { parseCompletion, parseInfill } from './request.js';
import { checkLimit } from './limits.js';
import { jsonGrammar } from './constraints.js';
import { checkIds, checkModel, created, failed, generatedTokens, Sse, streamError, submitAll, type Job, type ServeContext } from './handlers.js';

export async function completions(ctx: ServeContext, body: unknown, res: ServerResponse): Promise<unknown> {
  const r = parseCompletion(body);
  checkModel(ctx, r);
  const { tok, limits } = ctx;
  if (r.suffix !== undefined && r.echo) throw new ApiError(400, "'echo' cannot be combined with 'suffix'", 'echo');
  checkLimit(limits, 'maxChoices', r.prompts.length * r.n, 'n', 'prompts x n');
  checkLimit(limits, 'maxTokens', r.params.maxTokens ?? 16, 'max_tokens', "'max_tokens'");
  if (r.logprobs !== null) checkLimit(limits, 'maxLogprobs', r.logprobs, 'logprobs', "'logprobs'");
  if (r.ignoreEos && r.responseFormat.type !== 'text') throw new ApiError(400, "'ignore_eos' cannot be combined with 'response_format'", 'ignore_eos');
  const wantLp = r.logprobs !== null;
  const stopTokens = [...tok.specialIds.stop];
  const fim = tok.specialIds.fim;
  if (r.suffix !== undefined && !fim) throw new ApiError(400, "'suffix' needs fill-in-the-middle tokens, which this model's tokenizer lacks", 'suffix');
  const encoded = await Promise.all(r.prompts.map(async (p) => {
    // FIM prefixes are code, read as plain text like the suffix.
    let ids = 'text' in p ? await ctx.asyncTok.encode(p.text, { allowSpecial: r.suffix === undefined, addSpecialTokens: r.suffix === undefined }) : p.ids;
    if (r.suffix !== undefined) ids = [fim!.prefix, ...ids, fim!.suffix, ...(await ctx.asyncTok.encode(r.suffix)), fim!.middle];
    checkIds(ctx, ids, 'prompt');
    return ids;
  }));
  const maxTokens = r.params.maxTokens ?? 16;
  const C = ctx.engine.config.maxSeqLen;
  if (r.echo && wantLp) checkLimit(limits, 'maxEchoTokens', encoded.reduce((a, ids) => a + ids.length, 0) * (r.stream ? r.n : 1), 'prompt', 'the echoed prompt tokens with logprobs');
  checkLimit(limits, 'maxRequestTokens', encoded.reduce((a, ids) => a + (ids.length + Math.min(maxTokens, C - ids.length)) * r.n, 0), 'max_tokens', 'the tokens this request may occupy (prompt + max_tokens per choice)');
  const rf = r.responseFormat;
  const grammar = rf.type === 'text' ? null : jsonGrammar(tok, ctx.engine.config.vocabSize, rf.node, JSON.stringify(rf.type === 'json_schema' ? rf.schema : 'object'), stopTokens);
  const jobs: Job[] = [];
  encoded.forEach((ids, pi) => {
    const p = r.prompts[pi];
    const text = 'text' in p ? p.text : tok.decode(p.ids);
    for (let j = 0; j < r.n; j++) {
      const params: RequestParams = { ...r.params, stopTokens: r.ignoreEos ? [] : stopTokens };
      if (r.params.seed !== undefined) params.seed = (r.params.seed + j) >>> 0;
      if (wantLp) params.logprobs = r.logprobs!;
      // Prompt logprobs are the same for every choice of a prompt: computed once unless streaming.
      const scoreHere = j === 0 || r.stream;
      if (wantLp && r.echo && scoreHere) params.promptLogprobs = r.logprobs!;
      if (grammar) params.constraint = grammar.constraint();
      jobs.push({ ids, params, index: pi * r.n + j, ...(r.echo ? { echoText: text } : {}), ...(wantLp && r.echo && !scoreHere ? { promptLogprobsFrom: pi * r.n } : {}) });
    }
  });
  const id = requestId('cmpl'), model = ctx.modelName;
  const promptTokens = encoded.reduce((a, ids) => a + ids.length, 0);
  if (r.stream) return streamCompletion(ctx, jobs, res, { id, model, wantLp, includeUsage: r.includeUsage, promptTokens });
  const { outputs } = submitAll(ctx, jobs, res);
  const outs = await outputs;
  failed(outs);
  const tokenText = (t: number) => tok.decode([t]);
  const choices = outs.map((o, k) => {
    const job = jobs[k];
    let logprobs: unknown = null;
    if (wantLp) {
      const promptLps = job.promptLogprobsFrom !== undefined ? outs[job.promptLogprobsFrom].promptLogprobs : o.promptLogprobs;
      logprobs = choiceLogprobs(ctx, job, o, promptLps);
    }
    return { index: job.index, text: (job.echoText ?? '') + o.text, logprobs, finish_reason: o.finishReason };
  });
  return {
    id, object: 'text_completion', created: created(), model, choices,
    usage: usage(promptTokens, outs.reduce((a, o) => a + generatedTokens(o), 0)),
  };
}

/**
 * The logprobs of one choice: the echoed prompt's tokens, the generated ones, and the stop token if one
 * ended it (its text is not in the choice's text, as with OpenAI's and vLLM's servers, but its logprob
 * is: lm-eval drops the last entry of an echo, which must be the generated token, not the prompt's last).
 */
function choiceLogprobs(ctx: ServeContext, job: Job, o: RequestOutput, promptLps: (TokenLogprob | null)[] | undefined): unknown {
  const { tok } = ctx;
  const start = job.echoText?.length ?? 0;
  const gen = tokenPieces((ids) => tok.decode(ids, { skipSpecial: true }), o.outputTokens, start);
  let pieces = gen.pieces, offsets = gen.offsets;
  let lps: (TokenLogprob | null)[] = o.logprobs ?? [];
  if (o.stopToken !== undefined) {
    pieces = [...pieces, tok.decode([o.stopToken])];
    offsets = [...offsets, start + o.text.length];
  }
  if (job.echoText !== undefined) {
    const pr = tokenPieces((ids) => tok.decode(ids), job.ids);
    pieces = [...pr.pieces, ...pieces];
    offsets = [...pr.offsets, ...offsets];
    lps = [...(promptLps ?? job.ids.map(() => null)), ...lps];
  }
  return completionLogprobs(pieces, offsets, lps, (t) => tok.decode([t]));
}

async function streamCompletion(ctx: ServeContext, jobs: Job[], res: ServerResponse,
  o: { id: string; model: string; wantLp: boolean; includeUsage: boolean; promptTokens: number }): Promise<undefined> {
  const sse = new Sse(res);
  const offsets = new Map<number, number>();
  const tokenText = (t: number) => ctx.tok.decode([t]);
  const chunk = (choices: unknown[]) => ({ id: o.id, object: 'text_completion', created: created(), model: o.model, choices });
  const { outputs } = submitAll(ctx, jobs, res, (job, d: StreamDelta) => {
    let off = offsets.get(job.index);
    if (off === undefined) {
      off = job.echoText?.length ?? 0;
      if (job.echoText !== undefined) {
        // The echoed prompt comes first, with its logprobs when asked (the first delta carries them).
        let logprobs: unknown = null;
        if (o.wantLp) {
          const pr = tokenPieces((ids) => ctx.tok.decode(ids), job.ids);
          logprobs = completionLogprobs(pr.pieces, pr.offsets, d.promptLogprobs ?? job.ids.map(() => null), tokenText);
        }
        sse.send(chunk([{ index: job.index, text: job.echoText, logprobs, finish_reason: null }]));
      }
    }
    let logprobs: unknown = null;
    if (o.wantLp && d.tokens.length > 0) {
      const pieces = d.tokens.map((t) => (d.stopToken !== undefined ? tokenText(t.token) : ctx.tok.decode([t.token], { skipSpecial: true })));
      const offs = pieces.map((p) => { const x = off!; if (d.stopToken === undefined) off! += p.length; return x; });
      logprobs = completionLogprobs(pieces, offs, d.tokens, tokenText);
    }
    offsets.set(job.index, off);
    if (d.finishReason === 'error' || d.finishReason === 'abort') return streamError(sse, d.finishReason);
    if (d.text || logprobs || d.finishReason) sse.send(chunk([{ index: job.index, text: d.text, logprobs, finish_reason: d.finishReason ?? null }]));
  });
  const outs = await outputs;
  if (o.includeUsage) sse.send({ ...chunk([]), usage: usage(o.promptTokens, outs.reduce((a, x) => a + generatedTokens(x), 0)) });
  sse.end();
  return undefined;
}

/** Fill in the middle: <|fim_prefix|> prefix <|fim_suffix|> suffix <|fim_middle|> -> middle, until end-of-text. */
export async function infill(ctx: ServeContext, body: unknown, res: ServerResponse): Promise<unknown> {
  const r = parseInfill(body);
  checkModel(ctx, r);
  const { input_prefix: _a, input_suffix: _b, prefix: _c, ...rest } = body as Record<string, unknown>;
  return completions(ctx, { ...rest, prompt: r.prefix, suffix: r.suffix, echo: false, n: 1 }, res);
}

// /v1/chat/completions: the conversation through the chat template (tools, calls and results in the
// format of tool_format.ts), generation until end-of-turn, tool calls parsed back into OpenAI's
// `tool_calls` (streamed as OpenAI streams them: a delta with the call's id and name, then its
// arguments), tool_choice required / named and response_format enforced by constrained decoding. Any
// served tokenizer: the model's own chat template renders the conversation and its stop tokens end the reply.
import type { ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { RequestParams, StreamDelta } from './sequence.js';
import { ApiError, chatLogprobs, requestId, usage } from './openai.js';
import { parseChat } from './request.js';
import { checkLimit } from './limits.js';
import { jsonGrammar, toolGrammar } from './constraints.js';
import { parseToolCalls, templateTurns, ToolCallParser, writesToolCallBlocks, type ToolEvent } from './tool_format.js';
import { checkIds, checkModel, created, failed, generatedTokens, Sse, streamError, submitAll, type Job, type ServeContext } from './handlers.js';

/** Calls at most in one reply when parallel tool calls are allowed. */
const MAX_PARALLEL_CALLS = 8;

const callId = () => `call_${randomBytes(12).toString('base64url')}`;

export async function chat(ctx: ServeContext, body: unknown, res: ServerResponse): Promise<unknown> {
  const r = parseChat(body);
  checkModel(ctx, r);
  const { tok, limits } = ctx;
  checkLimit(limits, 'maxChoices', r.n, 'n', "'n'");
  if (r.logprobs) checkLimit(limits, 'maxLogprobs', r.topLogprobs, 'top_logprobs', "'top_logprobs'");
  if (r.params.maxTokens !== undefined) checkLimit(limits, 'maxTokens', r.params.maxTokens, 'max_tokens', "'max_tokens'");
  const useTools = r.tools.length > 0 && r.toolChoice.kind !== 'none';
  if (!tok.chatTemplate) throw new ApiError(400, `the served model has no chat template; use /v1/completions`, 'messages');
  const blocks = writesToolCallBlocks(tok);
  if (!blocks && (r.toolChoice.kind === 'required' || r.toolChoice.kind === 'named')) {
    throw new ApiError(400, `'tool_choice' ${r.toolChoice.kind} needs a chat template that writes <tool_call> blocks; this model's does not`, 'tool_choice');
  }
  const { turns, opts } = templateTurns(tok, r.messages, useTools ? r.tools.map((t) => t.raw) : null);
  let ids: number[];
  try {
    ids = await ctx.asyncTok.encodeChat(turns, { ...opts, addGenerationPrompt: true });
  } catch (e) {
    throw new ApiError(400, `the chat template failed on these messages: ${(e as Error).message}`, 'messages');
  }
  checkIds(ctx, ids, 'messages');
  const C = ctx.engine.config.maxSeqLen, V = ctx.engine.config.vocabSize;
  const maxTokens = Math.min(r.params.maxTokens ?? C, C - ids.length);
  checkLimit(limits, 'maxRequestTokens', (ids.length + maxTokens) * r.n, 'max_tokens', 'the tokens this request may occupy (prompt + max_tokens per choice)');
  const stopTokens = [...tok.specialIds.stop];
  const tc = r.toolChoice, rf = r.responseFormat;
  let grammar = null;
  if (tc.kind === 'required' || tc.kind === 'named') {
    const tools = tc.kind === 'named' ? r.tools.filter((t) => t.name === tc.name) : r.tools;
    grammar = toolGrammar(tok, V, tools, r.parallelToolCalls && tc.kind === 'required' ? MAX_PARALLEL_CALLS : 1, stopTokens);
  } else if (rf.type !== 'text') {
    grammar = jsonGrammar(tok, V, rf.node, JSON.stringify(rf.type === 'json_schema' ? rf.schema : 'object'), stopTokens);
  }
  if (grammar && r.ignoreEos) throw new ApiError(400, "'ignore_eos' cannot be combined with a required tool call or 'response_format'", 'ignore_eos');
  const jobs: Job[] = Array.from({ length: r.n }, (_, j) => {
    const params: RequestParams = { ...r.params, stopTokens: r.ignoreEos ? [] : stopTokens, maxTokens: r.params.maxTokens ?? C };
    if (r.params.seed !== undefined) params.seed = (r.params.seed + j) >>> 0;
    if (r.logprobs) params.logprobs = r.topLogprobs;
    if (grammar) params.constraint = grammar.constraint();
    return { ids, params, index: j };
  });
  const id = requestId('chatcmpl'), model = ctx.modelName;
  const tokenText = (t: number) => tok.decode([t]);
  const tokenBytes = (t: number) => Array.from(tok.tokenBytes(t) ?? []);
  const finishReason = (reason: string, calls: number) => (calls > 0 && reason === 'stop' ? 'tool_calls' : reason);
  if (r.stream) {
    const sse = new Sse(res);
    const chunk = (choice: unknown) => ({ id, object: 'chat.completion.chunk', created: created(), model, choices: [choice] });
    const parseCalls = useTools && blocks;
    const parsers = jobs.map(() => (parseCalls ? new ToolCallParser() : null));
    const started = new Set<number>();
    const send = (index: number, ev: ToolEvent, calls: number) => {
      if ('content' in ev) { sse.send(chunk({ index, delta: { content: ev.content }, logprobs: null, finish_reason: null })); return; }
      // As OpenAI streams a call: its id, type and name with empty arguments, then the arguments.
      const k = calls - 1;
      sse.send(chunk({ index, delta: { tool_calls: [{ index: k, id: callId(), type: 'function', function: { name: ev.call.name, arguments: '' } }] }, logprobs: null, finish_reason: null }));
      sse.send(chunk({ index, delta: { tool_calls: [{ index: k, function: { arguments: ev.call.arguments } }] }, logprobs: null, finish_reason: null }));
    };
    const { outputs } = submitAll(ctx, jobs, res, (job, d: StreamDelta) => {
      if (d.finishReason === 'error' || d.finishReason === 'abort') return streamError(sse, d.finishReason);
      if (!started.has(job.index)) {
        started.add(job.index);
        sse.send(chunk({ index: job.index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }));
      }
      const lp = r.logprobs && d.tokens.length && d.stopToken === undefined ? chatLogprobs(d.tokens, tokenText, tokenBytes) : null;
      const parser = parsers[job.index];
      if (!parser) {
        if (d.text || lp) sse.send(chunk({ index: job.index, delta: { content: d.text }, logprobs: lp, finish_reason: null }));
      } else {
        if (lp) sse.send(chunk({ index: job.index, delta: {}, logprobs: lp, finish_reason: null }));
        const before = parser.calls;
        let n = before;
        for (const ev of [...parser.push(d.text), ...(d.finishReason ? parser.finish() : [])]) send(job.index, ev, 'call' in ev ? ++n : n);
      }
      if (d.finishReason) sse.send(chunk({ index: job.index, delta: {}, logprobs: null, finish_reason: finishReason(d.finishReason, parser?.calls ?? 0) }));
    });
    const outs = await outputs;
    if (r.includeUsage) sse.send({ id, object: 'chat.completion.chunk', created: created(), model, choices: [], usage: usage(ids.length, outs.reduce((a, x) => a + generatedTokens(x), 0)) });
    sse.end();
    return undefined;
  }
  const { outputs } = submitAll(ctx, jobs, res);
  const outs = await outputs;
  failed(outs);
  return {
    id, object: 'chat.completion', created: created(), model,
    choices: outs.map((o, k) => {
      const lp = r.logprobs ? chatLogprobs((o.logprobs ?? []).slice(0, o.outputTokens.length), tokenText, tokenBytes) : null;
      if (!useTools || !blocks) return { index: jobs[k].index, message: { role: 'assistant', content: o.text }, logprobs: lp, finish_reason: o.finishReason };
      const p = parseToolCalls(o.text);
      const message = p.calls.length
        ? { role: 'assistant', content: p.content || null, tool_calls: p.calls.map((c) => ({ id: callId(), type: 'function', function: c })) }
        : { role: 'assistant', content: p.content };
      return { index: jobs[k].index, message, logprobs: lp, finish_reason: finishReason(o.finishReason, p.calls.length) };
    }),
    usage: usage(ids.length, outs.reduce((a, o) => a + generatedTokens(o), 0)),
  };
}

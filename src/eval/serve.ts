// A minimal OpenAI-compatible HTTP server over any TokenLM: /v1/models, /v1/completions (echo, logprobs,
// max_tokens 0..n, stop, list prompts), /v1/chat/completions. It lets the OpenAI backend be checked
// against the same model on the llama.cpp path, and serves local GGUF models to other harnesses.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TokenLM, ChatMessage } from './model.js';
import { cutAtStop } from './model.js';

interface CompletionBody {
  model?: string;
  prompt: string | string[];
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  seed?: number;
  echo?: boolean;
  logprobs?: number | null;
  stop?: string | string[];
}

async function completion(lm: TokenLM, prompt: string, b: CompletionBody, index: number): Promise<unknown> {
  const prefix = lm.prefixToken === null ? [] : [lm.prefixToken];
  const toks = await lm.tokenize(prompt);
  const stop = b.stop === undefined ? [] : Array.isArray(b.stop) ? b.stop : [b.stop];
  const maxTokens = b.max_tokens ?? 16;
  let text = '';
  if (maxTokens > 0) {
    text = cutAtStop(await lm.generate([...prefix, ...toks], {
      maxTokens, temperature: b.temperature ?? 1, topP: b.top_p, seed: b.seed, shouldStop: (t) => stop.some((s) => t.includes(s)),
    }), stop);
  }
  let logprobs: unknown = null;
  if (b.logprobs !== undefined && b.logprobs !== null) {
    const tokens: string[] = [];
    const tokenLogprobs: (number | null)[] = [];
    const top: (Record<string, number> | null)[] = [];
    const offsets: number[] = [];
    if (b.echo && toks.length > 0) {
      const seq = [...prefix, ...toks];
      const from = prefix.length > 0 ? 1 : 1;
      const [s] = await lm.score([{ tokens: seq, from }]);
      let prevLen = 0;
      for (let i = 0; i < toks.length; i++) {
        const decoded = await lm.detokenize(toks.slice(0, i + 1));
        offsets.push(prevLen);
        tokens.push(decoded.slice(prevLen));
        prevLen = decoded.length;
        const k = i - (from - prefix.length); // index into the scored positions
        if (k < 0) { tokenLogprobs.push(null); top.push(null); continue; }
        tokenLogprobs.push(s.logprobs[k]);
        const topText = s.argmax[k] === toks[i] ? tokens[i] : await lm.detokenize([s.argmax[k]]);
        top.push({ [topText]: s.argmaxLogprob[k], ...(s.argmax[k] === toks[i] ? {} : { [tokens[i]]: s.logprobs[k] }) });
      }
    }
    if (text) {
      // The generated text as one entry (enough for clients that only need the echo).
      offsets.push(b.echo ? prompt.length : 0);
      tokens.push(text);
      tokenLogprobs.push(null);
      top.push(null);
    }
    logprobs = { tokens, token_logprobs: tokenLogprobs, top_logprobs: top, text_offset: offsets };
  }
  return { index, text: (b.echo ? prompt : '') + text, logprobs, finish_reason: 'length' };
}

function naiveChat(messages: ChatMessage[]): string {
  return messages.map((m) => `${m.role}: ${m.content}`).join('\n') + '\nassistant:';
}

export interface Server { url: string; close(): Promise<void> }

export async function serve(lm: TokenLM, opts: { port?: number; host?: string; modelName?: string } = {}): Promise<Server> {
  const name = opts.modelName ?? lm.id;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const send = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      try {
        if (req.method === 'GET' && req.url === '/v1/models') return send(200, { object: 'list', data: [{ id: name, object: 'model' }] });
        const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
        if (req.method === 'POST' && req.url === '/v1/completions') {
          const b = body as CompletionBody;
          const prompts = Array.isArray(b.prompt) ? b.prompt : [b.prompt];
          const choices = await Promise.all(prompts.map((p, i) => completion(lm, p, b, i)));
          return send(200, { id: 'cmpl-hcx', object: 'text_completion', model: name, choices });
        }
        if (req.method === 'POST' && req.url === '/v1/chat/completions') {
          const messages = body.messages as ChatMessage[];
          const prompt = lm.applyChatTemplate ? await lm.applyChatTemplate(messages) : naiveChat(messages);
          const c = (await completion(lm, prompt, { ...body, prompt, echo: false, logprobs: null, max_tokens: body.max_tokens ?? 256 }, 0)) as { text: string };
          return send(200, { id: 'chatcmpl-hcx', object: 'chat.completion', model: name, choices: [{ index: 0, message: { role: 'assistant', content: c.text }, finish_reason: 'stop' }] });
        }
        send(404, { error: { message: `no route ${req.method} ${req.url}` } });
      } catch (e) {
        send(500, { error: { message: (e as Error).message } });
      }
    });
  });
  await new Promise<void>((r) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

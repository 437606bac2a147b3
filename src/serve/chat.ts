// `hcx chat`: a multi-turn terminal chat. Each turn renders the whole conversation with the model's chat
// template (hcx's: <|user|>...<|endofturn|><|assistant|>; an imported model's own) and streams the reply,
// which ends at one of the model's stop tokens. It runs the
// engine in-process, or talks to a running `hcx serve` over /v1/chat/completions with SSE.
import readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { ChatMessage, TextTokenizer } from '../tokenizer/index.js';
import type { Engine } from './engine.js';
import type { RequestParams } from './sequence.js';

export interface ChatBackend {
  /** Streams the assistant's reply to `onText`; resolves with the whole reply. */
  reply(messages: ChatMessage[], onText: (s: string) => void, signal: AbortSignal): Promise<string>;
}

export interface ChatSampling { temperature?: number; topP?: number; topK?: number; maxTokens?: number; seed?: number; repetitionPenalty?: number }

export function localBackend(engine: Engine, tok: TextTokenizer, s: ChatSampling = {}): ChatBackend {
  return {
    async reply(messages, onText, signal) {
      const ids = tok.encodeChat(messages.map((m) => ({ role: m.role, content: m.content })), { addGenerationPrompt: true }).ids;
      const room = engine.config.maxSeqLen - ids.length;
      if (room <= 0) throw new Error(`the conversation (${ids.length} tokens) fills the model's context of ${engine.config.maxSeqLen}; /reset to start over`);
      const params: RequestParams = { ...s, maxTokens: Math.min(s.maxTokens ?? room, room), stopTokens: [...tok.specialIds.stop] };
      const h = engine.submit(ids, params, (d) => { if (d.text) onText(d.text); });
      const onAbort = () => h.cancel();
      signal.addEventListener('abort', onAbort);
      try {
        return (await h.done).text;
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    },
  };
}

/** Reads an SSE response's `data:` payloads. */
export async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const dec = new TextDecoder();
  let buf = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buf += dec.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const data = ev.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
      if (data) yield data;
    }
  }
}

export function remoteBackend(url: string, apiKey: string | undefined, s: ChatSampling = {}): ChatBackend {
  return {
    async reply(messages, onText, signal) {
      const res = await fetch(url.replace(/\/$/, '') + '/v1/chat/completions', {
        method: 'POST', signal,
        headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
        body: JSON.stringify({
          messages, stream: true, temperature: s.temperature ?? 0.7, ...(s.topP !== undefined ? { top_p: s.topP } : {}),
          ...(s.topK !== undefined ? { top_k: s.topK } : {}), ...(s.maxTokens !== undefined ? { max_tokens: s.maxTokens } : {}),
          ...(s.seed !== undefined ? { seed: s.seed } : {}),
        }),
      });
      if (!res.ok || !res.body) throw new Error(`server answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
      let text = '';
      for await (const data of sseEvents(res.body)) {
        if (data === '[DONE]') break;
        const ev = JSON.parse(data) as { error?: { message: string }; choices?: { delta?: { content?: string } }[] };
        if (ev.error) throw new Error(ev.error.message);
        const piece = ev.choices?.[0]?.delta?.content;
        if (piece) { text += piece; onText(piece); }
      }
      return text;
    },
  };
}

/** The read-reply loop: /reset clears the conversation, /exit (or end of input) quits; Ctrl-C stops a reply. */
export async function runChat(backend: ChatBackend, input: Readable, output: Writable, opts: { system?: string; prompt?: string } = {}): Promise<ChatMessage[]> {
  const rl = readline.createInterface({ input, output, terminal: (output as { isTTY?: boolean }).isTTY === true });
  const start: ChatMessage[] = opts.system ? [{ role: 'system', content: opts.system }] : [];
  let messages = start.slice();
  let current: AbortController | null = null;
  rl.on('SIGINT', () => {
    if (current) current.abort();
    else rl.close();
  });
  const prompt = opts.prompt ?? 'you> ';
  const lines = rl[Symbol.asyncIterator]();
  output.write(prompt);
  for (;;) {
    const next = await lines.next();
    if (next.done) break;
    const line = next.value.trim();
    if (line === '/exit' || line === '/quit') break;
    if (line === '/reset') { messages = start.slice(); output.write('(conversation cleared)\n' + prompt); continue; }
    if (!line) { output.write(prompt); continue; }
    messages.push({ role: 'user', content: line });
    output.write('assistant> ');
    current = new AbortController();
    try {
      const reply = await backend.reply(messages, (s) => output.write(s), current.signal);
      messages.push({ role: 'assistant', content: reply });
    } catch (e) {
      messages.pop();
      output.write(current.signal.aborted ? ' (stopped)' : `\n(error: ${(e as Error).message})`);
    }
    current = null;
    output.write('\n' + prompt);
  }
  rl.close();
  output.write('\n');
  return messages;
}

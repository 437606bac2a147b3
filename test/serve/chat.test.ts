import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { tiny, tinyEngine, greedyChat } from './fixture.js';
import { localBackend, remoteBackend, runChat } from '../../src/serve/chat.js';
import { startServer } from '../../src/serve/server.js';
import type { ChatMessage } from '../../src/tokenizer/index.js';

async function converse(backend: Parameters<typeof runChat>[0], lines: string[]): Promise<{ out: string; messages: ChatMessage[] }> {
  const input = new PassThrough(), output = new PassThrough();
  let out = '';
  output.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const done = runChat(backend, input, output, { system: 'be brief' });
  for (const l of lines) input.write(l + '\n');
  input.end();
  const messages = await done;
  return { out, messages };
}

test('hcx chat: multi-turn conversation streams replies with the chat template, locally and over HTTP', async () => {
  const { tok, model } = await tiny();
  const engine = tinyEngine(tok, model);
  const sampling = { temperature: 0, maxTokens: 6 };
  const local = await converse(localBackend(engine, tok, sampling), ['hello there', '/reset', 'first', 'second', '/exit', 'never sent']);
  assert.deepEqual(local.messages.map((m) => m.role), ['system', 'user', 'assistant', 'user', 'assistant']);
  const first = greedyChat(tok, model, 'first', 6);
  assert.equal(local.messages[2].content, first);
  assert.ok(local.out.includes('(conversation cleared)'));
  assert.ok(local.out.includes('assistant> ' + first));
  // The second turn sees the whole conversation: its prompt is the rendered history.
  const ids = tok.renderChat(local.messages.slice(0, 4), { addGenerationPrompt: true });
  const h = engine.submit(ids, { maxTokens: 6, temperature: 0, stopTokens: [tok.special.endofturn, tok.special.eot] });
  assert.equal((await h.done).text, local.messages[4].content);
  const server = await startServer(tinyEngine(tok, model), tok);
  try {
    const remote = await converse(remoteBackend(server.url, undefined, sampling), ['first', 'second']);
    assert.deepEqual(remote.messages.slice(1).map((m) => m.content), local.messages.slice(1).map((m) => m.content));
  } finally {
    await server.close(0);
  }
});

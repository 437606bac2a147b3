// Load on loopback: 256 concurrent streaming clients against a tiny model. Every streamed reply must equal
// what the same request gives alone under greedy decoding; clients that hang up mid-stream must not
// disturb the others and must get their KV blocks freed; memory stays bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tiny, tinyEngine, greedyChat } from './fixture.js';
import { startServer } from '../../src/serve/server.js';
import { sseEvents } from '../../src/serve/chat.js';
import { generate } from '../../src/model/generate.js';

const CLIENTS = 256, QUITTERS = 16;

test(`${CLIENTS} concurrent streaming clients each get exactly their greedy reply`, { timeout: 90_000 }, async () => {
  const { tok, model } = await tiny();
  const engine = tinyEngine(tok, model, { maxRunning: 128, maxTokensPerStep: 1024 });
  const server = await startServer(engine, tok);
  const words = ['fox', 'batch', '안녕', 'step', 'return', 'dog', 'model', '날씨'];
  const rss0 = process.memoryUsage().rss;
  let peakBlocks = 0, peakRunning = 0, peakWaiting = 0;
  const probe = setInterval(() => {
    peakBlocks = Math.max(peakBlocks, engine.blocks.used);
    peakRunning = Math.max(peakRunning, engine.numRunning);
    peakWaiting = Math.max(peakWaiting, engine.numWaiting);
  }, 5);
  try {
    const jobs = Array.from({ length: CLIENTS }, (_, i) => {
      const chat = i % 2 === 0;
      const text = `client ${i}: ${words[i % words.length]} ${words[(i * 3) % words.length]} ${'x'.repeat(i % 7)}`;
      const maxTokens = 24 + (i % 17);
      return { i, chat, text, maxTokens, quit: i % (CLIENTS / QUITTERS) === 5 };
    });
    const run = async (j: (typeof jobs)[number]): Promise<string> => {
      const ac = new AbortController();
      const body = j.chat
        ? { messages: [{ role: 'user', content: j.text }], max_tokens: j.maxTokens, temperature: 0, stream: true }
        : { prompt: j.text, max_tokens: j.maxTokens, temperature: 0, stream: true };
      const res = await fetch(server.url + (j.chat ? '/v1/chat/completions' : '/v1/completions'), {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: ac.signal,
      }).catch((e) => { throw new Error(`client ${j.i}: ${e.message} (${e.cause?.code ?? ''} ${e.cause?.message ?? ''})`); });
      assert.equal(res.status, 200, `client ${j.i}`);
      let out = '', chunks = 0;
      try {
        for await (const d of sseEvents(res.body!)) {
          if (d === '[DONE]') break;
          const ev = JSON.parse(d);
          assert.ok(!ev.error, `client ${j.i}: ${JSON.stringify(ev.error)}`);
          out += (j.chat ? ev.choices[0]?.delta?.content : ev.choices[0]?.text) ?? '';
          if (j.quit && ++chunks === 2) { ac.abort(); return '(quit)'; }
        }
      } catch (e) {
        if (!j.quit) throw e;
        return '(quit)';
      }
      return out;
    };
    const outs = await Promise.all(jobs.map(run));
    // References: each request alone through the plain (non-engine) generator.
    let mismatches = 0;
    for (const j of jobs) {
      if (j.quit) continue;
      const want = j.chat
        ? greedyChat(tok, model, j.text, j.maxTokens)
        : tok.decode(generate(model, tok.encode(j.text), { maxNewTokens: j.maxTokens, stopTokens: [tok.special.eot] }).ids, { skipSpecial: true });
      if (outs[j.i] !== want) mismatches++;
      assert.equal(outs[j.i], want, `client ${j.i} got another reply than alone`);
    }
    assert.equal(mismatches, 0);
    for (let k = 0; k < 200 && (engine.numRunning > 0 || engine.numWaiting > 0); k++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(engine.numRunning, 0);
    assert.equal(engine.numWaiting, 0);
    assert.equal(engine.blocks.used, 0, 'every KV block came back, quitters included');
    assert.ok(peakRunning > 1, `requests ran concurrently (peak ${peakRunning})`);
    assert.ok(peakRunning <= 128, 'the running cap held');
    const grew = (process.memoryUsage().rss - rss0) / 2 ** 20;
    assert.ok(grew < 400, `RSS grew by ${grew.toFixed(0)} MiB`);
    // A fresh connection: an idle keep-alive socket from the burst may be closing just now.
    const m = await (await fetch(server.url + '/metrics', { headers: { connection: 'close' } }).catch(() => fetch(server.url + '/metrics'))).text();
    assert.match(m, new RegExp(`hcx_requests_total ${CLIENTS}`));
    console.log(`load: peak running ${peakRunning}, peak queued ${peakWaiting}, peak KV blocks ${peakBlocks}/${engine.blocks.numBlocks}, RSS +${grew.toFixed(0)} MiB`);
  } finally {
    clearInterval(probe);
    await server.close(0);
  }
});

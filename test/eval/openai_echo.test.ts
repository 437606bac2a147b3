// hcx eval's OpenAI backend reads a continuation's log-likelihood out of an echo: through hcx serve, with the
// reply ended by a stop token (whose entry the server lists) and a prompt ending in a multi-byte character
// (whose trailing byte tokens sit at the prompt's end offset too), every continuation token still counts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseEcho } from '../../src/eval/backends/openai.js';
import { startServer, type HcxServer } from '../../src/serve/server.js';
import { nextTokenLogprobs, tiny, tinyEngine } from '../serve/fixture.js';

let server: HcxServer;
const { tok, model } = await tiny();
before(async () => { server = await startServer(tinyEngine(tok, model), tok, { modelName: 'tiny' }); });
after(() => server.close(0));

test('parseEcho counts every continuation token when a stop token ends the reply, Korean included', async () => {
  for (const [context, continuation] of [['Question: 오늘 날씨가 어때요?\nAnswer:', ' 반갑습니다'], ['The quick brown', ' fox jumps'], ['한국어', '로 말해요']]) {
    const prompt = context + continuation;
    const res = await fetch(server.url + '/v1/completions', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt, echo: true, max_tokens: 1, logprobs: 1, temperature: 0, logit_bias: { [tok.special.eot]: 100 } }),
    });
    const choice = (await res.json()).choices[0];
    assert.equal(choice.finish_reason, 'stop');
    const got = parseEcho(choice, context.length, prompt.length).logprob;
    const ids = tok.encode(prompt), ctx = tok.encode(context);
    assert.deepEqual(ids.slice(0, ctx.length), ctx);
    const ref = nextTokenLogprobs(model, ids);
    let want = 0;
    for (let p = ctx.length; p < ids.length; p++) want += ref[p - 1][ids[p]];
    assert.ok(Math.abs(got - want) < 1e-3, `${JSON.stringify(continuation)}: parsed ${got}, model ${want}`);
  }
});

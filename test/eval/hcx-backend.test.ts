import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadModel } from '../../src/eval/backends/index.js';
import { PRESETS } from '../../src/model/config.js';
import { Transformer } from '../../src/model/transformer.js';
import { saveCheckpoint } from '../../src/model/checkpoint.js';
import { trainTokenizer } from '../../src/tokenizer/index.js';
import { F, noGrad } from '../../src/tensor/index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'hcx-evalbackend-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('hcx: models evaluate through the harness: loglikelihood equals a direct forward pass; generation stops', async () => {
  const texts = ['서울은 대한민국의 수도이다. ', 'The cat sat on the mat. ', 'function f(x) { return x + 1; }\n'];
  const tok = await trainTokenizer({ texts: Array(20).fill(texts).flat(), vocabSize: 300, split: 'rules' });
  const model = new Transformer({ ...PRESETS.test, vocabSize: tok.vocabSize, maxSeqLen: 64 }, 3);
  saveCheckpoint(dir, { model, state: { step: 1, tokensSeen: 0 } });
  tok.save(path.join(dir, 'tokenizer.json'));
  const lm = await loadModel(`hcx:${dir}#batch=2`);
  const reqs = [
    { context: 'The cat', continuation: ' sat on the mat.' },
    { context: '서울은', continuation: ' 대한민국의 수도이다.' },
    { context: '', continuation: 'function f(x)' },
  ];
  const got = await lm.loglikelihood(reqs);
  for (const [i, r] of reqs.entries()) {
    // Direct: eot + context + continuation, summing log p of the continuation tokens.
    const ctx = r.context ? tok.encode(r.context) : [];
    const whole = tok.encode(r.context + r.continuation);
    const cont = r.context ? whole.slice(ctx.length) : tok.encode(r.continuation);
    const ids = [tok.special.eot, ...ctx, ...cont];
    const lp = noGrad(() => F.logSoftmax(model.forward(Int32Array.from(ids.slice(0, -1)), 1, ids.length - 1)).data);
    let want = 0;
    for (let t = ids.length - cont.length; t < ids.length; t++) want += lp[(t - 1) * tok.vocabSize + ids[t]];
    assert.ok(Math.abs(got[i].logprob - want) < 1e-4, `request ${i}: ${got[i].logprob} vs ${want}`);
  }
  const [gen] = await lm.generateUntil([{ context: 'The cat', until: ['\n'], maxTokens: 12, temperature: 0 }]);
  assert.equal(typeof gen, 'string');
  assert.ok(!gen.includes('\n'));
  const rolling = await lm.loglikelihoodRolling(['The cat sat on the mat.']);
  assert.ok(rolling[0] < 0 && Number.isFinite(rolling[0]));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PRESETS, type ModelConfig } from '../../src/model/config.js';
import { Transformer } from '../../src/model/transformer.js';
import { generate } from '../../src/model/generate.js';
import { KVPool, type KVDtype } from '../../src/serve/kv_pool.js';
import { PagedModel, type StepBatch } from '../../src/serve/paged_forward.js';
import { Engine } from '../../src/serve/engine.js';
import { TextStream, tokenPieces } from '../../src/serve/text_stream.js';
import { topK } from '../../src/serve/logprobs.js';
import { native } from '../../src/native/index.js';

const cfg: ModelConfig = { ...PRESETS.test, maxSeqLen: 64 };

function seqTokens(n: number, salt: number, V = cfg.vocabSize): number[] {
  return Array.from({ length: n }, (_, i) => (i * 7 + salt * 13 + ((i * i) % 5)) % V);
}

// Feeds sequences through the paged forward in the given chunks (one step per row of `plan`) and
// compares every row's logits with a full forward of that sequence alone.
function checkPaged(c: ModelConfig, seed: number, kv: KVDtype = 'f32', bs = 4): number {
  const model = new Transformer(c, seed);
  const numBlocks = 40;
  const pool = new KVPool(c, numBlocks, bs, kv);
  let worst = 0;
  const paged = new PagedModel(model, pool);
  const seqs = [seqTokens(11, 1, c.vocabSize), seqTokens(6, 2, c.vocabSize), seqTokens(17, 3, c.vocabSize)];
  // Blocks handed out in a scrambled order, so tables are not contiguous.
  const freeBlocks = Array.from({ length: numBlocks }, (_, i) => (i * 17) % numBlocks);
  const tables: number[][] = seqs.map(() => []);
  const done = seqs.map(() => 0);
  const plan: [number, number][][] = [[[0, 7], [1, 6]], [[0, 1], [2, 9], [1, 0]], [[0, 3], [2, 8]]];
  const V = c.vocabSize;
  for (const step of plan) {
    const tokens: number[] = [], positions: number[] = [], slots: number[] = [], tableStart: number[] = [], ctx: number[] = [];
    const flat: number[] = [];
    const rowsOf: [number, number][] = [];
    for (const [s, n] of step) {
      if (n === 0) continue;
      while (tables[s].length * bs < done[s] + n) tables[s].push(freeBlocks.shift()!);
      const start = flat.length;
      flat.push(...tables[s]);
      for (let p = done[s]; p < done[s] + n; p++) {
        rowsOf.push([s, p]);
        tokens.push(seqs[s][p]); positions.push(p); ctx.push(p + 1); tableStart.push(start);
        slots.push(tables[s][Math.floor(p / bs)] * bs + (p % bs));
      }
      done[s] += n;
    }
    const batch: StepBatch = {
      tokens: Int32Array.from(tokens), positions: Int32Array.from(positions), slots: Int32Array.from(slots), blockTables: Int32Array.from(flat),
      tableStart: Int32Array.from(tableStart), ctxLen: Int32Array.from(ctx), logitRows: Int32Array.from(tokens.map((_, i) => i)),
    };
    const logits = paged.forward(batch);
    rowsOf.forEach(([s, p], r) => {
      const ref = model.infer(Int32Array.from(seqs[s].slice(0, p + 1)), 1, p + 1, { lastOnly: true });
      for (let v = 0; v < V; v++) {
        const a = logits[r * V + v], b = ref.data[v];
        // A bf16 cache rounds keys and values to 8 significant bits: logits (up to ~0.3 here) move by up to ~8e-4.
        const tol = kv === 'f32' ? 1e-4 : 3e-3;
        assert.ok(Math.abs(a - b) < tol, `${kv} cache, head dim ${c.dModel / c.nHeads}, seq ${s} pos ${p} vocab ${v}: ${a} vs ${b}`);
        worst = Math.max(worst, Math.abs(a - b));
      }
    });
  }
  return worst;
}

test('paged forward over mixed prefill chunks and decodes matches Transformer.infer (every ISA path)', () => {
  const name = native.isaName();
  const level = name.startsWith('avx512') ? 2 : name === 'avx2' ? 1 : 0;
  try {
    for (let isa = level; isa >= 0; isa--) {
      native.setIsa(isa);
      checkPaged(cfg, 3);
      checkPaged({ ...cfg, dModel: 64, nHeads: 4, nKvHeads: 1, ffnHidden: 96 }, 4); // head dim 16, 4 query heads per KV head
      checkPaged({ ...cfg, dModel: 128, nHeads: 4, nKvHeads: 4, ffnHidden: 96, ropeScale: 0.5 }, 5); // head dim 32, no grouping
      checkPaged({ ...cfg, dModel: 36, nHeads: 3, nKvHeads: 1, ffnHidden: 40 }, 6); // head dim 12: vector body plus a scalar tail
      checkPaged({ ...cfg, dModel: 64, nHeads: 4, nKvHeads: 2, ffnHidden: 96 }, 8, 'f32', 20); // blocks longer than a 16-key chunk
      // bf16 cache: close to the f32 model, but not identical (so the rounding really happens).
      for (const [c, seed] of [[cfg, 3], [{ ...cfg, dModel: 64, nHeads: 4, nKvHeads: 1, ffnHidden: 96 }, 4], [{ ...cfg, dModel: 36, nHeads: 3, nKvHeads: 1, ffnHidden: 40 }, 6]] as const) {
        const worst = checkPaged(c, seed, 'bf16');
        assert.ok(worst > 1e-6, `bf16 cache gave exactly the f32 logits (max error ${worst}): is it rounding?`);
      }
    }
  } finally {
    native.setIsa(level);
  }
});

const model = new Transformer(cfg, 7);
const reference = (prompt: number[], maxTokens: number, extra: object = {}) => generate(model, prompt, { maxNewTokens: maxTokens, ...extra }).ids;

test('engine: concurrent greedy requests equal each request generated alone', async () => {
  const engine = new Engine(model, { blockSize: 4 });
  const prompts = [seqTokens(5, 1), seqTokens(12, 2), seqTokens(1, 3), seqTokens(30, 4), seqTokens(9, 5)];
  const maxTok = [10, 3, 20, 12, 1];
  const outs = await Promise.all(prompts.map((p, i) => engine.submit(p, { maxTokens: maxTok[i] }).done));
  outs.forEach((o, i) => {
    assert.deepEqual(o.outputTokens, reference(prompts[i], maxTok[i]), `request ${i}`);
    assert.equal(o.finishReason, 'length');
  });
  assert.equal(engine.blocks.used, 0, 'all blocks returned');
});

test('engine: requests join and leave the running batch between steps', () => {
  const engine = new Engine(model, { blockSize: 4, autoRun: false });
  const a = seqTokens(6, 6), b = seqTokens(8, 7);
  const ha = engine.submit(a, { maxTokens: 6 });
  const outsA: number[] = [];
  let bOut: number[] = [];
  let aDone = false, bDone = false;
  void ha.done.then((o) => { outsA.push(...o.outputTokens); aDone = true; });
  engine.step(); // A prefill, first token
  engine.step(); // A decodes
  const hb = engine.submit(b, { maxTokens: 8 });
  void hb.done.then((o) => { bOut = o.outputTokens; bDone = true; });
  const s3 = engine.step();
  assert.equal(s3.sequences, 2, 'B joined while A decodes');
  assert.equal(s3.decodeTokens, 1);
  assert.equal(s3.prefillTokens, b.length);
  let steps = 0, leftEarly = false;
  while (engine.hasWork && steps++ < 50) {
    const running = engine.numRunning;
    engine.step();
    if (running === 2 && engine.numRunning === 1) leftEarly = engine.scheduler.running[0].prompt === b;
  }
  return new Promise<void>((resolve) => setImmediate(() => {
    assert.ok(aDone && bDone);
    assert.ok(leftEarly, 'A left the batch while B kept running');
    assert.deepEqual(outsA, reference(a, 6));
    assert.deepEqual(bOut, reference(b, 8));
    resolve();
  }));
});

test('engine: chunked prefill keeps decoding under a small token budget', async () => {
  const engine = new Engine(model, { blockSize: 4, maxTokensPerStep: 8, autoRun: false });
  const short = seqTokens(3, 8), long = seqTokens(45, 9);
  const hs = engine.submit(short, { maxTokens: 12 });
  engine.step();
  const hl = engine.submit(long, { maxTokens: 4 });
  const infos = [];
  while (engine.hasWork && infos.length < 100) infos.push(engine.step());
  for (const i of infos) assert.ok(i.tokens <= 8, `a step ran ${i.tokens} tokens`);
  // While the long prompt is prefilled in chunks, the short request still decodes every step.
  const chunked = infos.filter((i) => i.prefillTokens > 0 && i.prefillTokens < long.length);
  assert.ok(chunked.length >= 5, 'the long prompt was split into chunks');
  assert.ok(chunked.every((i) => i.decodeTokens === 1 || i.sequences === 1));
  assert.deepEqual((await hs.done).outputTokens, reference(short, 12));
  assert.deepEqual((await hl.done).outputTokens, reference(long, 4));
});

test('engine: preemption by recompute when blocks run out gives the same outputs', async () => {
  // 16 blocks of 4 = one 64-token sequence; four requests of ~40 tokens cannot all fit.
  const engine = new Engine(model, { blockSize: 4, numBlocks: 16, prefixCaching: false });
  const prompts = [0, 1, 2, 3].map((i) => seqTokens(10, 20 + i));
  const sampled = { temperature: 0.8, topK: 10, seed: 5 };
  const outs = await Promise.all(prompts.map((p, i) => engine.submit(p, { maxTokens: 30, ...(i === 3 ? sampled : {}) }).done));
  assert.ok(engine.scheduler.preemptions > 0, 'some sequence was preempted');
  outs.slice(0, 3).forEach((o, i) => assert.deepEqual(o.outputTokens, reference(prompts[i], 30), `request ${i}`));
  // A seeded sampled request gives the same tokens as alone in a roomy engine, preempted or not.
  const alone = await new Engine(model, { blockSize: 4 }).submit(prompts[3], { maxTokens: 30, ...sampled }).done;
  assert.deepEqual(outs[3].outputTokens, alone.outputTokens);
  assert.ok(outs.some((o) => o.preemptions > 0));
  assert.equal(engine.blocks.used, 0);
});

test('engine: prefix cache reuses full prompt blocks', async () => {
  const engine = new Engine(model, { blockSize: 4 });
  const shared = seqTokens(18, 30);
  const p1 = [...shared, 1, 2, 3], p2 = [...shared, 9, 8];
  const o1 = await engine.submit(p1, { maxTokens: 5 }).done;
  assert.equal(o1.cachedTokens, 0);
  const o2 = await engine.submit(p2, { maxTokens: 5 }).done;
  assert.equal(o2.cachedTokens, 16, 'four full blocks of the shared 18 tokens');
  assert.deepEqual(o2.outputTokens, reference(p2, 5));
  // The same prompt again: every full block but the one holding the last token.
  const o3 = await engine.submit(p1, { maxTokens: 5 }).done;
  assert.equal(o3.cachedTokens, 20);
  assert.deepEqual(o3.outputTokens, o1.outputTokens);
  assert.ok(engine.metrics.snapshot().prefixCacheHitRate > 0);
  assert.equal(engine.blocks.used, 0);
  assert.ok(engine.blocks.cachedIdle > 0, 'finished prompts stay cached');
});

test('engine: cancellation frees the request\'s blocks at once', async () => {
  const engine = new Engine(model, { blockSize: 4, autoRun: false });
  const h = engine.submit(seqTokens(20, 40), { maxTokens: 40 });
  const other = engine.submit(seqTokens(7, 41), { maxTokens: 3 });
  for (let i = 0; i < 4; i++) engine.step();
  assert.ok(engine.blocks.used >= 6);
  h.cancel();
  const o = await h.done;
  assert.equal(o.finishReason, 'abort');
  assert.equal(o.outputTokens.length, 4, "one token per step, the first with the prefill");
  while (engine.hasWork) engine.step();
  assert.equal((await other.done).finishReason, 'length');
  assert.equal(engine.blocks.used, 0);
});

test('engine: stop tokens, stop strings, logprobs and prompt logprobs', async () => {
  const decode = (ids: readonly number[]) => ids.map((i) => String.fromCharCode(97 + (i % 26))).join('');
  const engine = new Engine(model, { blockSize: 4, decode });
  const prompt = seqTokens(9, 50);
  const ref = reference(prompt, 20);
  const full = await engine.submit(prompt, { maxTokens: 20, logprobs: 3, promptLogprobs: 2 }).done;
  assert.deepEqual(full.outputTokens, ref);
  assert.equal(full.text, decode(ref));
  // Logprobs equal the log-softmax of a full forward pass.
  const all = [...prompt, ...ref];
  const logits = model.infer(Int32Array.from(all), 1, all.length);
  const V = cfg.vocabSize;
  const lsm = (pos: number, tok: number) => {
    const row = logits.data.subarray(pos * V, (pos + 1) * V);
    const mx = Math.max(...row);
    return row[tok] - mx - Math.log(row.reduce((a, x) => a + Math.exp(x - mx), 0));
  };
  full.logprobs!.forEach((lp, i) => {
    assert.ok(Math.abs(lp.logprob - lsm(prompt.length - 1 + i, ref[i])) < 1e-4);
    assert.equal(lp.top![0].token, ref[i], 'greedy token is the top alternative');
    assert.equal(lp.top!.length, 3);
  });
  assert.equal(full.promptLogprobs![0], null);
  for (let p = 1; p < prompt.length; p++) assert.ok(Math.abs(full.promptLogprobs![p]!.logprob - lsm(p - 1, prompt[p])) < 1e-4);
  // Stop token: output ends before it.
  const stopTok = ref[5];
  const st = await engine.submit(prompt, { maxTokens: 20, stopTokens: [stopTok] }).done;
  assert.deepEqual(st.outputTokens, ref.slice(0, ref.indexOf(stopTok)));
  assert.equal(st.finishReason, 'stop');
  // Stop string spanning two tokens: text cut before it; the streamed pieces add up to the same text.
  const text = decode(ref);
  const stop = text.slice(7, 9);
  let streamed = '';
  const ss = await engine.submit(prompt, { maxTokens: 20, stop: ['zzzz', stop] }, (d) => { streamed += d.text; }).done;
  assert.equal(ss.text, text.slice(0, text.indexOf(stop)));
  assert.equal(streamed, ss.text);
  assert.equal(ss.finishReason, 'stop');
  // max_tokens 0 with prompt logprobs: scoring only.
  const sc = await engine.submit(prompt, { maxTokens: 0, promptLogprobs: 0 }).done;
  assert.equal(sc.outputTokens.length, 0);
  assert.ok(Math.abs(sc.promptLogprobs![3]!.logprob - full.promptLogprobs![3]!.logprob) < 1e-5);
});

test('text stream holds back partial characters and stop-string prefixes', () => {
  const bytes = [...Buffer.from('안녕 ab', 'utf8')];
  const decode = (ids: readonly number[]) => Buffer.from(ids.map((i) => bytes[i])).toString('utf8');
  const ts = new TextStream(decode, [' a']);
  const ids: number[] = [];
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    ids.push(i);
    const d = ts.update(ids);
    assert.ok(!d.includes('\uFFFD'), `partial character released at byte ${i}`);
    out += d;
    if (ts.stoppedText !== null) break;
  }
  out += ts.finish();
  assert.equal(out, '안녕');
  assert.equal(ts.finalText, '안녕');
  const pieces = tokenPieces(decode, bytes.map((_, i) => i));
  assert.equal(pieces.pieces.join(''), '안녕 ab');
  assert.deepEqual(pieces.pieces.slice(0, 4), ['안', '', '', '녕']);
  assert.deepEqual(pieces.offsets.slice(0, 4), [0, 1, 1, 1]);
  assert.deepEqual(topK(Float32Array.from([1, 5, 3, 5, 0]), 3), [1, 3, 2]);
});

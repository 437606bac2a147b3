import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'node:test';
import { checkpointHead, loadModel, saveCheckpoint } from '../../src/model/checkpoint.js';
import { parseModelConfig } from '../../src/model/config.js';
import { initScoreModel, openScoreModel, saveScoreModel, sequenceEnds, SCORE_WEIGHT } from '../../src/model/score_head.js';
import { Transformer } from '../../src/model/transformer.js';
import { backward, F } from '../../src/tensor/index.js';

const config = parseModelConfig('test');
const PAD = 0;

test('sequenceEnds finds the last non-pad token of padded rows and of each packed segment', () => {
  const padded = Int32Array.from([5, 6, 7, 0, 0, 8, 9, 1, 2, 3]);
  assert.deepEqual([...sequenceEnds(padded, 2, 5, PAD)], [2, 9]);
  assert.throws(() => sequenceEnds(Int32Array.from([0, 0]), 1, 2, PAD), /row 0 holds only padding/);
  const packed = Int32Array.from([5, 6, 7, 8, 9, 0, 4, 4, 4, 4, 0, 0]);
  const seg = Int32Array.from([0, 0, 1, 1, 1, 2, 0, 0, 0, 0, 1, 1]);
  assert.deepEqual([...sequenceEnds(packed, 2, 6, PAD, seg)], [1, 4, 9]);
});

test('the head starts N(0, 1/(d+1)) with zero bias', () => {
  const big = new Transformer(parseModelConfig({ preset: 'test', dModel: 1024, nHeads: 4, nKvHeads: 2 }), 1);
  const sm = initScoreModel(big, 3);
  const w = sm.weight.data;
  const variance = w.reduce((s, x) => s + x * x, 0) / w.length;
  assert.ok(Math.abs(variance * 1025 - 1) < 0.15, `variance ${variance} should be near 1/1025`);
  assert.equal(sm.bias.data[0], 0);
});

test('a sequence scores the same alone, right-padded and packed beside another', () => {
  const sm = initScoreModel(new Transformer(config, 7), 2);
  const a = [3, 9, 12, 4, 8], b = [7, 7, 30];
  const alone = [sm.infer(Int32Array.from(a), 1, 5)[0], sm.infer(Int32Array.from(b), 1, 3)[0]];
  const padded = sm.infer(Int32Array.from([...a, ...b, PAD, PAD]), 2, 5, { pad: PAD });
  const packedIds = Int32Array.from([...a, ...b, PAD]);
  const packed = sm.infer(packedIds, 1, 9, { pad: PAD, segmentIds: Int32Array.from([0, 0, 0, 0, 0, 1, 1, 1, 2]) });
  for (const got of [padded, packed]) {
    assert.equal(got.length, 2);
    for (let i = 0; i < 2; i++) assert.ok(Math.abs(got[i] - alone[i]) < 1e-5, `${got[i]} vs ${alone[i]}`);
  }
  const tok = sm.tokenScores(Int32Array.from(a), 1, 5);
  assert.deepEqual(tok.shape, [1, 5]);
  assert.ok(Math.abs(tok.data[4] - alone[0]) < 1e-5);
});

test('gradients reach the head and the backbone, not past the scored token', () => {
  const sm = initScoreModel(new Transformer(config, 7), 2);
  const s = sm.score(Int32Array.from([3, 9, 12, 0, 0]), 1, 5, { pad: PAD });
  backward(F.sum(s));
  assert.ok(sm.weight.grad && sm.weight.grad.data.some((g) => g !== 0));
  assert.ok(Math.abs(sm.bias.grad!.data[0] - 1) < 1e-6, 'd score / d bias = 1');
  const emb = sm.model.param('model.embed_tokens.weight').grad!.data, d = config.dModel;
  assert.ok(emb.subarray(3 * d, 4 * d).some((g) => g !== 0), 'an earlier token gets a gradient');
  // Pad (id 0) sits after the scored token: causal attention gives it no gradient.
  assert.ok(emb.subarray(0, d).every((g) => g === 0));
});

test('saved with "head": "score", reopened by openScoreModel with the same scores; a plain checkpoint is refused', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hcx-score-'));
  const sm = initScoreModel(new Transformer(config, 7), 2);
  sm.bias.data[0] = 0.25;
  const ck = saveScoreModel(dir, sm, { state: { step: 1, tokensSeen: 0 } });
  assert.equal(JSON.parse(readFileSync(path.join(ck, 'config.json'), 'utf8')).head, 'score');
  assert.equal(checkpointHead(ck), 'score');
  const back = openScoreModel(dir);
  const ids = Int32Array.from([3, 9, 12, 4]);
  assert.deepEqual([...back.infer(ids, 1, 4)], [...sm.infer(ids, 1, 4)]);
  assert.deepEqual([...back.weight.data], [...sm.weight.data]);
  assert.equal(back.weight.name, SCORE_WEIGHT);
  loadModel(ck); // the backbone still loads as a plain model
  const plain = saveCheckpoint(path.join(dir, 'plain'), { model: new Transformer(config, 1), state: { step: 1, tokensSeen: 0 } });
  assert.throws(() => openScoreModel(plain), /not a score model/);
  const cfg = JSON.parse(readFileSync(path.join(ck, 'config.json'), 'utf8'));
  writeFileSync(path.join(ck, 'config.json'), JSON.stringify({ ...cfg, head: 'value' }));
  assert.throws(() => checkpointHead(ck), /checksum mismatch|field "head"/);
});

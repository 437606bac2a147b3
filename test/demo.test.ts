// hcx demo, at a tiny scale: the main job runs as a pipeline (tokenizer -> data -> pretrain -> sft on
// the built-in chat data -> rm on built-in Korean pairs -> ppo gated on the RM's pair accuracy, every
// checkpoint evaluated by a worker) and ends with a chat model in OUT that answers a Korean and an English
// prompt greedily and stops at <|endofturn|>, and a PPO policy beside it; generate/chat/serve open OUT; a
// rerun does nothing; changed settings rerun only the stages they reach; foreign folders are refused.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { demoSettings, runDemo, type DemoSettings } from '../src/demo.js';
import { loadModel } from '../src/model/checkpoint.js';
import { chatReply, CHAT_PROMPTS } from '../src/pipeline/eval_suites.js';
import { readResult } from '../src/pipeline/results.js';
import { openModel } from '../src/model/load.js';
import { Tokenizer } from '../src/tokenizer/index.js';

/** The smallest settings that still end in a model that stops at its turn end (measured: ~10-20 s on 2 cores). */
function tinySettings(sftSteps = 300): DemoSettings {
  const s = demoSettings();
  return {
    ...s,
    vocabSize: 1000,
    data: { packing: { seqLen: 64, longFactor: 2, longShare: 0.1, shardTokens: 1 << 16 } },
    pretrain: { model: { preset: 'test', dModel: 64, ffnHidden: 128, maxSeqLen: 128 }, batchSize: 8, steps: 60, lr: 3e-3, warmupSteps: 5, evalEvery: 30, heldoutRecords: 8, evalBatches: 1, saveEvery: 30, logEvery: 5, seed: 1 },
    sft: { data: 'builtin', conversations: 200, seqLen: 128, batchSize: 8, steps: sftSteps, lr: 2e-3, warmupSteps: 5, heldout: 16, evalEvery: 150, evalBatches: 1, saveEvery: 150, logEvery: 5 },
    rm: { data: 'builtin', questions: 40, seqLen: 128, heldout: 16, batchSize: 8, steps: 10, lr: 2e-3, warmupSteps: 0, evalEvery: 10, saveEvery: 10, normSamples: 4, normMaxNewTokens: 16 },
    ppo: { prompts: 'builtin', promptCount: 24, heldout: 4, iterations: 2, promptsPerIteration: 4, samplesPerPrompt: 2, maxNewTokens: 16, miniBatchSize: 4, epochs: 1, batchSize: 4, lr: 1e-5, evalEvery: 2, seed: 1 },
    pretrainEval: ['heldout'],
    sftEval: ['heldout', 'chat'],
    rmEval: ['pairs'],
    ppoEval: ['ppo'],
  };
}

const STAGES = ['tokenizer', 'data', 'pretrain', 'sft', 'rm', 'ppo'];

describe('hcx demo (tiny settings)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hcx-demo-'));
  const out = path.join(dir, 'demo');
  after(() => rmSync(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const log = (l: string) => { lines.push(l); };

  test('runs tokenizer -> data -> pretrain -> sft -> rm -> ppo as a pipeline and ends with a chat model that stops at <|endofturn|>', { timeout: 240_000 }, async () => {
    const r = await runDemo({ out, settings: tinySettings(), log });
    assert.ok(r.ok);
    assert.deepEqual(r.stages.map((s) => [s.name, s.state, s.attempts]), STAGES.map((n) => [n, 'done', 1]));
    // every checkpoint was evaluated asynchronously: pretrain 2 checkpoints x 1 suite, sft 2 x 2, rm 1 x 1, ppo 2 (iterations 0 and 2) x 1
    const none = { total: 0, done: 0, failed: 0 }, all = (n: number) => ({ total: n, done: n, failed: 0 });
    assert.deepEqual(r.stages.map((s) => s.evals), [none, none, all(2), all(4), all(1), all(2)]);
    const sft = r.stages[3].output!;
    assert.equal(sft.dir, out, 'the demo folder is the sft run');
    assert.equal(path.dirname(path.dirname(sft.checkpoint!)), out);
    assert.equal(path.basename(sft.checkpoint!), 'step-300');
    // the sft stage started from pretraining's final checkpoint and learnt the chat data
    assert.ok((sft.summary!.loss as number) < (sft.summary!.first_loss as number) / 2, JSON.stringify(sft.summary));

    // Greedy replies of the final model, recomputed here: a Korean and an English prompt end with <|endofturn|>.
    const model = loadModel(out), tok = Tokenizer.load(path.join(out, 'tokenizer.json'));
    for (const lang of ['ko', 'en'] as const) {
      const p = CHAT_PROMPTS.find((c) => c.lang === lang)!;
      const reply = await chatReply(model, tok, p.prompt);
      assert.ok(reply.stopped, `${lang}: ${JSON.stringify(reply)}`);
      assert.ok(reply.text.trim().length > 0, `${lang}: an empty reply`);
    }
    // the worker's chat suite on the final checkpoint says the same, and the demo printed it
    const chat = readResult(sft.checkpoint!, 'chat')!;
    assert.equal(chat.metrics.stop_share, 1, JSON.stringify(chat.samples));
    assert.deepEqual(r.replies.map((x) => x.stopped), CHAT_PROMPTS.map(() => true));
    const text = lines.join('\n');
    assert.match(text, /stage +kind +state +tries +evals/);
    assert.match(text, /^sft +sft +done +1 +4\/4/m);
    assert.match(text, /^rm +rm +done +1 +1\/1 +accuracy [\d.]+, margin/m);
    assert.match(text, /^ppo +ppo +done +1 +2\/2 +reward -?[\d.]+, kl/m);
    assert.match(text, /reward model: held-out pair accuracy [\d.]+, margin -?[\d.]+ \(16 pairs, 10 steps\); PPO gate accuracy >= 0\.6: passed/);
    assert.match(text, /PPO: 2 iterations, rollout reward -?[\d.]+ -> -?[\d.]+, KL/);
    assert.match(text, /PPO held-out \(ppo suite, greedy\): reward -?[\d.]+ at iteration 0 \(the SFT model\) -> -?[\d.]+ at 2/);

    // the alignment stages: rm from the final SFT checkpoint, PPO from it and the RM, its policy printed
    const rm = r.stages[4].output!, ppo = r.stages[5].output!;
    assert.equal(rm.dir, path.join(out, 'pipeline', 'rm'));
    assert.ok((rm.summary!.accuracy as number) >= 0.6, JSON.stringify(rm.summary));
    assert.equal(readResult(rm.checkpoint!, 'pairs')!.metrics.accuracy, rm.summary!.accuracy, 'the pairs suite agrees with the trainer');
    assert.equal(r.ppoCheckpoint, ppo.checkpoint);
    assert.equal(path.dirname(path.dirname(ppo.checkpoint!)), path.join(out, 'pipeline', 'ppo'));
    assert.match(text, /PPO policy: +.*pipeline[/\\]ppo[/\\]checkpoints[/\\]step-\d/);
    assert.match(text, /assistant: .+<\|endofturn\|>/);
    assert.match(text, /hcx dashboard .*pipeline[/\\]plan\.yaml/);
    assert.match(text, /tensorboard --logdir /);
    assert.ok(existsSync(path.join(out, 'tb')) && readdirSync(path.join(out, 'tb')).length > 0, 'TensorBoard files of the sft run');

    // chat and serve open the demo folder as the SFT'd model, named after it
    const served = openModel(out, { dtype: 'f32' });
    assert.equal(served.displayName, 'demo');
    assert.equal(served.source.path, path.resolve(out));
    assert.equal(served.model.config.dModel, 64);
    assert.equal(served.tokenizerPath, path.join(out, 'tokenizer.json'));
  });

  test('a rerun does nothing; changed SFT settings rerun only the sft stage', { timeout: 240_000 }, async () => {
    const logs = () => readdirSync(path.join(out, 'pipeline', 'logs')).sort();
    const before = logs();
    const again = await runDemo({ out, settings: tinySettings(), log: () => {} });
    assert.deepEqual(again.stages.map((s) => [s.name, s.state, s.attempts]), STAGES.map((n) => [n, 'done', 1]));
    assert.deepEqual(logs(), before, 'no stage ran again');
    const changed = await runDemo({ out, settings: tinySettings(200), log: () => {} });
    assert.equal(path.basename(changed.stages[3].output!.checkpoint!), 'step-200');
    const added = logs().filter((f) => !before.includes(f));
    assert.deepEqual(added.map((f) => f.split('_')[1]).sort(), ['ppo', 'rm', 'sft'], 'sft and the stages after it ran again');
    assert.deepEqual(readdirSync(path.join(out, 'checkpoints')).sort(), ['step-150', 'step-200'], 'the earlier config\'s checkpoints are gone');
  });

  test('refuses a folder it did not make, and an old-layout demo folder without --fresh', async () => {
    const foreign = path.join(dir, 'foreign');
    mkdirSync(foreign);
    writeFileSync(path.join(foreign, 'notes.txt'), 'mine');
    await assert.rejects(runDemo({ out: foreign, settings: tinySettings(), log: () => {} }), /foreign is not empty and was not made by hcx demo; choose another --out/);
    await assert.rejects(runDemo({ out: foreign, settings: tinySettings(), fresh: true, log: () => {} }), /not made by hcx demo/);
    assert.ok(existsSync(path.join(foreign, 'notes.txt')), '--fresh never removes a foreign folder');
    const old = path.join(dir, 'old');
    mkdirSync(path.join(old, 'data'), { recursive: true });
    writeFileSync(path.join(old, 'pretrain.json'), '{}');
    writeFileSync(path.join(old, 'data', 'index.json'), '{}');
    await assert.rejects(runDemo({ out: old, settings: tinySettings(), log: () => {} }), /made by an earlier hcx demo \(before the pipeline\); rerun with --fresh/);
  });
});

// The alignment stages after sft: `rm` (a reward model, src/train/reward.ts) and `ppo` (PPO against
// it, src/train/ppo.ts). Like the sft stage they take their models from the upstream stages (rm: `from`
// defaults to the upstream sft stage's final checkpoint; ppo: `policy` to the sft stage's, `reward` to
// the rm stage's) and the tokenizer the upstream stages pass on; `data: builtin` (rm) and
// `prompts: builtin` (ppo) write hcx's own Korean data into the stage folder. Configs are checked when
// the plan is read, with placeholders for what the pipeline fills in.
import path from 'node:path';
import { runTokenizerPath } from '../train/run_tokenizer.js';
import type { Json } from './store.js';
import type { StageContext, StageKind, StageOutput } from './stages.js';

type Raw = Record<string, unknown>;

function only(config: Raw, where: string, allowed: string[]): void {
  for (const k of Object.keys(config)) if (!allowed.includes(k)) throw new Error(`${where}: unknown field "${k}" (expected one of: ${allowed.join(', ')})`);
}

/** The one upstream stage of a kind, or undefined (none); two are an error, since which one is meant is unclear. */
function upstream(ctx: StageContext, kind: string): StageOutput | undefined {
  const found = Object.values(ctx.inputs).filter((v) => v.kind === kind);
  if (found.length > 1) throw new Error(`${ctx.where}: stage ${ctx.name} has ${found.length} upstream ${kind} stages; name the model in the config`);
  return found[0]?.output;
}

const upstreamTokenizer = (ctx: StageContext): string | undefined =>
  (ctx.config.tokenizer as string | undefined) ?? Object.values(ctx.inputs).map((i) => i.output.files?.tokenizer).find(Boolean);

function count(c: Raw, field: string, builtinField: string, where: string): void {
  if (c[field] === undefined) return;
  if (c[builtinField] !== 'builtin') throw new Error(`${where}: field "${field}" applies to ${builtinField}: builtin only`);
  if (!Number.isInteger(c[field]) || (c[field] as number) < 1) throw new Error(`${where}: field "${field}" must be an integer >= 1, got ${JSON.stringify(c[field])}`);
}

const PLACEHOLDER = '<from the pipeline>';

/**
 * `data: builtin`: Korean preference pairs (language, repetition, padding; src/data/prefs/korean.ts) over
 * `questions` Korean questions of the built-in chat set, written as pairs JSONL into the stage folder.
 */
async function rmData(c: Raw, dir: string): Promise<string[]> {
  if (c.data !== 'builtin') return typeof c.data === 'string' ? [c.data] : (c.data as string[]);
  const { buildKoreanPairs, builtinKoreanQA, koreanPairRecord } = await import('../data/prefs/korean.js');
  const { writeFileAtomic } = await import('../util/atomic.js');
  const file = path.join(dir, 'builtin-pairs.jsonl');
  const qa = builtinKoreanQA(400);
  const pairs = buildKoreanPairs(qa, { limit: (c.questions as number | undefined) ?? 200, seed: 1 });
  writeFileAtomic(file, pairs.map((p) => koreanPairRecord(p) + '\n').join(''));
  return [file];
}

export const rmStage: StageKind = {
  checkpoints: true, dirField: 'runDir',
  async check(c, where) {
    const { RM_SCHEMA } = await import('../train/pref_config.js');
    const { parseObject } = await import('../util/schema.js');
    only(c, where, [...Object.keys(RM_SCHEMA).filter((k) => k !== 'model'), 'questions']);
    if (c.data === undefined) throw new Error(`${where}: field "data" (preference pair files, or "builtin") is required`);
    count(c, 'questions', 'data', where);
    const { questions: _q, ...rest } = c;
    parseObject({ from: PLACEHOLDER, runDir: PLACEHOLDER, ...rest, data: [PLACEHOLDER] }, RM_SCHEMA, where);
  },
  async run(ctx) {
    const { parsePrefConfig, RM_SCHEMA } = await import('../train/pref_config.js');
    const { describeModel } = await import('../model/load.js');
    const { rm } = await import('../train/reward.js');
    const from = (ctx.config.from as string | undefined) ?? upstream(ctx, 'sft')?.checkpoint;
    if (!from) throw new Error(`${ctx.where}: stage ${ctx.name} needs "from" or an upstream sft stage in "after"`);
    const tok = upstreamTokenizer(ctx);
    const { questions: _q, ...rest } = ctx.config;
    const raw = { keepCheckpoints: 0, ...rest, data: await rmData(ctx.config, ctx.dir), from, runDir: ctx.dir, ...(tok ? { tokenizer: tok } : {}) };
    const cfg = parsePrefConfig<import('../train/pref_config.js').RmConfig>(raw, RM_SCHEMA, ctx.where, describeModel(from).config);
    const r = await rm(cfg, { resume: ctx.resume, quiet: true, onStep: (m) => {
      ctx.alive();
      if (m.step % cfg.logEvery === 0 || m.eval_loss !== undefined) ctx.log(JSON.stringify({ step: m.step, loss: m.loss, accuracy: m.accuracy, eval_accuracy: m.eval_accuracy, eval_margin: m.eval_margin }));
    } });
    ctx.log(`rm: held-out accuracy ${r.heldout.accuracy.toFixed(3)} margin ${r.heldout.margin.toFixed(3)} on ${r.heldout.pairs} pairs${r.rewardStats ? `; SFT-policy reward mean ${r.rewardStats.mean.toFixed(3)} std ${r.rewardStats.std.toFixed(3)}` : ''}`);
    const last = r.metrics[r.metrics.length - 1];
    const summary: Record<string, Json> = {
      accuracy: r.heldout.accuracy, margin: r.heldout.margin, steps: last?.step ?? 0, heldout_pairs: r.heldout.pairs, loss: last?.loss ?? null,
      ...(r.rewardStats ? { reward_mean: r.rewardStats.mean, reward_std: r.rewardStats.std } : {}),
    };
    return { dir: r.runDir, checkpoint: r.finalCheckpoint, files: { tokenizer: runTokenizerPath(r.runDir) }, summary };
  },
};

/**
 * `prompts: builtin`: `promptCount` Korean one- or two-exchange conversations of the built-in chat set (a
 * seed of their own), as messages JSONL in the stage folder; PPO answers their prompts.
 */
async function ppoPrompts(c: Raw, dir: string): Promise<string[]> {
  if (c.prompts !== 'builtin') return typeof c.prompts === 'string' ? [c.prompts] : (c.prompts as string[]);
  const { chatSamples } = await import('../data/corpus/chat.js');
  const { writeFileAtomic } = await import('../util/atomic.js');
  const file = path.join(dir, 'builtin-prompts.jsonl');
  const n = (c.promptCount as number | undefined) ?? 64;
  const ko = chatSamples(n, 101).filter((s) => s.lang === 'ko');
  writeFileAtomic(file, ko.map((s) => JSON.stringify({ messages: s.messages })).join('\n') + '\n');
  return [file];
}

export const ppoStage: StageKind = {
  checkpoints: true, dirField: 'runDir',
  async check(c, where) {
    const { PPO_SCHEMA } = await import('../train/ppo_config.js');
    const { parseObject } = await import('../util/schema.js');
    only(c, where, [...Object.keys(PPO_SCHEMA).filter((k) => k !== 'resume'), 'promptCount']);
    if (c.prompts === undefined) throw new Error(`${where}: field "prompts" (chat files whose prompts PPO answers, or "builtin") is required`);
    count(c, 'promptCount', 'prompts', where);
    const { promptCount: _n, ...rest } = c;
    parseObject({ policy: PLACEHOLDER, reward: PLACEHOLDER, runDir: PLACEHOLDER, ...rest, prompts: [PLACEHOLDER] }, PPO_SCHEMA, where);
  },
  async run(ctx) {
    const { run } = await import('../train/ppo.js');
    const policy = (ctx.config.policy as string | undefined) ?? upstream(ctx, 'sft')?.checkpoint;
    const reward = (ctx.config.reward as string | undefined) ?? upstream(ctx, 'rm')?.checkpoint;
    if (!policy) throw new Error(`${ctx.where}: stage ${ctx.name} needs "policy" or an upstream sft stage in "after"`);
    if (!reward) throw new Error(`${ctx.where}: stage ${ctx.name} needs "reward" or an upstream rm stage in "after"`);
    const tok = upstreamTokenizer(ctx);
    const { promptCount: _n, ...rest } = ctx.config;
    // With the ppo suite on its checkpoints, the run-level early stop reads the eval workers' results
    // (asynchronous: the trainer never stops to score held-out prompts itself) unless the plan says inline.
    const heldoutEval = rest.heldoutEval ?? (ctx.suites.includes('ppo') ? 'pipeline' : 'inline');
    const r = await run({ ...rest, heldoutEval, prompts: await ppoPrompts(ctx.config, ctx.dir), policy, reward, runDir: ctx.dir, ...(tok ? { tokenizer: tok } : {}), ...(ctx.resume ? { resume: true } : {}) }, {
      quiet: false,
      onIteration: (m) => {
        ctx.alive();
        ctx.log(JSON.stringify({ iteration: m.iteration, reward: m.reward, kl: m.kl, response_len: m.response_len, eos_fraction: m.eos_fraction, heldout_reward: m.heldout_reward, stop: m.stop }));
      },
    });
    const last = r.metrics[r.metrics.length - 1];
    const first = r.metrics[0];
    const summary: Record<string, Json> = {
      reward: last?.reward ?? null, kl: last?.kl ?? null, response_len: last?.response_len ?? null, first_reward: first?.reward ?? null,
      heldout_reward: r.best?.reward ?? null, best_iteration: r.best?.iteration ?? null, iterations: r.metrics.length, eos_fraction: last?.eos_fraction ?? null,
      ...(r.stopReason ? { stop: r.stopReason } : {}),
    };
    return { dir: r.runDir, checkpoint: r.finalCheckpoint, files: { tokenizer: runTokenizerPath(r.runDir) }, summary };
  },
};

/**
 * DPO on the upstream sft stage's model (or `from`), pairs as for rm (`data: builtin` builds the Korean
 * pairs); checked at plan time like rm, resumed on a retried attempt (reference log-probs kept on disk).
 */
export const dpoStage: StageKind = {
  checkpoints: true, dirField: 'runDir',
  async check(c, where) {
    const { DPO_SCHEMA } = await import('../train/pref_config.js');
    const { parseObject } = await import('../util/schema.js');
    only(c, where, [...Object.keys(DPO_SCHEMA).filter((k) => k !== 'model'), 'questions']);
    if (c.data === undefined) throw new Error(`${where}: field "data" (preference pair files, or "builtin") is required`);
    count(c, 'questions', 'data', where);
    const { questions: _q, ...rest } = c;
    parseObject({ from: PLACEHOLDER, runDir: PLACEHOLDER, ...rest, data: [PLACEHOLDER] }, DPO_SCHEMA, where);
  },
  async run(ctx) {
    const { parsePrefConfig, DPO_SCHEMA } = await import('../train/pref_config.js');
    const { describeModel } = await import('../model/load.js');
    const { dpo } = await import('../train/dpo.js');
    const from = (ctx.config.from as string | undefined) ?? upstream(ctx, 'sft')?.checkpoint;
    if (!from) throw new Error(`${ctx.where}: stage ${ctx.name} needs "from" or an upstream sft stage in "after"`);
    const tok = upstreamTokenizer(ctx);
    const { questions: _q, ...rest } = ctx.config;
    const raw = { keepCheckpoints: 0, ...rest, data: await rmData(ctx.config, ctx.dir), from, runDir: ctx.dir, ...(tok ? { tokenizer: tok } : {}) };
    const cfg = parsePrefConfig<import('../train/pref_config.js').DpoConfig>(raw, DPO_SCHEMA, ctx.where, describeModel(from).config);
    const r = await dpo(cfg, { resume: ctx.resume, quiet: true, onStep: (m) => {
      ctx.alive();
      if (m.step % cfg.logEvery === 0) ctx.log(JSON.stringify(m));
    } });
    ctx.log(`dpo: held-out accuracy ${r.heldout.accuracy.toFixed(3)} margin ${r.heldout.margin.toFixed(3)} on ${r.heldout.pairs} pairs`);
    const last = r.metrics[r.metrics.length - 1];
    const summary: Record<string, Json> = { accuracy: r.heldout.accuracy, margin: r.heldout.margin, steps: last?.step ?? 0, heldout_pairs: r.heldout.pairs, loss: last?.loss ?? null };
    return { dir: r.runDir, checkpoint: r.finalCheckpoint, files: { tokenizer: runTokenizerPath(r.runDir) }, summary };
  },
};

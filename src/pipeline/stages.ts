// The stage registry: one entry per stage kind a plan may name. An entry checks its config when the
// plan is read (errors name the plan file and field), and runs the stage in a stage process, reading
// its inputs from the finished upstream stages' outputs. The alignment stages rm and ppo are in
// align_stages.ts. Training stages from src/train each export `run(config) -> { runDir, finalCheckpoint,
// metrics }`; a new one starts as one `trainingStage(...)` line.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runTokenizerPath } from '../train/run_tokenizer.js';
import type { Json } from './store.js';
import { dpoStage, ppoStage, rmStage } from './align_stages.js';

export interface StageOutput {
  /** The stage's folder (a run folder for training stages, the dataset folder for data, ...). */
  dir: string;
  /** The final checkpoint of a training stage. */
  checkpoint?: string;
  /** Named files other stages read (tokenizer: the tokenizer file). */
  files?: Record<string, string>;
  /** A few figures for the status table (final loss, records, ...). */
  summary?: Record<string, Json>;
  [k: string]: Json | undefined;
}

export interface StageContext {
  name: string;
  kind: string;
  /** The stage's config from the plan, references to upstream outputs already substituted. */
  config: Record<string, unknown>;
  /** Where the stage writes (config runDir/outDir/out when given, else PIPELINE_DIR/NAME). */
  dir: string;
  /** Finished upstream stages by name. */
  inputs: Record<string, { kind: string; output: StageOutput }>;
  /** The evaluation suites the plan runs on this stage's checkpoints (eval workers, asynchronously). */
  suites: string[];
  /** Continue a killed attempt of the same stage key (training stages resume from their last checkpoint). */
  resume: boolean;
  /** For error messages: "plan.yaml: stages.NAME.config". */
  where: string;
  log(line: string): void;
  /** Called by long loops once in a while; the stage process exits there if its worker died. */
  alive(): void;
}

export interface StageKind {
  /** Throws with `where` and the field when the config is wrong; runs when the plan is read. */
  check(config: Record<string, unknown>, where: string): void | Promise<void>;
  run(ctx: StageContext): Promise<StageOutput>;
  /** The config field naming the stage's output folder, if it has one. */
  dirField?: string;
  /** Whether the stage writes checkpoints that its plan `eval` suites run on. */
  checkpoints: boolean;
  /** Makes the fresh stage folder the stage's own before the pipeline writes its state file there. */
  claimDir?(dir: string): void | Promise<void>;
}

type Raw = Record<string, unknown>;

/** The one upstream stage of a kind, or the named one; a clear error otherwise. */
export function inputOfKind(ctx: StageContext, kind: string): StageOutput {
  const found = Object.entries(ctx.inputs).filter(([, v]) => v.kind === kind);
  if (found.length !== 1) throw new Error(`${ctx.where}: stage ${ctx.name} needs exactly one upstream ${kind} stage in "after", has ${found.length}`);
  return found[0][1].output;
}

function only(config: Raw, where: string, allowed: string[]): void {
  for (const k of Object.keys(config)) if (!allowed.includes(k)) throw new Error(`${where}: unknown field "${k}" (expected one of: ${allowed.join(', ')})`);
}

const tokenizer: StageKind = {
  checkpoints: false, dirField: 'out',
  check(c, where) {
    only(c, where, ['vocabSize', 'texts', 'split', 'out']);
    if (c.vocabSize !== undefined && !(Number.isInteger(c.vocabSize) && (c.vocabSize as number) >= 300)) throw new Error(`${where}: field "vocabSize" must be an integer >= 300, got ${JSON.stringify(c.vocabSize)}`);
    if (c.texts !== undefined && c.texts !== 'builtin' && !(Array.isArray(c.texts) && c.texts.every((t) => typeof t === 'string'))) throw new Error(`${where}: field "texts" must be "builtin" or a list of text files`);
  },
  async run(ctx) {
    const { Tokenizer, trainTokenizer } = await import('../tokenizer/index.js');
    const file = path.join(ctx.dir, 'tokenizer.json');
    const c = ctx.config;
    let texts: string[];
    if (Array.isArray(c.texts)) texts = (c.texts as string[]).map((f) => readFileSync(f, 'utf8'));
    else texts = Object.values((await import('../data/corpus/index.js')).defaultCorpusTexts()).flat();
    const tok = await trainTokenizer({ texts, vocabSize: (c.vocabSize as number | undefined) ?? 4096, split: c.split as 'model' | 'rules' | 'none' | undefined });
    tok.save(file);
    ctx.log(`tokenizer: ${Tokenizer.load(file).vocabSize} tokens -> ${file}`);
    return { dir: ctx.dir, files: { tokenizer: file }, summary: { vocab: tok.vocabSize } };
  },
};

async function dataConfig(c: Raw, outDir: string): Promise<Raw> {
  if (c.demo === true) {
    const { defaultDemoConfig } = await import('../data/demo.js');
    const { demo: _d, ...rest } = c;
    return { ...defaultDemoConfig(outDir), ...rest, outDir };
  }
  return { ...c, outDir };
}

const data: StageKind = {
  checkpoints: false, dirField: 'outDir',
  // `hcx data build` writes only into folders it made; claim the stage folder before stage.json lands there
  async claimDir(dir) { (await import('../data/outdir.js')).claimDatasetDir(dir); },
  async check(c, where) {
    const { validateConfig } = await import('../data/config.js');
    try {
      validateConfig(await dataConfig(c, '<stage dir>'));
    } catch (e) {
      throw new Error(`${where}.${(e as Error).message.replace(/^config\./, '')}`);
    }
  },
  async run(ctx) {
    const { buildDataset } = await import('../data/build.js');
    const { Tokenizer } = await import('../tokenizer/index.js');
    const tokFile = inputOfKind(ctx, 'tokenizer').files?.tokenizer;
    if (!tokFile) throw new Error(`${ctx.where}: the upstream tokenizer stage left no tokenizer file`);
    const built = await buildDataset(await dataConfig(ctx.config, ctx.dir), { tokenizer: Tokenizer.load(tokFile), fresh: !ctx.resume, log: ctx.log });
    for (const ph of built.index.phases) ctx.log(`data: phase ${ph.name}: ${ph.records} sequences of ${ph.seqLen} tokens`);
    return { dir: built.outDir, files: { report: path.join(built.outDir, 'report.md'), tokenizer: tokFile }, summary: Object.fromEntries(built.index.phases.map((p) => [`${p.name}_records`, p.records])) };
  },
};

const pretrain: StageKind = {
  checkpoints: true, dirField: 'runDir',
  async check(c, where) {
    const { parsePretrainConfig } = await import('../train/config.js');
    parsePretrainConfig({ runDir: '<stage dir>', data: '<data stage>', ...c }, where); // runDir and data come from the pipeline
  },
  async run(ctx) {
    const { parsePretrainConfig } = await import('../train/config.js');
    const { pretrain: train } = await import('../train/pretrain.js');
    const { readIndex } = await import('../data/shards.js');
    const dataDir = (ctx.config.data as string | undefined) ?? inputOfKind(ctx, 'data').dir;
    // the data stage passes on the tokenizer it encoded with
    const tok = (ctx.config.tokenizer as string | undefined) ?? Object.values(ctx.inputs).map((i) => i.output.files?.tokenizer).find(Boolean);
    const raw = { keepCheckpoints: 0, ...ctx.config, runDir: ctx.dir, data: dataDir, ...(tok ? { tokenizer: tok } : {}) };
    const cfg = parsePretrainConfig(raw, ctx.where, readIndex(dataDir).vocabSize);
    const r = await train(cfg, { resume: ctx.resume, quiet: true, onStep: (m) => {
      ctx.alive();
      if (m.step % cfg.logEvery === 0 || m.eval_loss !== undefined) ctx.log(JSON.stringify({ step: m.step, loss: m.loss, eval_loss: m.eval_loss, tokens_per_s: m.tokens_per_s }));
    } });
    const first = r.metrics[0], last = r.metrics[r.metrics.length - 1];
    return { dir: r.runDir, checkpoint: r.finalCheckpoint, ...(tok ? { files: { tokenizer: tok } } : {}),
      summary: { steps: last?.step ?? cfg.steps, first_loss: first?.loss ?? null, loss: last?.loss ?? null, eval_loss: last?.eval_loss ?? null } };
  },
};

const evalStage: StageKind = {
  checkpoints: false,
  check(c, where) {
    only(c, where, ['suites', 'of']);
    if (!Array.isArray(c.suites) || !c.suites.length || !c.suites.every((s) => typeof s === 'string')) throw new Error(`${where}: field "suites" must be a non-empty list of suite names`);
  },
  async run(ctx) {
    const { runSuite, SUITES } = await import('./eval_suites.js');
    const ofName = ctx.config.of as string | undefined;
    const withCk = Object.entries(ctx.inputs).filter(([n, v]) => v.output.checkpoint && (!ofName || n === ofName));
    if (withCk.length !== 1) throw new Error(`${ctx.where}: an eval stage needs exactly one upstream stage with a checkpoint (set "of"), has ${withCk.length}`);
    const [of, input] = withCk[0];
    const results: Record<string, Json> = {};
    for (const s of ctx.config.suites as string[]) {
      if (!SUITES[s]) throw new Error(`${ctx.where}: unknown suite "${s}" (have: ${Object.keys(SUITES).join(', ')})`);
      results[s] = (await runSuite(s, input.output.checkpoint!, { runDir: input.output.dir, alive: ctx.alive })).metrics;
      ctx.log(`eval ${of} ${s}: ${JSON.stringify(results[s])}`);
    }
    return { dir: input.output.dir, checkpoint: input.output.checkpoint, summary: results };
  },
};

/** The sft stage's fields beyond `hcx sft`'s: how much of the built-in chat data `data: builtin` writes. */
const SFT_STAGE_FIELDS = ['conversations'];

/**
 * `data: builtin` is the built-in Korean/English chat set (src/data/corpus/chat.ts), `conversations` per
 * language (default 400), written as messages JSONL into the stage folder; else a file or a list of files.
 */
async function sftData(c: Raw, dir: string): Promise<string[]> {
  if (c.data !== 'builtin') return typeof c.data === 'string' ? [c.data] : (c.data as string[]);
  const { chatSamples } = await import('../data/corpus/chat.js');
  const { writeFileAtomic } = await import('../util/atomic.js');
  const file = path.join(dir, 'builtin-chat.jsonl');
  const n = (c.conversations as number | undefined) ?? 400;
  writeFileAtomic(file, chatSamples(n).map((s) => JSON.stringify({ messages: s.messages })).join('\n') + '\n');
  return [file];
}

/**
 * SFT from the upstream training stage's final checkpoint (or "from"), with the tokenizer the upstream
 * stage passed on (or "tokenizer", else the one beside the source model); shared training settings are
 * inherited from the source as `hcx sft` does.
 */
const sftStage: StageKind = {
  checkpoints: true, dirField: 'runDir',
  async check(c, where) {
    const { SFT_SCHEMA } = await import('../train/sft_config.js');
    const { TRAIN_FIELDS } = await import('../train/config.js');
    only(c, where, [...new Set([...Object.keys(SFT_SCHEMA), ...Object.keys(TRAIN_FIELDS), ...SFT_STAGE_FIELDS])]);
    if (c.data === undefined) throw new Error(`${where}: field "data" (chat data files, or "builtin") is required`);
    if (c.conversations !== undefined) {
      if (c.data !== 'builtin') throw new Error(`${where}: field "conversations" applies to data: builtin only`);
      if (!Number.isInteger(c.conversations) || (c.conversations as number) < 1) throw new Error(`${where}: field "conversations" must be an integer >= 1, got ${JSON.stringify(c.conversations)}`);
    }
  },
  async run(ctx) {
    const { parseSftConfig } = await import('../train/sft_config.js');
    const { describeModel } = await import('../model/load.js');
    const { sft } = await import('../train/sft.js');
    const from = (ctx.config.from as string | undefined) ?? Object.values(ctx.inputs).map((i) => i.output.checkpoint).find(Boolean);
    if (!from) throw new Error(`${ctx.where}: stage ${ctx.name} needs "from" or an upstream stage with a checkpoint in "after"`);
    const src = describeModel(from);
    const tok = (ctx.config.tokenizer as string | undefined) ?? Object.values(ctx.inputs).map((i) => i.output.files?.tokenizer).find(Boolean);
    const { conversations: _n, ...rest } = ctx.config;
    const raw = { keepCheckpoints: 0, ...rest, data: await sftData(ctx.config, ctx.dir), from, runDir: ctx.dir, ...(tok ? { tokenizer: tok } : {}) };
    const { cfg } = parseSftConfig(raw, ctx.where, src.source.trainConfig, `${src.source.checkpoint ?? src.source.path}/state.json`, src.config);
    const r = await sft(cfg, { resume: ctx.resume, quiet: true, onStep: (m) => {
      ctx.alive();
      if (m.step % cfg.logEvery === 0 || m.eval_loss !== undefined) ctx.log(JSON.stringify({ step: m.step, loss: m.loss, eval_loss: m.eval_loss, tokens_per_s: m.tokens_per_s }));
    } });
    const first = r.metrics[0], last = r.metrics[r.metrics.length - 1];
    return { dir: r.runDir, checkpoint: r.finalCheckpoint, files: { tokenizer: runTokenizerPath(r.runDir) },
      summary: { steps: last?.step ?? 0, first_loss: first?.loss ?? null, loss: last?.loss ?? null, eval_loss: last?.eval_loss ?? null } };
  },
};

export const STAGES: Record<string, StageKind> = {
  tokenizer,
  data,
  pretrain,
  eval: evalStage,
  sft: sftStage,
  rm: rmStage,
  ppo: ppoStage,
  dpo: dpoStage,
};

export const hasFile = (f: string | undefined): boolean => !!f && existsSync(f);

// The main job as an event-driven pipeline on the embedded default data (no download, no Redis: the
// SQLite store): train the tokenizer, build the data (filters, PII scrubbing, dedup, mixture, FIM,
// packing into two context phases), pretrain a small HCX-style model, then SFT it on the built-in
// Korean/English chat set; every checkpoint is evaluated asynchronously by an evaluation worker while
// training goes on. Stage keys make a rerun of a finished demo do nothing.
//
// Layout of OUT (default runs/demo): OUT itself is the sft stage's run folder, so the chat model is what
// `--model OUT` opens everywhere (generate, chat, serve, eval, export); OUT/pipeline/ holds the plan,
// the store, the logs and the upstream stages' folders (tokenizer/, data/, pretrain/).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { chatReply, CHAT_PROMPTS, replyLanguage } from './pipeline/eval_suites.js';
import { loadPlan } from './pipeline/plan.js';
import { runPipeline, type StageStatus } from './pipeline/orchestrator.js';
import { readResult } from './pipeline/results.js';
import { resultsTable, readStatus, stageTable } from './pipeline/status.js';
import { openStore } from './pipeline/store.js';
import { writeFileAtomic } from './util/atomic.js';

/** Every knob of the demo's plan; the defaults are the real demo, tests pass a tiny one. */
export interface DemoSettings {
  vocabSize: number;
  /** Extra fields of the data stage (over the default demo config), e.g. a shorter packing for tests. */
  data: Record<string, unknown>;
  pretrain: Record<string, unknown>;
  sft: Record<string, unknown>;
  /** Evaluation suites run on each checkpoint of the stage. */
  pretrainEval: string[];
  sftEval: string[];
  evalWorkers: number;
}

export function demoSettings(steps = 600, vocabSize = 4096, sftSteps = 150): DemoSettings {
  return {
    vocabSize,
    data: {},
    // 90% of steps at the short context, the last 10% at 8x longer
    pretrain: {
      model: { preset: 'demo' }, batchSize: 16, steps, lr: 3e-3, warmupSteps: Math.min(50, Math.floor(steps / 10)), longShare: 0.1, longRopeBase: 80000,
      evalEvery: Math.max(1, Math.floor(steps / 10)), heldoutRecords: 32, evalBatches: 2, saveEvery: Math.max(1, Math.floor(steps / 4)), logEvery: 5, seed: 1,
    },
    sft: {
      data: 'builtin', conversations: 400, seqLen: 256, batchSize: 8, steps: sftSteps, lr: 1e-3, warmupSteps: 10, heldout: 32,
      evalEvery: Math.max(1, Math.floor(sftSteps / 3)), evalBatches: 2, saveEvery: Math.max(1, Math.floor(sftSteps / 3)), logEvery: 5,
    },
    pretrainEval: ['heldout', 'generate'],
    sftEval: ['heldout', 'chat'],
    evalWorkers: 1,
  };
}

export interface DemoOptions {
  /** Run folder (default runs/demo). */
  out?: string;
  steps?: number;
  vocabSize?: number;
  sftSteps?: number;
  /** The whole plan's settings (tests); overrides steps, vocabSize and sftSteps. */
  settings?: DemoSettings;
  /** Start over: remove what an earlier demo left in --out. */
  fresh?: boolean;
  log?: (s: string) => void;
}

export interface DemoResult {
  runDir: string;
  plan: string;
  ok: boolean;
  stages: StageStatus[];
  /** Greedy chat replies of the final SFT'd model. */
  replies: { lang: string; prompt: string; text: string; stopped: boolean }[];
}

const flow = (v: unknown): string => JSON.stringify(v);

/** The plan `hcx demo` runs; paths are relative to OUT/pipeline, where the plan file lives. */
export function demoPlan(s: DemoSettings): string {
  return `# written by hcx demo; run again with  hcx pipeline run THIS_FILE  (stage keys: a finished stage is not rerun)
name: demo
dir: .
stages:
  tokenizer:
    config: ${flow({ vocabSize: s.vocabSize })}
  data:
    after: tokenizer
    config: ${flow({ demo: true, ...s.data })}
  pretrain:
    after: data
    config: ${flow(s.pretrain)}
    eval: ${flow(s.pretrainEval)}
  sft:
    after: pretrain
    # the demo's folder itself is the SFT run, so --model OUT is the chat model
    config: ${flow({ ...s.sft, runDir: '..' })}
    eval: ${flow(s.sftEval)}
  # Alignment continues here once the reward-model and PPO stages land (src/train/reward.ts, ppo.ts):
  # rm:
  #   after: sft
  #   config: { from: \${sft.checkpoint}, data: builtin-pairs }
  #   eval: [pairs]
  # ppo:
  #   after: [sft, rm]
  #   gate: { stage: rm, suite: pairs, metric: accuracy, min: 0.6 }   # PPO starts only on a good enough RM
  #   config: { policy: \${sft.checkpoint}, reward: \${rm.checkpoint} }
  #   eval: [heldout, chat]
`;
}

/** Whether DIR holds only what a demo writes (so --fresh may remove it). */
function isDemoFolder(dir: string): boolean {
  if (existsSync(path.join(dir, 'pipeline', 'plan.yaml'))) return /^name: demo$/m.test(readFileSync(path.join(dir, 'pipeline', 'plan.yaml'), 'utf8'));
  return existsSync(path.join(dir, 'pretrain.json')) && existsSync(path.join(dir, 'data', 'index.json')); // the demo before it was a pipeline
}

function prepareFolder(runDir: string, fresh: boolean, log: (s: string) => void): void {
  if (existsSync(runDir) && readdirSync(runDir).length) {
    const ours = isDemoFolder(runDir);
    if (!ours) throw new Error(`hcx demo: ${runDir} is not empty and was not made by hcx demo; choose another --out`);
    const old = !existsSync(path.join(runDir, 'pipeline', 'plan.yaml'));
    if (old && !fresh) throw new Error(`hcx demo: ${runDir} was made by an earlier hcx demo (before the pipeline); rerun with --fresh to replace it`);
    if (fresh) {
      log(`removing ${runDir} (--fresh)`);
      rmSync(runDir, { recursive: true, force: true });
    }
  }
  mkdirSync(path.join(runDir, 'pipeline'), { recursive: true });
}

export async function runDemo(opts: DemoOptions = {}): Promise<DemoResult> {
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const runDir = path.resolve(opts.out ?? 'runs/demo');
  const rel = path.relative(process.cwd(), runDir) || '.';
  prepareFolder(runDir, !!opts.fresh, log);
  const planFile = path.join(runDir, 'pipeline', 'plan.yaml');
  const settings = opts.settings ?? demoSettings(opts.steps, opts.vocabSize, opts.sftSteps);
  writeFileAtomic(planFile, demoPlan(settings));
  const plan = await loadPlan(planFile);
  const t0 = Date.now();
  const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(0)}s]`;
  log(`${stamp()} hcx demo: pipeline ${path.relative(process.cwd(), planFile)} (store ${plan.store}): ${plan.stages.map((s) => s.name).join(' -> ')}, each checkpoint evaluated on a worker`);

  // Progress: a line when a stage changes state or a checkpoint's evaluations finish.
  const seen = new Map<string, string>();
  const onTick = (stages: StageStatus[]) => {
    for (const s of stages) {
      const line = `${s.state}${s.evals.total ? ` (evaluations ${s.evals.done}/${s.evals.total})` : ''}`;
      if (seen.get(s.name) === line) continue;
      seen.set(s.name, line);
      const summary = s.state === 'done' ? Object.entries(s.output?.summary ?? {}).filter(([, v]) => typeof v === 'number').map(([k, v]) => `${k} ${Number.isInteger(v) ? v : (v as number).toFixed(3)}`).join(', ') : '';
      log(`${stamp()} ${s.name}: ${line}${summary ? `: ${summary}` : ''}${s.state === 'failed' ? `: ${s.reason}` : ''}`);
    }
  };
  const store = await openStore(plan.store);
  let stages: StageStatus[], ok: boolean, results;
  try {
    ({ stages, ok } = await runPipeline(plan, { store, evalWorkers: settings.evalWorkers, onTick, log: () => {} }));
    results = (await readStatus(store)).results;
  } finally {
    await store.close();
  }
  log('');
  log(stageTable(stages));
  log('');
  log(resultsTable(results));
  const failed = stages.filter((s) => s.state === 'failed');
  if (!ok || failed.length) {
    for (const s of failed) log(`\nstage ${s.name} failed: ${s.error ?? s.reason}`);
    throw new Error(`hcx demo: the pipeline did not finish (${failed.map((s) => s.name).join(', ') || 'blocked'}); logs in ${path.join(plan.dir, 'logs')}; npx hcx pipeline status ${planFile}`);
  }

  // The SFT'd model's chat replies: the chat suite's, computed by the evaluation worker on the final checkpoint.
  const sft = stages.find((s) => s.name === 'sft')!;
  const ck = sft.output!.checkpoint!;
  let replies: DemoResult['replies'];
  const attached = readResult(ck, 'chat');
  if (attached?.samples) replies = (attached.samples as unknown as DemoResult['replies']);
  else {
    const { loadModel } = await import('./model/checkpoint.js');
    const { Tokenizer } = await import('./tokenizer/index.js');
    const model = loadModel(ck), tok = Tokenizer.load(path.join(runDir, 'tokenizer.json'));
    replies = [];
    for (const p of CHAT_PROMPTS) replies.push({ lang: p.lang, ...(await chatReply(model, tok, p.prompt)) });
  }
  log('\nchat with the SFT model (greedy):');
  for (const r of replies) log(`  user: ${r.prompt}\n  assistant: ${r.text}${r.stopped ? '<|endofturn|>' : ' [no turn end]'}${replyLanguage(r.text) === r.lang ? '' : ' [other language]'}`);
  log(`\n${stamp()} done.
  model (SFT'd, chat):  ${rel}   npx hcx chat --model ${rel}   |   npx hcx serve --model ${rel}
  pipeline:             ${path.relative(process.cwd(), planFile)}   npx hcx pipeline status ${path.relative(process.cwd(), planFile)}
  dashboard:            npx hcx dashboard ${path.relative(process.cwd(), planFile)}
  TensorBoard:          tensorboard --logdir ${rel}   (sft: ${rel}/tb, pretrain: ${rel}/pipeline/pretrain/tb)
  loss curves:          ${rel}/loss.svg, ${rel}/pipeline/pretrain/loss.svg; data report ${rel}/pipeline/data/report.md`);
  return { runDir, plan: planFile, ok, stages, replies };
}

// The main job as an event-driven pipeline on the embedded default data (no download, no Redis: the
// SQLite store): train the tokenizer, build the data (filters, PII scrubbing, dedup, mixture, FIM,
// packing into two context phases), pretrain a small HCX-style model, SFT it on the built-in
// Korean/English chat set, train a reward model on Korean preference pairs built from that set, and,
// once the reward model's held-out pair accuracy passes the gate, run a few PPO iterations against it;
// every checkpoint is evaluated asynchronously by an evaluation worker while training goes on. Stage
// keys make a rerun of a finished demo do nothing.
//
// Layout of OUT (default runs/demo): OUT itself is the sft stage's run folder, so the chat model is what
// `--model OUT` opens everywhere (generate, chat, serve, eval, export); OUT/pipeline/ holds the plan,
// the store, the logs and the other stages' folders (tokenizer/, data/, pretrain/, rm/, ppo/). The PPO
// policy, a few iterations from the SFT model, is OUT/pipeline/ppo (its best checkpoint is printed).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { chatReply, CHAT_PROMPTS, replyLanguage } from './pipeline/eval_suites.js';
import { loadPlan } from './pipeline/plan.js';
import { runPipeline, type StageStatus } from './pipeline/orchestrator.js';
import { readResult, type EvalResult } from './pipeline/results.js';
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
  /** The reward model (data: builtin Korean pairs) and PPO (prompts: builtin) stages. */
  rm: Record<string, unknown>;
  ppo: Record<string, unknown>;
  /** PPO starts only when the RM's final checkpoint has at least this held-out pair accuracy. */
  rmGate: number;
  /** Evaluation suites run on each checkpoint of the stage. */
  pretrainEval: string[];
  sftEval: string[];
  rmEval: string[];
  ppoEval: string[];
  evalWorkers: number;
}

export function demoSettings(steps = 600, vocabSize = 4096, sftSteps = 150, ppoIterations = 4): DemoSettings {
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
    // one epoch over the pairs of 200 Korean questions (600 pairs, 10% held out)
    rm: {
      data: 'builtin', questions: 200, seqLen: 256, heldout: 0.1, batchSize: 8, lr: 1e-3, warmupSteps: 5,
      evalEvery: 25, evalBatches: 2, saveEvery: 25, logEvery: 5, normSamples: 32, normMaxNewTokens: 48,
    },
    ppo: {
      prompts: 'builtin', promptCount: 96, heldout: 8, iterations: ppoIterations, promptsPerIteration: 8, samplesPerPrompt: 2,
      maxNewTokens: 40, miniBatchSize: 8, epochs: 2, batchSize: 8, lr: 1e-5, evalEvery: Math.max(1, Math.floor(ppoIterations / 2)), seed: 1,
    },
    rmGate: 0.6,
    pretrainEval: ['heldout', 'generate'],
    sftEval: ['heldout', 'chat'],
    rmEval: ['pairs'],
    ppoEval: ['ppo', 'chat'],
    evalWorkers: 1,
  };
}

export interface DemoOptions {
  /** Run folder (default runs/demo). */
  out?: string;
  steps?: number;
  vocabSize?: number;
  sftSteps?: number;
  ppoIterations?: number;
  /** The whole plan's settings (tests); overrides steps, vocabSize, sftSteps and ppoIterations. */
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
  /** The PPO policy's final (best) checkpoint, when the gate let PPO run. */
  ppoCheckpoint?: string;
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
  rm:
    after: sft
    # from: the sft stage's final checkpoint; data: builtin = Korean pairs (language, repetition, padding)
    config: ${flow(s.rm)}
    eval: ${flow(s.rmEval)}
  ppo:
    after: [sft, rm]
    # PPO starts only on a good enough reward model; policy and reward come from the sft and rm stages
    gate: ${flow({ stage: 'rm', suite: 'pairs', metric: 'accuracy', min: s.rmGate })}
    config: ${flow(s.ppo)}
    eval: ${flow(s.ppoEval)}
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
  const settings = opts.settings ?? demoSettings(opts.steps, opts.vocabSize, opts.sftSteps, opts.ppoIterations);
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
  const ppoCheckpoint = alignmentSummary(stages, results, settings, log);
  const ppoRel = ppoCheckpoint ? path.relative(process.cwd(), ppoCheckpoint) : undefined;
  log(`\n${stamp()} done.
  model (SFT'd, chat):  ${rel}   npx hcx chat --model ${rel}   |   npx hcx serve --model ${rel}${ppoRel ? `
  PPO policy:           ${ppoRel}   npx hcx chat --model ${ppoRel}` : ''}
  pipeline:             ${path.relative(process.cwd(), planFile)}   npx hcx pipeline status ${path.relative(process.cwd(), planFile)}
  dashboard:            npx hcx dashboard ${path.relative(process.cwd(), planFile)}
  TensorBoard:          tensorboard --logdir ${rel}   (sft: ${rel}/tb, pretrain, rm, ppo: ${rel}/pipeline/STAGE/tb)
  loss curves:          ${rel}/loss.svg, ${rel}/pipeline/{pretrain,rm}/loss.svg, ${rel}/pipeline/ppo/plots/; data report ${rel}/pipeline/data/report.md`);
  return { runDir, plan: planFile, ok, stages, replies, ...(ppoCheckpoint ? { ppoCheckpoint } : {}) };
}

const f3 = (v: unknown): string => (typeof v === 'number' ? v.toFixed(3) : String(v));

/** The reward model's and PPO's figures (the trainers' and the evaluation suites'); returns the PPO policy's checkpoint. */
function alignmentSummary(stages: StageStatus[], results: EvalResult[], s: DemoSettings, log: (l: string) => void): string | undefined {
  const rm = stages.find((x) => x.name === 'rm'), ppo = stages.find((x) => x.name === 'ppo');
  if (!rm?.output || !ppo) return undefined;
  const r = rm.output.summary ?? {};
  log(`\nreward model: held-out pair accuracy ${f3(r.accuracy)}, margin ${f3(r.margin)} (${r.heldout_pairs} pairs, ${r.steps} steps); PPO gate accuracy >= ${s.rmGate}: ${ppo.state === 'blocked' ? 'not passed' : 'passed'}`);
  if (ppo.state !== 'done' || !ppo.output) {
    log(`PPO: not run (${ppo.reason ?? ppo.state})`);
    return undefined;
  }
  const p = ppo.output.summary ?? {};
  const suite = results.filter((x) => x.stage === 'ppo' && x.suite === 'ppo').sort((a, b) => a.step - b.step);
  const first = suite[0], last = suite[suite.length - 1];
  log(`PPO: ${p.iterations} iterations, rollout reward ${f3(p.first_reward)} -> ${f3(p.reward)}, KL ${f3(p.kl)}, response length ${f3(p.response_len)} tokens${p.stop ? `; stopped early: ${p.stop}` : ''}`);
  if (first && last) log(`PPO held-out (ppo suite, greedy): reward ${f3(first.metrics.reward)} at iteration ${first.step} (the SFT model) -> ${f3(last.metrics.reward)} at ${last.step}; length ${f3(first.metrics.response_len)} -> ${f3(last.metrics.response_len)}; best checkpoint: iteration ${p.best_iteration}`);
  return ppo.output.checkpoint;
}

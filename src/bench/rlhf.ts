// `hcx bench rlhf`: the RLHF stage's speed on one random-initialised policy (src/bench/rlhf_setup.ts), four
// measurements, peers in the same run:
//   1. rollout tokens/s, PPO's continuous batching through the serving engine against a static padded batch
//      loop, prompts of spread lengths (1-8 joined questions) and responses of spread lengths (a stop set,
//      src/bench/rlhf_rollout.ts);
//   2. the share of a PPO iteration spent in rollout (`hcx ppo`'s own rollout / score / train seconds);
//   3. PPO seconds per prompt against SFT seconds per example, same model and records;
//   4. hcx PPO against TRL's PPO (its PPOTrainer's pieces: trl 1.13 ships no PPOTrainer) on torch 2.13 CPU,
//      same weights, reward head and prompt ids (src/bench/rlhf_runs.ts, scripts/bench/trl_ppo_bench.py).
// Medians over --repeat timed runs (iterations) after one warm-up.
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defineCommand, type OptionTable, type Values } from '../cli/args.js';
import { hcxTemplate } from '../data/chat/template.js';
import { loadModel } from '../model/checkpoint.js';
import { setThreads } from '../native/index.js';
import { loadPrompts } from '../train/prompts.js';
import { rolloutRows, stopSet } from './rlhf_rollout.js';
import { hcxPpo, hcxSft, trlPpo } from './rlhf_runs.js';
import { rlhfSet, SIZES, type Size } from './rlhf_setup.js';
import { table } from './stats.js';
import { dpoPeer } from './dpo_peer.js';

export interface RlhfRow {
  system: string; case: string; tokens_per_s?: number; seconds: number;
  rollout_s?: number; score_s?: number; train_s?: number; rollout_share?: number; response_len?: number; note?: string; [k: string]: unknown;
}

const ROW_LEN = 512;

const options = {
  json: { type: 'boolean', description: 'print one JSON document' },
  threads: { type: 'number', integer: true, min: 1, default: 2, description: 'threads for hcx and torch' },
  size: { type: 'string', choices: Object.keys(SIZES), default: 'small', description: 'model size (tiny: d 64, 2 layers; small: d 128, 4 layers)' },
  repeat: { type: 'number', integer: true, min: 1, default: 3, description: 'timed runs (rollout) and PPO iterations per case, after one warm-up' },
  prompts: { type: 'number', integer: true, min: 1, default: 64, description: 'rollout prompts per run (row 1)' },
  batch: { type: 'number', integer: true, min: 1, default: 16, description: 'rollout batch: static batch size and the engine\'s running sequences' },
  'mean-len': { type: 'number', integer: true, min: 1, default: 32, description: 'rollout: mean response length the stop set aims at' },
  'max-new': { type: 'number', integer: true, min: 1, default: 128, description: 'rollout: new tokens at most per response' },
  'ppo-prompts': { type: 'number', integer: true, min: 1, default: 16, description: 'PPO: prompts per iteration (one sample each, one minibatch)' },
  'ppo-new': { type: 'number', integer: true, min: 1, default: 48, description: 'PPO: new tokens at most per response (also the SFT answers\' length)' },
  epochs: { type: 'number', integer: true, min: 1, default: 4, description: 'PPO epochs per iteration (hcx ppo and TRL default 4)' },
  'sft-steps': { type: 'number', integer: true, min: 1, default: 4, description: 'SFT timed steps (4 packed rows of 512 each)' },
  systems: { type: 'string', default: 'hcx,trl,dpo', description: 'comma list of hcx, trl (PPO rows), dpo (hcx dpo vs TRL DPOTrainer)' },
  'dpo-steps': { type: 'number', integer: true, min: 1, default: 40, description: 'DPO: timed steps per system (after 2 warm-up steps; fewer leave hcx mostly in JIT warm-up)' },
  dir: { type: 'string', placeholder: 'DIR', description: 'work folder (default: a folder under the system temp)' },
} as const satisfies OptionTable;

export const command = defineCommand({ summary: 'RLHF: rollout continuous vs static batching, PPO time split, PPO vs SFT, hcx PPO vs TRL PPO', options, run });

const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && a > 0 && b > 0 ? a / b : null);

/** The ratios the issue asks for (null where a side was not measured). */
export function rlhfRatios(rows: RlhfRow[]) {
  const get = (system: string, c: string) => rows.find((r) => r.system === system && r.case === c && Number.isFinite(r.seconds));
  return {
    continuous_vs_static: ratio(get('hcx-continuous', 'rollout')?.tokens_per_s, get('hcx-static-padded', 'rollout')?.tokens_per_s),
    rollout_share: get('hcx', 'ppo-iteration')?.rollout_share ?? null,
    ppo_prompt_vs_sft_example: ratio(get('hcx', 'ppo-per-prompt')?.seconds, get('hcx', 'sft-per-example')?.seconds),
    hcx_vs_trl_ppo: ratio(get('trl-ppo-pieces', 'ppo-iteration')?.seconds, get('hcx', 'ppo-iteration')?.seconds),
    hcx_vs_trl_dpo: ratio(get('hcx', 'dpo-step')?.tokens_per_s, get('trl-dpo', 'dpo-step')?.tokens_per_s),
  };
}

async function run(o: Values<typeof options>): Promise<void> {
  const systems = new Set(o.systems.split(','));
  for (const s of systems) if (s !== 'hcx' && s !== 'trl' && s !== 'dpo') throw new Error(`--systems: unknown system "${s}" (hcx, trl, dpo)`);
  const log = (s: string) => { if (!o.json) process.stderr.write(s + '\n'); };
  setThreads(o.threads);
  const dir = path.resolve(o.dir ?? path.join(tmpdir(), 'hcx-bench-rlhf'));
  const maxNew = o.maxNew, ppoNew = o.ppoNew;
  const set = await rlhfSet(dir, o.size as Size, Math.max(o.prompts, o.ppoPrompts * (1 + o.repeat)), ppoNew);
  const rows: RlhfRow[] = [];
  const add = (r: RlhfRow) => { rows.push(r); log(`  ${r.system} ${r.case}: ${r.seconds.toFixed(3)} s${r.tokens_per_s !== undefined ? `, ${Math.round(r.tokens_per_s)} tokens/s` : ''}${r.note ? ` (${r.note})` : ''}`); };
  const ppo = { prompts: o.ppoPrompts, maxNew: ppoNew, epochs: o.epochs, repeat: o.repeat, threads: o.threads, rowLen: ROW_LEN };
  let stopIds = 0;
  if (systems.has('hcx')) {
    // 1. rollout: continuous batching against a static padded batch loop
    const read = await loadPrompts([set.prompts], 'auto', hcxTemplate(set.tok), ROW_LEN - maxNew);
    const prompts = read.items.slice(0, o.prompts).map((p) => p.ids);
    const stop = stopSet(set.config.vocabSize, Math.min(...set.tok.specialTokens.keys()), o.meanLen);
    stopIds = stop.length;
    const policy = loadModel(set.source);
    for (const r of await rolloutRows(policy, prompts, set.tok.special.pad, stop, { batch: o.batch, meanLen: o.meanLen, maxTokens: maxNew, repeat: o.repeat, seed: 1 })) {
      const { system, tokens_per_s, seconds, ...rest } = r;
      add({ system, case: 'rollout', tokens_per_s, seconds, ...rest });
    }
    // 2. PPO's time split, 3. per prompt against SFT per example
    const p = await hcxPpo(set, dir, ppo);
    add({ system: 'hcx', case: 'ppo-iteration', ...p, seconds: p.iteration_s });
    add({ system: 'hcx', case: 'ppo-per-prompt', seconds: p.iteration_s / o.ppoPrompts });
    const s = await hcxSft(set, dir, o.sftSteps, ROW_LEN);
    add({ system: 'hcx', case: 'sft-per-example', seconds: s.example_s, tokens_per_s: s.tokens_per_s, examples: s.examples });
  }
  if (systems.has('trl')) {
    // 4. TRL's PPO pieces on the same weights and prompts
    const t = await trlPpo(set, dir, ppo);
    if ('error' in t) add({ system: 'trl-ppo-pieces', case: 'ppo-iteration', seconds: NaN, note: `failed: ${t.error.slice(0, 160)}` });
    else {
      add({ system: 'trl-ppo-pieces', case: 'ppo-iteration', ...t, seconds: t.iteration_s, note: `torch ${t.torch}, trl ${t.trl}` });
      add({ system: 'trl-ppo-pieces', case: 'ppo-per-prompt', seconds: t.iteration_s / o.ppoPrompts });
    }
  }
  if (systems.has('dpo')) {
    // 5. hcx dpo against TRL's DPOTrainer: the tiny test-preset model, the same token rows in the same order
    for (const r of await dpoPeer({ dir: path.join(dir, 'dpo'), steps: o.dpoSteps, warmup: 2 })) {
      const system = r.system === 'hcx dpo' ? 'hcx' : 'trl-dpo';
      if (r.error) add({ system, case: 'dpo-step', seconds: NaN, note: `failed: ${r.error.slice(0, 160)}` });
      else add({ system, case: 'dpo-step', seconds: r.step_s, tokens_per_s: r.tokens_per_s, steps: r.steps, reference_s: r.reference_s, ...(system === 'trl-dpo' ? { note: 'TRL DPOTrainer, torch 2.13' } : {}) });
    }
  }
  const ratios = rlhfRatios(rows);
  const meta = {
    model: { size: o.size, ...SIZES[o.size as Size], vocabSize: set.config.vocabSize, params: set.params }, threads: o.threads, repeat: o.repeat,
    rollout: { prompts: o.prompts, batch: o.batch, mean_len_target: o.meanLen, max_new: maxNew, stop_ids: stopIds },
    ppo: { prompts_per_iteration: o.ppoPrompts, samples_per_prompt: 1, max_new: ppoNew, epochs: o.epochs, row_len: ROW_LEN },
    sft: { timed_steps: o.sftSteps, rows_per_step: 4, row_len: ROW_LEN },
  };
  if (o.json) {
    console.log(JSON.stringify({ ...meta, rows, ...ratios }, null, 2));
    return;
  }
  console.log(`RLHF speed, random-initialised ${o.size} policy (${(set.params / 1e6).toFixed(2)}M), ${o.threads} threads, medians of ${o.repeat} after one warm-up`);
  const n = (x: unknown) => (typeof x === 'number' ? x : '');
  console.log(table(['system', 'case', 'tokens/s', 'seconds', 'rollout s', 'score s', 'train s', 'rollout %', 'mean resp', 'max resp', 'note'], rows.map((r) => [
    r.system, r.case, n(r.tokens_per_s), r.seconds, n(r.rollout_s), n(r.score_s), n(r.train_s), r.rollout_share !== undefined ? r.rollout_share * 100 : '',
    n(r.mean_response ?? r.response_len), n(r.max_response), r.note ?? ''])));
  const f = (x: number | null) => (x === null || !Number.isFinite(x) ? 'n/a' : x.toFixed(2) + 'x');
  console.log(`rollout continuous / static padded: ${f(ratios.continuous_vs_static)} (goal 1.5x); rollout share of a PPO iteration: ${ratios.rollout_share === null ? 'n/a' : (ratios.rollout_share * 100).toFixed(0) + '%'}`);
  if (systems.has('trl')) console.log('trl-ppo-pieces: TRL 1.13 ships no PPOTrainer; one PPOTrainer iteration from its pieces (trl/experimental/ppo/ppo_trainer.py, scripts/bench/trl_ppo_bench.py).');
  console.log(`PPO per prompt / SFT per example: ${f(ratios.ppo_prompt_vs_sft_example)} (the report: about 4x); hcx PPO / TRL PPO pieces (speed): ${f(ratios.hcx_vs_trl_ppo)}`);
  if (systems.has('dpo')) console.log(`hcx DPO / TRL DPOTrainer (tokens/s, tiny test model): ${f(ratios.hcx_vs_trl_dpo)} (goal 3x)`);
}

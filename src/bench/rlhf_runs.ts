// Rows 2-4 of `hcx bench rlhf`: `hcx ppo` itself (src/train/ppo.ts run()) on the bench set, its per-iteration
// rollout / score / train seconds; `hcx sft` on the same model and records (the reference answers as the
// assistant turns) for seconds per example; and the TRL peer (scripts/bench/trl_ppo_bench.py) on the same
// Hugging Face export, reward head and prompt ids. One PPO iteration: P prompts, one sample each, up to M new
// tokens, one minibatch of all P sequences, `epochs` optimizer steps; every epoch runs (target KL out of reach).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hcxTemplate } from '../data/chat/template.js';
import { loadPrompts } from '../train/prompts.js';
import type { RlhfSet } from './rlhf_setup.js';
import { venvPython } from './sft_workers.js';
import { median } from './stats.js';

export interface PpoCase { prompts: number; maxNew: number; epochs: number; repeat: number; threads: number; rowLen: number }

/** Median seconds of one iteration's phases over the timed iterations (after one warm-up iteration). */
export interface PpoTimes { iteration_s: number; rollout_s: number; score_s: number; train_s: number; rollout_share: number; iterations: number; response_len: number }

const LR = 1e-5, KL_COEF = 0.04;

function summarise(its: { rollout_s: number; score_s: number; train_s: number; response_len: number }[]): PpoTimes {
  const timed = its.slice(1);
  const tot = timed.map((m) => m.rollout_s + m.score_s + m.train_s);
  return {
    iteration_s: median(tot), rollout_s: median(timed.map((m) => m.rollout_s)), score_s: median(timed.map((m) => m.score_s)), train_s: median(timed.map((m) => m.train_s)),
    rollout_share: median(timed.map((m, i) => m.rollout_s / tot[i])), iterations: timed.length, response_len: median(timed.map((m) => m.response_len)),
  };
}

export async function hcxPpo(set: RlhfSet, dir: string, c: PpoCase): Promise<PpoTimes> {
  const { run } = await import('../train/ppo.js');
  const runDir = path.join(dir, `ppo-run-${process.pid}`);
  rmSync(runDir, { recursive: true, force: true });
  try {
    const r = await run({
      policy: set.source, reward: set.rm, prompts: [set.prompts], runDir, promptsPerIteration: c.prompts, samplesPerPrompt: 1, maxNewTokens: c.maxNew,
      temperature: 1, rowLen: c.rowLen, miniBatchSize: c.prompts, epochs: c.epochs, iterations: 1 + c.repeat, maxRunning: c.prompts, maxTokensPerStep: 1024,
      heldout: 0, evalEvery: 0, logEvery: 1000, rewardNorm: { mean: 0, std: 1 }, targetKl: 1e9, maxRatio: 1e9, klCoef: KL_COEF, batchSize: c.prompts, lr: LR, seed: 1,
    }, { quiet: true });
    return summarise(r.metrics);
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
}

/** `hcx sft` on the same records: seconds per example over the timed steps (after one warm-up step). */
export async function hcxSft(set: RlhfSet, dir: string, steps: number, rowLen: number): Promise<{ example_s: number; tokens_per_s: number; examples: number }> {
  const { sft } = await import('../train/sft.js');
  const { parseSftConfig } = await import('../train/sft_config.js');
  const runDir = path.join(dir, `sft-run-${process.pid}`);
  rmSync(runDir, { recursive: true, force: true });
  try {
    const cfg = parseSftConfig({
      from: set.source, data: [set.prompts], runDir, seqLen: rowLen, packing: 'bfd', steps: steps + 1, batchSize: 4, lr: LR, warmupSteps: 0, heldout: 0,
      evalEvery: 0, saveEvery: 0, keepCheckpoints: 1, computeDtype: 'f32', seed: 1,
    }, 'bench rlhf', undefined, 'none', { maxSeqLen: rowLen }).cfg;
    const m = (await sft(cfg, { quiet: true })).metrics;
    const timed = m.slice(1), tokens = m[m.length - 1].tokens - m[0].tokens;
    const seconds = timed.reduce((a, x, i) => a + (x.tokens - m[i].tokens) / x.tokens_per_s, 0);
    // Packed rows hold whole conversations: examples = tokens / mean conversation length.
    const lines = readFileSync(set.prompts, 'utf8').split('\n').filter(Boolean);
    const mean = lines.reduce((a, l) => a + set.tok.renderChat(JSON.parse(l).messages).length, 0) / lines.length;
    const examples = tokens / mean;
    return { example_s: seconds / examples, tokens_per_s: tokens / seconds, examples };
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
}

export type PeerTimes = (PpoTimes & { torch: string; trl: string }) | { error: string };

/** The TRL PPO pieces in the venv, on the same weights and the same prompt ids hcx's run takes (in order). */
export async function trlPpo(set: RlhfSet, dir: string, c: PpoCase): Promise<PeerTimes> {
  const py = venvPython();
  if (!existsSync(py)) return { error: `no Python venv at ${py} (sh scripts/python-venv.sh)` };
  const { shuffled } = await import('../data/chat/dataset.js');
  const read = await loadPrompts([set.prompts], 'auto', hcxTemplate(set.tok), c.rowLen - c.maxNew);
  // hcx ppo takes prompts in shuffled(n, seed 1) order; the peer gets the same ones, in the same batches.
  const order = shuffled(read.items.length, 1);
  const ids = Array.from({ length: (1 + c.repeat) * c.prompts }, (_, i) => read.items[order[i % order.length]].ids);
  const settings = path.join(dir, 'trl-ppo.json');
  writeFileSync(settings, JSON.stringify({
    hf: set.hf, rm_head: set.rmHead, prompts: ids, batch: c.prompts, max_new: c.maxNew, epochs: c.epochs, iterations: 1 + c.repeat, threads: c.threads,
    lr: LR, kl_coef: KL_COEF, gamma: 1, lam: 0.95, cliprange: 0.2, cliprange_value: 0.2, vf_coef: 0.1, temperature: 1,
    pad: set.tok.special.pad, stop: set.tok.special.endofturn,
  }));
  const script = fileURLToPath(new URL('../../../scripts/bench/trl_ppo_bench.py', import.meta.url));
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(c.threads), TOKENIZERS_PARALLELISM: 'false', OMP_WAIT_POLICY: 'PASSIVE' };
  // This machine pins old OpenBLAS settings that slow torch (src/bench/torch_peer.ts says why).
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync(py, [script, settings], { encoding: 'utf8', env, maxBuffer: 1 << 24, timeout: 1_800_000 });
  if (r.status !== 0) return { error: (r.stderr || `exit ${r.status ?? r.signal}`).trim().split('\n').slice(-2).join(' ') };
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) return { error: 'the TRL peer printed no result' };
  const j = JSON.parse(line) as { iterations: { rollout_s: number; score_s: number; train_s: number; response_len: number }[]; torch: string; trl: string };
  return { ...summarise(j.iterations), torch: j.torch, trl: j.trl };
}

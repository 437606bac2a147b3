// PPO's run-level early stop (the report's guard against overfitting prompts of one length or format):
// every few iterations the policy answers the held-out prompts greedily, the reward model scores the
// answers, and the run stops, keeping its best checkpoint, when the held-out reward has not improved for
// `patience` evaluations or the mean response length has grown past `maxLengthGrowth`% of the SFT
// model's. The reason is logged and recorded.
import type { Engine } from '../serve/engine.js';
import type { ScoreModel } from '../model/score_head.js';
import { packInBatches, sequenceScores } from './rollout_batch.js';
import { rollout } from './rollout.js';
import { repeatedNgramShare } from './ppo_losses.js';
import { readResult } from '../pipeline/results.js';

export interface HeldoutResult { reward: number; length: number; eosFraction: number; rep4: number }

/** Greedy answers to the held-out prompts, scored: mean normalised reward (with the missing-turn-end penalty), length, ... */
export async function heldoutEval(engine: Engine, rm: ScoreModel, prompts: readonly (readonly number[])[],
  o: { maxTokens: number; stopTokens: number[]; rowLen: number; batchRows: number; pad: number; normalise: (s: number) => number; missingEosPenalty: number }): Promise<HeldoutResult> {
  const { samples } = await rollout(engine, prompts, { n: 1, temperature: 0, maxTokens: o.maxTokens, stopTokens: o.stopTokens, seed: 0 });
  const scores = new Float32Array(samples.length);
  for (const b of packInBatches(samples, samples.map((_, i) => i), o.rowLen, o.batchRows, o.pad)) {
    const s = sequenceScores(rm, b);
    b.members.forEach((m, k) => { scores[m] = o.normalise(s[k]) - (samples[m].ended ? 0 : o.missingEosPenalty); });
  }
  const n = samples.length || 1;
  return {
    reward: scores.reduce((a, b) => a + b, 0) / n,
    length: samples.reduce((a, s) => a + s.response.length, 0) / n,
    eosFraction: samples.filter((s) => s.ended).length / n,
    rep4: samples.reduce((a, s) => a + repeatedNgramShare(s.response), 0) / n,
  };
}

export interface StopperState { best: RunStopper['best']; sinceBest: number; baseLength: number | null }

/** Tracks held-out evaluations: the best one and whether (and why) the run should stop. */
export class RunStopper {
  best: { iteration: number; reward: number; checkpoint: string } | null = null;
  private sinceBest = 0;
  private baseLength: number | null = null;

  constructor(readonly patience: number, readonly maxLengthGrowth: number) {}

  /** What a checkpoint stores so a resumed run stops where this one would. */
  snapshot(): StopperState {
    return { best: this.best && { ...this.best }, sinceBest: this.sinceBest, baseLength: this.baseLength };
  }

  restore(s: StopperState): void {
    this.best = s.best && { ...s.best };
    this.sinceBest = s.sinceBest;
    this.baseLength = s.baseLength;
  }

  /** Records an evaluation (the first is the SFT model's); returns why to stop, or null. */
  record(iteration: number, r: HeldoutResult, checkpoint: string): string | null {
    if (this.baseLength === null) this.baseLength = r.length;
    const limit = this.baseLength * (1 + this.maxLengthGrowth / 100);
    // A checkpoint whose replies grew past the limit is what the stop guards against: never the best.
    if (iteration > 0 && r.length > limit) {
      return `mean held-out response length ${r.length.toFixed(1)} tokens exceeds ${(100 + this.maxLengthGrowth).toFixed(0)}% of the SFT model's ${this.baseLength.toFixed(1)} (limit ${limit.toFixed(1)})`;
    }
    if (!this.best || r.reward > this.best.reward) {
      this.best = { iteration, reward: r.reward, checkpoint };
      this.sinceBest = 0;
    } else this.sinceBest++;
    if (this.sinceBest >= this.patience) {
      return `held-out reward has not improved for ${this.sinceBest} evaluations (best ${this.best.reward.toFixed(4)} at iteration ${this.best.iteration}, now ${r.reward.toFixed(4)})`;
    }
    return null;
  }
}

/**
 * heldoutEval "pipeline": the held-out scores come from the pipeline's eval workers, which run the `ppo`
 * suite (src/pipeline/align_suites.ts) on each checkpoint the run saves and attach the result to it
 * (CHECKPOINT/eval/ppo.json). The trainer does not wait for them: after each iteration it takes the results
 * that have arrived, oldest checkpoint first, and stops at the first one still out so the early stop sees
 * its evaluations in order, as inline.
 */
export class PipelineHeldout {
  private pending: { iteration: number; checkpoint: string }[] = [];
  /** The iteration of the last result taken (-1: none yet); a checkpoint stores it for --resume. */
  lastTaken = -1;

  expect(iteration: number, checkpoint: string): void {
    this.pending.push({ iteration, checkpoint });
  }

  get waiting(): number {
    return this.pending.length;
  }

  take(): { iteration: number; checkpoint: string; result: HeldoutResult }[] {
    const out: { iteration: number; checkpoint: string; result: HeldoutResult }[] = [];
    while (this.pending.length) {
      const p = this.pending[0];
      const r = readResult(p.checkpoint, 'ppo');
      if (!r) break;
      const m = r.metrics;
      out.push({ ...p, result: { reward: m.reward, length: m.response_len, eosFraction: m.eos_fraction, rep4: m.rep4 } });
      this.lastTaken = p.iteration;
      this.pending.shift();
    }
    return out;
  }
}

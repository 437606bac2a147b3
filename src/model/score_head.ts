// A scalar score head on a decoder: the reward model of RLHF and PPO's value network. The Transformer's
// final hidden state (after the last RMSNorm) at the last non-pad token of each sequence goes through
// Linear(d, 1), initialised N(0, 1/(d+1)) as InstructGPT and TRL do, bias zero. Rows may be padded (one
// sequence per row, right padding) or packed (several sequences per row, told apart by segment ids).
//
// On disk a score model is an ordinary hcx checkpoint (src/model/checkpoint.ts) whose model.safetensors
// also holds `score.weight` [1, d] and `score.bias` [1], and whose config.json says "head": "score", so
// every tool that reads checkpoints still finds the backbone, and openScoreModel(dir) finds the head.
import type { CheckpointContents } from './checkpoint.js';
import { checkpointHead, decodeCheckpointTensors, resolveCheckpoint, checkpointModelConfig, saveCheckpoint, tensorSource } from './checkpoint.js';
import { F, Rng, type Tensor, fromData, noGrad, parameter } from '../tensor/index.js';
import { Transformer, type ForwardOptions } from './transformer.js';
import { weightFloats } from './weights.js';

export const SCORE_WEIGHT = 'score.weight';
export const SCORE_BIAS = 'score.bias';

export interface ScoreOptions {
  /** Packed rows: the sequence of every token within its row ([B*T]); a run of pad ids is padding. */
  segmentIds?: Int32Array;
  /** Token positions [B*T] (default 0.. per row, or restarting per segment). */
  positions?: Int32Array;
  /** Pad id: trailing pads (padded rows) or all-pad segments (packed rows) hold no sequence. */
  pad?: number;
  /** Where each sequence ends, as flat indices into [B*T]; default found from pad / segmentIds. */
  ends?: Int32Array;
}

/**
 * Flat indices [0, B*T) of the last non-pad token of every sequence: one per row for padded rows (a row
 * of nothing but pads is an error), or one per segment holding a non-pad token for packed rows, in order.
 */
export function sequenceEnds(ids: Int32Array, B: number, T: number, pad: number | undefined, segmentIds?: Int32Array): Int32Array {
  const ends: number[] = [];
  for (let b = 0; b < B; b++) {
    const row = b * T;
    if (!segmentIds) {
      let j = T - 1;
      if (pad !== undefined) while (j >= 0 && ids[row + j] === pad) j--;
      if (j < 0) throw new Error(`score: row ${b} holds only padding`);
      ends.push(row + j);
      continue;
    }
    let last = -1;
    for (let j = 0; j < T; j++) {
      const i = row + j;
      if (ids[i] !== pad) last = i;
      const segEnds = j + 1 === T || segmentIds[i + 1] !== segmentIds[i];
      if (segEnds && last >= 0 && segmentIds[last] === segmentIds[i]) { ends.push(last); last = -1; }
    }
  }
  return Int32Array.from(ends);
}

export class ScoreModel {
  constructor(readonly model: Transformer, readonly weight: Tensor, readonly bias: Tensor) {
    const d = model.config.dModel;
    if (weight.shape.join(',') !== `1,${d}`) throw new Error(`score head: ${SCORE_WEIGHT} has shape [${weight.shape}], the model needs [1, ${d}]`);
    if (bias.shape.join(',') !== '1') throw new Error(`score head: ${SCORE_BIAS} has shape [${bias.shape}], needs [1]`);
  }

  /** Scores [N] of the N sequences in ids [B*T] (N = B for padded rows), recording a graph when enabled. */
  score(ids: Int32Array, B: number, T: number, opts: ScoreOptions = {}): Tensor {
    const ends = opts.ends ?? sequenceEnds(ids, B, T, opts.pad, opts.segmentIds);
    const fwd: ForwardOptions = { segmentIds: opts.segmentIds, positions: opts.positions };
    const h = this.model.hidden(ids, B, T, fwd);
    const d = this.model.config.dModel;
    // Picking rows of the flattened hidden states is an embedding lookup; its backward scatters into them.
    const last = F.embedding(F.reshape(h, [B * T, d]), ends, [ends.length]);
    return F.reshape(F.linear(last, this.weight, this.bias), [ends.length]);
  }

  /** The head at every position [B, T] (PPO's per-token values). */
  tokenScores(ids: Int32Array, B: number, T: number, opts: Omit<ScoreOptions, 'ends' | 'pad'> = {}): Tensor {
    const h = this.model.hidden(ids, B, T, { segmentIds: opts.segmentIds, positions: opts.positions });
    return F.reshape(F.linear(h, this.weight, this.bias), [B, T]);
  }

  /** score() without a graph, as plain numbers. */
  infer(ids: Int32Array, B: number, T: number, opts: ScoreOptions = {}): Float32Array {
    return noGrad(() => this.score(ids, B, T, opts)).data.slice();
  }

  /** Backbone and head parameters, head last. */
  parameters(): Tensor[] {
    return [...this.model.parameters(), this.weight, this.bias];
  }

  /** The head's two tensors by their checkpoint names. */
  headTensors(): [string, Tensor][] {
    return [[SCORE_WEIGHT, this.weight], [SCORE_BIAS, this.bias]];
  }

  /** What saveCheckpoint / Run.saveCheckpoint need to write this model: backbone, head and "head": "score". */
  checkpointParts(): Pick<CheckpointContents, 'model' | 'head' | 'weights'> {
    const tensors = [...this.model.params, ...this.headTensors()];
    return { model: this.model, head: 'score', weights: tensors.map(([n, t]) => [n, { dtype: 'F32', shape: [...t.shape], data: t.data }]) };
  }
}

/** A score head on `from` (the model itself, not a copy): weight N(0, 1/(d+1)) from `seed`, bias 0. */
export function initScoreModel(from: Transformer, seed = 1): ScoreModel {
  const d = from.config.dModel;
  const rng = new Rng(seed);
  const weight = parameter([1, d], (a) => rng.fillNormal(a, 1 / Math.sqrt(d + 1)), SCORE_WEIGHT);
  const bias = parameter([1], (a) => a.fill(0), SCORE_BIAS);
  return new ScoreModel(from, weight, bias);
}

/**
 * Writes runDir/checkpoints/step-N (atomic, checksummed) holding the backbone and the head; `rest` adds
 * the optimizer state, training config and extra files as for any checkpoint. Returns its path.
 */
export function saveScoreModel(runDir: string, sm: ScoreModel, rest: Omit<CheckpointContents, 'model' | 'head' | 'weights'> = { state: { step: 0, tokensSeen: 0 } }): string {
  return saveCheckpoint(runDir, { ...rest, ...sm.checkpointParts() });
}

/** Loads a score model from a checkpoint directory (or a run: its latest), checksums verified, NaN refused. */
export function openScoreModel(dir: string): ScoreModel {
  const ck = resolveCheckpoint(dir);
  if (checkpointHead(ck) !== 'score') throw new Error(`${ck}: not a score model (its config.json has no "head": "score"); train one with hcx rm`);
  const config = checkpointModelConfig(ck);
  const { tensors, file } = decodeCheckpointTensors(ck);
  const src = tensorSource(tensors, file);
  const model = Transformer.fromTensors(config, src);
  const head = (name: string, shape: number[]) => {
    const t = fromData(Float32Array.from(weightFloats(src(name, shape))), shape, true);
    t.name = name;
    return t;
  };
  return new ScoreModel(model, head(SCORE_WEIGHT, [1, config.dModel]), head(SCORE_BIAS, [1]));
}


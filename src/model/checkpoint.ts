// Checkpoints: a directory step-N/ holding model.safetensors, optimizer.safetensors and state.json
// (step, configs, data-loader position, RNG state). It is written as step-N.tmp-PID and renamed when
// complete, so a crash never leaves a half-written checkpoint and watchers react to the rename.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { OptimizerState } from '../tensor/index.js';
import { type ModelConfig, parseModelConfig } from './config.js';
import { loadSafetensors, saveSafetensors, toFloat32, writeFileAtomic, type StTensor } from './safetensors.js';
import { Transformer } from './transformer.js';
import { crashPoint } from '../util/crash.js';

export interface TrainState {
  step: number;
  tokensSeen: number;
  /** The data loader's JSON-serialisable position. */
  loader?: unknown;
  rng?: number[];
  [key: string]: unknown;
}

export interface CheckpointContents {
  model: Transformer;
  optimizer?: OptimizerState;
  state: TrainState;
  trainConfig?: unknown;
}

export function modelTensors(model: Transformer): [string, StTensor][] {
  return [...model.params].map(([name, t]) => [name, { dtype: 'F32', shape: [...t.shape], data: t.data }]);
}

/** Writes dir/step-N atomically and returns its path. */
export function saveCheckpoint(runDir: string, c: CheckpointContents): string {
  const ckDir = path.join(runDir, 'checkpoints');
  mkdirSync(ckDir, { recursive: true });
  const final = path.join(ckDir, `step-${c.state.step}`);
  const tmp = `${final}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  saveSafetensors(path.join(tmp, 'model.safetensors'), modelTensors(c.model), { format: 'pt', hcx_config: JSON.stringify(c.model.config) });
  crashPoint('checkpoint.write'); // fault tests: a kill while the checkpoint is being written
  if (c.optimizer) {
    const { tensors, ...rest } = c.optimizer;
    saveSafetensors(path.join(tmp, 'optimizer.safetensors'),
      Object.entries(tensors).map(([k, v]) => [k, { dtype: 'F32', shape: [v.length], data: v }]), { state: JSON.stringify(rest) });
  }
  writeFileAtomic(path.join(tmp, 'config.json'), JSON.stringify(c.model.config, null, 2) + '\n');
  writeFileAtomic(path.join(tmp, 'state.json'), JSON.stringify({ ...c.state, trainConfig: c.trainConfig }, null, 2) + '\n');
  if (existsSync(final)) rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  return final;
}

/** step-N directories of a run, oldest first (ignores unfinished .tmp ones). */
export function listCheckpoints(runDir: string): { step: number; dir: string }[] {
  const ckDir = path.join(runDir, 'checkpoints');
  if (!existsSync(ckDir)) return [];
  return readdirSync(ckDir)
    .map((n) => /^step-(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ step: Number(m[1]), dir: path.join(ckDir, m[0]) }))
    .sort((a, b) => a.step - b.step);
}

export function latestCheckpoint(runDir: string): string | null {
  const all = listCheckpoints(runDir);
  return all.length ? all[all.length - 1].dir : null;
}

/** Loads a model from a checkpoint directory (or a run directory: its latest checkpoint). */
export function loadModel(dir: string): Transformer {
  let ck = dir;
  if (!existsSync(path.join(dir, 'model.safetensors'))) {
    const latest = latestCheckpoint(dir);
    if (!latest) throw new Error(`${dir}: neither a checkpoint (no model.safetensors) nor a run with checkpoints`);
    ck = latest;
  }
  const cfgFile = path.join(ck, 'config.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(cfgFile, 'utf8'));
  } catch (e) {
    throw new Error(`${cfgFile}: ${(e as Error).message}`);
  }
  const config: ModelConfig = parseModelConfig(raw, cfgFile);
  const model = new Transformer(config);
  const file = path.join(ck, 'model.safetensors');
  setWeights(model, loadSafetensors(file).tensors, file);
  return model;
}

/** Copies every parameter of `model` from `tensors` (read from `file`, named in errors). */
export function setWeights(model: Transformer, tensors: Map<string, StTensor>, file: string): void {
  for (const [name, t] of model.params) {
    const src = tensors.get(name);
    if (!src) throw new Error(`${file}: missing tensor ${name}`);
    if (src.shape.join(',') !== t.shape.join(',')) throw new Error(`${file}: ${name} has shape [${src.shape}], the config needs [${t.shape}]`);
    t.data.set(toFloat32(src));
  }
}

export function loadCheckpoint(dir: string): CheckpointContents {
  const model = loadModel(dir);
  const state = JSON.parse(readFileSync(path.join(dir, 'state.json'), 'utf8')) as TrainState & { trainConfig?: unknown };
  let optimizer: OptimizerState | undefined;
  const of = path.join(dir, 'optimizer.safetensors');
  if (existsSync(of)) {
    const st = loadSafetensors(of);
    const rest = JSON.parse(st.metadata.state ?? '{}') as Omit<OptimizerState, 'tensors'>;
    optimizer = { ...rest, tensors: Object.fromEntries([...st.tensors].map(([k, v]) => [k, toFloat32(v)])) };
  }
  const { trainConfig, ...s } = state;
  return { model, optimizer, state: s, trainConfig };
}

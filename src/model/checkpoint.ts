// Checkpoints: a directory step-N/ holding model.safetensors, optimizer.safetensors, config.json,
// state.json (step, training config, data position, RNG state), any extra files a stage adds (LoRA
// adapters), and checksums.json: the sha256 of every one of them. It is written as step-N.tmp-PID and
// renamed when complete, so a crash never leaves a half-written checkpoint and watchers react to the
// rename. Loading verifies every recorded checksum and refuses non-finite weights, so flipped bytes or
// a diverged model never load silently.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { OptimizerState } from '../tensor/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { type ModelConfig, parseModelConfig } from './config.js';
import { decodeSafetensors, encodeSafetensors, SafetensorsReader, toFloat32, type StTensor } from './safetensors.js';
import { Transformer, type WeightSource } from './transformer.js';
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
  /** More files to store (name -> bytes), checksummed like the rest, e.g. LoRA adapters. */
  extraFiles?: Record<string, Uint8Array | string>;
  /** Tensors for model.safetensors instead of the model's own (e.g. with LoRA adapters merged in). */
  weights?: [string, StTensor][];
  /** A head other than the language-model one ('score': src/model/score_head.ts), recorded in config.json. */
  head?: 'score';
}

/** Heads a checkpoint's config.json may name ("head"); absent: the language-model head. */
export const HEADS = ['score'] as const;

export const CHECKSUMS = 'checksums.json';

export function modelTensors(model: Transformer): [string, StTensor][] {
  if (model.bf16Only) throw new Error('the model holds bf16-only inference weights; load it with fp32 weights to save a checkpoint');
  return [...model.params].map(([name, t]) => [name, { dtype: 'F32', shape: [...t.shape], data: t.data }]);
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Writes dir/step-N atomically (every file, then checksums.json, then the rename) and returns its path. */
export function saveCheckpoint(runDir: string, c: CheckpointContents): string {
  const ckDir = path.join(runDir, 'checkpoints');
  mkdirSync(ckDir, { recursive: true });
  const final = path.join(ckDir, `step-${c.state.step}`);
  const tmp = `${final}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const files: [string, Uint8Array | string][] = [
    ['model.safetensors', encodeSafetensors(c.weights ?? modelTensors(c.model), { format: 'pt', hcx_config: JSON.stringify(c.model.config) })],
  ];
  if (c.optimizer) {
    const { tensors, ...rest } = c.optimizer;
    files.push(['optimizer.safetensors', encodeSafetensors(
      Object.entries(tensors).map(([k, v]) => [k, { dtype: 'F32', shape: [v.length], data: v }]), { state: JSON.stringify(rest) })]);
  }
  files.push(['config.json', JSON.stringify(c.head ? { ...c.model.config, head: c.head } : c.model.config, null, 2) + '\n']);
  files.push(['state.json', JSON.stringify({ ...c.state, trainConfig: c.trainConfig }, null, 2) + '\n']);
  for (const [name, data] of Object.entries(c.extraFiles ?? {})) files.push([name, data]);
  const sums: Record<string, string> = {};
  for (const [name, data] of files) {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    writeFileAtomic(path.join(tmp, name), bytes);
    if (name === 'model.safetensors') crashPoint('checkpoint.write'); // fault tests: a kill while the checkpoint is being written
    sums[name] = sha256(bytes);
  }
  writeFileAtomic(path.join(tmp, CHECKSUMS), JSON.stringify({ algorithm: 'sha256', files: sums }, null, 2) + '\n');
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

/** The checkpoint a path names: itself when it holds model.safetensors, else a run's latest checkpoint. */
export function resolveCheckpoint(dir: string): string {
  if (existsSync(path.join(dir, 'model.safetensors'))) return dir;
  const latest = latestCheckpoint(dir);
  if (!latest) throw new Error(`${dir}: neither a checkpoint (no model.safetensors) nor a run with checkpoints`);
  return latest;
}

function recordedSums(ck: string): Record<string, string> | null {
  const f = path.join(ck, CHECKSUMS);
  if (!existsSync(f)) return null; // checkpoints written before checksums existed
  try {
    return (JSON.parse(readFileSync(f, 'utf8')) as { files: Record<string, string> }).files;
  } catch (e) {
    throw new Error(`${f}: ${(e as Error).message}`);
  }
}

/** A checkpoint file's bytes, checked against checksums.json (an error names the file when they differ). */
export function readCheckpointFile(ck: string, name: string): Buffer {
  const file = path.join(ck, name);
  const buf = readFileSync(file);
  const want = recordedSums(ck)?.[name];
  if (want !== undefined) {
    const got = sha256(buf);
    if (got !== want) throw new Error(`${file}: checksum mismatch (sha256 ${got.slice(0, 16)}..., ${CHECKSUMS} records ${want.slice(0, 16)}...): the file is corrupt`);
  }
  return buf;
}

/** Every file checksums.json lists exists and matches; returns the problems (empty when sound). */
export function verifyCheckpoint(ck: string): string[] {
  const sums = recordedSums(ck);
  if (!sums) return [`${path.join(ck, CHECKSUMS)}: missing`];
  const problems: string[] = [];
  for (const name of Object.keys(sums)) {
    if (!existsSync(path.join(ck, name))) { problems.push(`${path.join(ck, name)}: missing`); continue; }
    try { readCheckpointFile(ck, name); } catch (e) { problems.push((e as Error).message); }
  }
  return problems;
}

function readConfigJson(ck: string): Record<string, unknown> {
  const cfgFile = path.join(ck, 'config.json');
  try {
    return JSON.parse(readCheckpointFile(ck, 'config.json').toString('utf8'));
  } catch (e) {
    throw new Error((e as Error).message.startsWith(cfgFile) ? (e as Error).message : `${cfgFile}: ${(e as Error).message}`);
  }
}

/** The model config stored in a checkpoint's config.json (its "head", if any, read by checkpointHead). */
export function checkpointModelConfig(ck: string): ModelConfig {
  const raw = readConfigJson(ck);
  if (raw && typeof raw === 'object' && 'head' in raw) {
    const { head: _head, ...rest } = raw;
    checkpointHead(ck);
    return parseModelConfig(rest, path.join(ck, 'config.json'));
  }
  return parseModelConfig(raw, path.join(ck, 'config.json'));
}

/** The head a checkpoint's config.json names: 'lm' (none named) or 'score'. */
export function checkpointHead(ck: string): 'lm' | (typeof HEADS)[number] {
  const raw = readConfigJson(ck);
  const head = raw && typeof raw === 'object' ? raw.head : undefined;
  if (head === undefined) return 'lm';
  if (!(HEADS as readonly unknown[]).includes(head)) throw new Error(`${path.join(ck, 'config.json')}: field "head" must be one of ${HEADS.join(', ')}, got ${JSON.stringify(head)}`);
  return head as (typeof HEADS)[number];
}

/** model.safetensors of a checkpoint, checksum verified, with its path (for error messages). */
export function decodeCheckpointTensors(ck: string): { tensors: Map<string, StTensor>; file: string } {
  const file = path.join(ck, 'model.safetensors');
  return { tensors: decodeSafetensors(readCheckpointFile(ck, 'model.safetensors'), file).tensors, file };
}

/** Loads a model from a checkpoint directory (or a run directory: its latest checkpoint), verified. */
export function loadModel(dir: string): Transformer {
  const ck = resolveCheckpoint(dir);
  const config = checkpointModelConfig(ck);
  const file = path.join(ck, 'model.safetensors');
  return Transformer.fromTensors(config, tensorSource(decodeSafetensors(readCheckpointFile(ck, 'model.safetensors'), file).tensors, file));
}

/** A WeightSource over tensors read from `file` (named in errors), checking every shape and refusing NaN/inf. */
export function tensorSource(tensors: Map<string, StTensor>, file: string): WeightSource {
  return (name, shape) => {
    const t = tensors.get(name);
    if (!t) throw new Error(`${file}: missing tensor ${name}`);
    if (t.shape.join(',') !== shape.join(',')) throw new Error(`${file}: ${name} has shape [${t.shape}], the config needs [${shape}]`);
    refuseNonFinite(t, name, file);
    return t;
  };
}

/** A WeightSource reading each tensor from an open safetensors file straight into a fresh float32 (or bf16) array; refuses NaN/inf. */
export function readerSource(r: SafetensorsReader, as: 'f32' | 'bf16' = 'f32'): WeightSource {
  return (name, shape) => {
    const e = r.entries.get(name);
    if (!e) throw new Error(`${r.file}: missing tensor ${name}`);
    if (e.shape.join(',') !== shape.join(',')) throw new Error(`${r.file}: ${name} has shape [${e.shape}], the config needs [${shape}]`);
    const t = r.read(name, as);
    refuseNonFinite(t, name, r.file);
    return t;
  };
}

/** Throws, naming the tensor and file, when a float tensor holds NaN or infinity. */
export function refuseNonFinite(t: StTensor, name: string, file: string): void {
  if (t.dtype === 'I32') return;
  const values = t.data instanceof Float32Array ? t.data : toFloat32(t);
  const bad = firstNonFinite(values);
  if (bad >= 0) throw new Error(`${file}: tensor ${name} holds ${values[bad]} at element ${bad}: the weights are not usable (a diverged run?)`);
}

/** Index of the first NaN or infinity in a, or -1. */
export function firstNonFinite(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return i;
  return -1;
}

/** Copies every parameter of `model` from `tensors` (read from `file`, named in errors); refuses NaN/inf. */
export function setWeights(model: Transformer, tensors: Map<string, StTensor>, file: string): void {
  for (const [name, t] of model.params) {
    const src = tensors.get(name);
    if (!src) throw new Error(`${file}: missing tensor ${name}`);
    if (src.shape.join(',') !== t.shape.join(',')) throw new Error(`${file}: ${name} has shape [${src.shape}], the config needs [${t.shape}]`);
    const values = toFloat32(src);
    const bad = firstNonFinite(values);
    if (bad >= 0) throw new Error(`${file}: tensor ${name} holds ${values[bad]} at element ${bad}: the weights are not usable (a diverged run?)`);
    t.data.set(values);
  }
}

export function loadCheckpoint(dir: string): CheckpointContents {
  const model = loadModel(dir);
  const stateFile = path.join(dir, 'state.json');
  let state: TrainState & { trainConfig?: unknown };
  try {
    state = JSON.parse(readCheckpointFile(dir, 'state.json').toString('utf8'));
  } catch (e) {
    throw new Error((e as Error).message.startsWith(stateFile) ? (e as Error).message : `${stateFile}: ${(e as Error).message}`);
  }
  let optimizer: OptimizerState | undefined;
  const of = path.join(dir, 'optimizer.safetensors');
  if (existsSync(of)) {
    const st = decodeSafetensors(readCheckpointFile(dir, 'optimizer.safetensors'), of);
    const rest = JSON.parse(st.metadata.state ?? '{}') as Omit<OptimizerState, 'tensors'>;
    optimizer = { ...rest, tensors: Object.fromEntries([...st.tensors].map(([k, v]) => [k, toFloat32(v)])) };
  } else if (recordedSums(dir)?.['optimizer.safetensors']) {
    throw new Error(`${of}: missing (${CHECKSUMS} lists it): the checkpoint is incomplete`);
  }
  const { trainConfig, ...s } = state;
  return { model, optimizer, state: s, trainConfig };
}

// Finding what to serve: `--model` is a checkpoint directory, a run directory (its latest checkpoint) or a
// .safetensors file (config from its hcx_config metadata or a config.json beside it); the tokenizer is
// `--tokenizer` or the first tokenizer.json found in the checkpoint, its run, or beside the file.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { latestCheckpoint, loadModel, readerSource } from '../model/checkpoint.js';
import { parseModelConfig } from '../model/config.js';
import { SafetensorsReader } from '../model/safetensors.js';
import { Transformer } from '../model/transformer.js';
import { Tokenizer } from '../tokenizer/index.js';
import { native } from '../native/index.js';

export type ServeDtype = 'auto' | 'f32' | 'bf16';

/**
 * The dtype the served model multiplies in: 'auto' is bf16 where the CPU has bf16 dot products (decoding
 * reads every weight each step, and bf16 halves those bytes, like llama.cpp's F16 files), f32 elsewhere.
 */
export function resolveServeDtype(d: string | undefined): 'f32' | 'bf16' {
  const v = d ?? 'auto';
  if (v !== 'auto' && v !== 'f32' && v !== 'bf16') throw new Error(`--dtype must be auto, f32 or bf16, got ${JSON.stringify(v)}`);
  if (v === 'auto') return native.hasBf16Dot() ? 'bf16' : 'f32';
  return v;
}

export interface ServedModel {
  model: Transformer;
  tok: Tokenizer;
  /** Name for /v1/models: the run's name (runs/demo/checkpoints/step-600 -> demo), else the directory or file name. */
  name: string;
  modelPath: string;
  tokenizerPath: string;
}

function loadSafetensorsModel(file: string): Transformer {
  const st = SafetensorsReader.open(file);
  try {
    let raw: unknown = st.metadata.hcx_config ? JSON.parse(st.metadata.hcx_config) : undefined;
    const beside = path.join(path.dirname(file), 'config.json');
    if (raw === undefined && existsSync(beside)) raw = JSON.parse(readFileSync(beside, 'utf8'));
    if (raw === undefined) throw new Error(`${file}: no hcx_config metadata and no config.json beside it`);
    return Transformer.fromTensors(parseModelConfig(raw, file), readerSource(st));
  } finally {
    st.close();
  }
}

function findTokenizer(dirs: string[]): string | null {
  for (const d of dirs) {
    const p = path.join(d, 'tokenizer.json');
    if (!existsSync(p)) continue;
    try {
      const head = JSON.parse(readFileSync(p, 'utf8')) as { format?: string };
      if (head.format === 'hcx-tokenizer') return p;
    } catch { /* not ours: keep looking */ }
  }
  return null;
}

export function loadServedModel(modelPath: string, tokenizerPath?: string, dtype?: string): ServedModel {
  const computeDtype = resolveServeDtype(dtype);
  if (!existsSync(modelPath)) throw new Error(`--model ${modelPath}: no such file or directory`);
  let model: Transformer;
  let searchDirs: string[];
  let ck = modelPath;
  if (statSync(modelPath).isDirectory()) {
    if (!existsSync(path.join(modelPath, 'model.safetensors'))) ck = latestCheckpoint(modelPath) ?? modelPath;
    model = loadModel(modelPath);
    searchDirs = [ck, path.dirname(ck), path.dirname(path.dirname(ck)), modelPath];
  } else if (modelPath.endsWith('.safetensors')) {
    model = loadSafetensorsModel(modelPath);
    const d = path.dirname(modelPath);
    searchDirs = [d, path.dirname(d), path.dirname(path.dirname(d))]; // beside it, or its run's (run/checkpoints/step-N/)
  } else {
    throw new Error(`--model ${modelPath}: expected a checkpoint or run directory, or a .safetensors file`);
  }
  model.computeDtype = computeDtype;
  const tp = tokenizerPath ?? findTokenizer(searchDirs);
  if (!tp) throw new Error(`no hcx tokenizer.json found near ${modelPath}; pass --tokenizer FILE`);
  const tok = Tokenizer.load(tp);
  if (tok.vocabSize > model.config.vocabSize) throw new Error(`tokenizer ${tp} has ${tok.vocabSize} tokens but the model only ${model.config.vocabSize}`);
  return { model, tok, name: servedName(modelPath, ck), modelPath, tokenizerPath: tp };
}

/**
 * The name a person recognises: a checkpoint inside a run's checkpoints/ is named after the run, a file
 * called model.safetensors after its directory (by the same rule), anything else after itself.
 */
export function servedName(modelPath: string, checkpoint = modelPath): string {
  let p = path.resolve(checkpoint);
  if (path.basename(p) === 'model.safetensors') p = path.dirname(p);
  if (path.basename(path.dirname(p)) === 'checkpoints') return path.basename(path.dirname(path.dirname(p)));
  return path.basename(p).replace(/\.safetensors$/, '');
}

// The one way to open a model: openModel(spec, { dtype, weights, tokenizer }) gives the model, its tokenizer,
// its chat template, a display name and where it came from, for any spec locate.ts knows (an hcx run or
// checkpoint, a .safetensors file, a Hugging Face model directory, a .gguf file). describeModel(spec) says the
// same without reading any weights (config, tokenizer path, training config, fingerprint), which is what a
// stage's config needs before it commits to loading. serve, chat, generate, export, the evaluation harness's
// hcx: backend and the trainers' --from all come through here.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CHECKSUMS, checkpointModelConfig, readCheckpointFile, readerSource, refuseNonFinite, tensorSource } from './checkpoint.js';
import { parseModelConfig, type ModelConfig } from './config.js';
import { GgufModelReader } from './gguf/hf_import.js';
import { hfConfigToModelConfig } from './hf_config.js';
import { hcxParamName, hfParamName } from './hf_names.js';
import { HfCheckpoint } from './hf_weights.js';
import { decodeSafetensors, SafetensorsReader, type StTensor } from './safetensors.js';
import { parameterSpecs, Transformer, type WeightSource } from './transformer.js';
import type { WeightFormat } from './weights.js';
import { displayName, locateModel, locateTokenizer, noTokenizerError, type LocatedModel, type ModelKind, type TokenizerLocation } from './locate.js';
import { native } from '../native/index.js';
import { openTokenizer, Tokenizer, tokenizerFromGguf, type TextTokenizer, type TokenizerFile } from '../tokenizer/index.js';

export type { ModelKind, TokenizerLocation } from './locate.js';
export { locateModel } from './locate.js';

export type ComputeDtype = 'auto' | 'f32' | 'bf16';

/**
 * The dtype a model multiplies in: 'auto' is bf16 where the CPU has bf16 dot products (decoding reads every
 * weight each step, and bf16 halves those bytes, like llama.cpp's F16 files), f32 elsewhere.
 */
export function resolveComputeDtype(d: string | undefined): 'f32' | 'bf16' {
  const v = d ?? 'auto';
  if (v !== 'auto' && v !== 'f32' && v !== 'bf16') throw new Error(`--dtype must be auto, f32 or bf16, got ${JSON.stringify(v)}`);
  if (v === 'auto') return native.hasBf16Dot() ? 'bf16' : 'f32';
  return v;
}

export interface ModelSource {
  kind: ModelKind;
  /** The spec, resolved. */
  path: string;
  /** hcx run or checkpoint: the checkpoint directory the weights come from. */
  checkpoint?: string;
  /** sha256 of an hcx checkpoint's weights (from its checksums.json), so a resumed stage can check its start. */
  fingerprint?: string;
  /** The training config an hcx checkpoint was made with (pretraining's, or an earlier stage's). */
  trainConfig?: Record<string, unknown>;
}

export interface ModelDescription {
  source: ModelSource;
  config: ModelConfig;
  displayName: string;
  /** Where the tokenizer rule found the tokenizer (path null: none) and where it looked. */
  tokenizer: TokenizerLocation;
}

export interface OpenModelOptions {
  /** Compute dtype (default 'f32'; 'auto': bf16 where the CPU has bf16 dot products). */
  dtype?: ComputeDtype;
  /** 'bf16': matrices held only in packed bf16 (half the memory; inference only, computes in bf16). Default 'f32'. */
  weights?: WeightFormat;
  /** The tokenizer to use instead of the model's own (a tokenizer.json, a directory holding one, or a .gguf). */
  tokenizer?: string;
}

export interface OpenedModel {
  model: Transformer;
  tokenizer: TextTokenizer;
  /** The tokenizer.json or .gguf the tokenizer was read from. */
  tokenizerPath: string;
  /** The model's chat template (Jinja source; hcx's own for hcx tokenizers), or null when it has none. */
  chatTemplate: string | null;
  displayName: string;
  source: ModelSource;
}

/** An hcx checkpoint's training config and weights fingerprint. */
function checkpointRecord(ck: string): Pick<ModelSource, 'trainConfig' | 'fingerprint'> {
  let trainConfig: Record<string, unknown> | undefined;
  if (existsSync(path.join(ck, 'state.json'))) {
    try {
      trainConfig = (JSON.parse(readCheckpointFile(ck, 'state.json').toString('utf8')) as { trainConfig?: Record<string, unknown> }).trainConfig;
    } catch (e) {
      const f = path.join(ck, 'state.json');
      throw new Error((e as Error).message.startsWith(f) ? (e as Error).message : `${f}: ${(e as Error).message}`);
    }
  }
  const sums = path.join(ck, CHECKSUMS);
  const fingerprint = existsSync(sums) ? (JSON.parse(readFileSync(sums, 'utf8')) as { files: Record<string, string> }).files['model.safetensors'] : undefined;
  return { ...(trainConfig ? { trainConfig } : {}), ...(fingerprint ? { fingerprint } : {}) };
}

function sourceOf(m: LocatedModel): ModelSource {
  return { kind: m.kind, path: m.path, ...(m.checkpoint ? { checkpoint: m.checkpoint, ...checkpointRecord(m.checkpoint) } : {}) };
}

/** The hcx config of a .safetensors file with hcx weights: its hcx_config metadata, else the config.json beside it. */
function hcxSafetensorsConfig(st: SafetensorsReader): ModelConfig {
  if (st.metadata.hcx_config) return parseModelConfig(JSON.parse(st.metadata.hcx_config), `${st.file}: metadata hcx_config`);
  const beside = path.join(path.dirname(st.file), 'config.json');
  if (!existsSync(beside)) throw new Error(`${st.file}: no hcx_config metadata and no config.json beside it`);
  return parseModelConfig(JSON.parse(readFileSync(beside, 'utf8')), beside);
}

/** Reads the config (and nothing else) of a located model. */
function configOf(m: LocatedModel): ModelConfig {
  if (m.checkpoint) return checkpointModelConfig(m.checkpoint);
  if (m.kind === 'gguf') return withReader(GgufModelReader.open(m.path), (g) => hfConfigToModelConfig(g.config, m.path));
  if (m.configFormat === 'hf') return withReader(HfCheckpoint.open(m.path), (h) => hfConfigToModelConfig(h.config, h.source.configFile));
  return withReader(SafetensorsReader.open(m.path), hcxSafetensorsConfig);
}

function withReader<R extends { close(): void }, T>(r: R, f: (r: R) => T): T {
  try { return f(r); } finally { r.close(); }
}

const ggufHasTokenizer = (file: string) => (): boolean => withReader(GgufModelReader.open(file), (g) => g.metadata.has('tokenizer.ggml.model'));

/** What `spec` is, its config and where its tokenizer is, without reading any weights. */
export function describeModel(spec: string, opts: { tokenizer?: string } = {}): ModelDescription {
  const m = locateModel(spec);
  return { source: sourceOf(m), config: configOf(m), displayName: displayName(m), tokenizer: locateTokenizer(m, opts.tokenizer, ggufHasTokenizer(m.path)) };
}

/**
 * A WeightSource over a Hugging Face-named checkpoint (an HF directory or a GGUF read as one): every stored tensor
 * must be a parameter of the config (or one hcx drops), every parameter present with its shape, no NaN/inf.
 */
function foreignSource(c: ModelConfig, entries: ReadonlyMap<string, { shape: number[]; file?: string }>, read: (name: string) => StTensor, file: string): WeightSource {
  const known = new Set(parameterSpecs(c).map((s) => s.name));
  for (const [name, e] of entries) hcxParamName(c, name, known, e.file ?? file);
  return (name, shape) => {
    const hf = hfParamName(c, name);
    const e = entries.get(hf);
    if (!e) throw new Error(`${file}: missing tensor ${hf}`);
    if (e.shape.join(',') !== shape.join(',')) throw new Error(`${e.file ?? file}: ${hf} has shape [${e.shape}], the config needs [${shape}]`);
    const t = read(hf);
    refuseNonFinite(t, hf, e.file ?? file);
    return t;
  };
}

function buildModel(m: LocatedModel, config: ModelConfig, weights: WeightFormat): Transformer {
  const as = weights === 'bf16' ? 'bf16' : 'f32';
  if (m.checkpoint) {
    // Read whole so the bytes are checked against checksums.json before they become weights.
    const file = path.join(m.checkpoint, 'model.safetensors');
    return Transformer.fromTensors(config, tensorSource(decodeSafetensors(readCheckpointFile(m.checkpoint, 'model.safetensors'), file).tensors, file), weights);
  }
  if (m.kind === 'gguf') {
    return withReader(GgufModelReader.open(m.path), (g) => Transformer.fromTensors(config, foreignSource(config, g.entries, (n) => g.read(n, as), m.path), weights));
  }
  if (m.configFormat === 'hf') {
    return withReader(HfCheckpoint.open(m.path), (h) =>
      Transformer.fromTensors(config, foreignSource(config, h.entries, (n) => h.read(n, as), h.source.indexFile ?? h.source.files[0]), weights));
  }
  return withReader(SafetensorsReader.open(m.path), (st) => Transformer.fromTensors(config, readerSource(st, as), weights));
}

function loadTokenizer(m: LocatedModel, where: TokenizerLocation): TextTokenizer {
  const p = where.path!;
  if (where.how === 'gguf') return withReader(GgufModelReader.open(p), (g) => tokenizerFromGguf(g.metadata, p));
  if (where.how === 'hcx-near-checkpoint') return Tokenizer.fromJSON(JSON.parse(readFileSync(p, 'utf8')) as TokenizerFile);
  return openTokenizer(p);
}

/** Opens `spec` with its tokenizer (see locate.ts for what a spec is and the tokenizer rule). */
export function openModel(spec: string, opts: OpenModelOptions = {}): OpenedModel {
  const m = locateModel(spec);
  const where = locateTokenizer(m, opts.tokenizer, ggufHasTokenizer(m.path));
  if (!where.path) throw noTokenizerError(spec, where);
  const tokenizer = loadTokenizer(m, where);
  const config = configOf(m);
  if (tokenizer.vocabSize > config.vocabSize) throw new Error(`${spec}: tokenizer ${where.path} has ${tokenizer.vocabSize} tokens but the model only ${config.vocabSize}`);
  const weights = opts.weights ?? 'f32';
  if (weights === 'bf16' && opts.dtype === 'f32') throw new Error(`${spec}: bf16-only weights compute in bf16; dtype f32 needs f32 weights`);
  const model = buildModel(m, config, weights);
  model.computeDtype = weights === 'bf16' ? 'bf16' : resolveComputeDtype(opts.dtype ?? 'f32');
  return { model, tokenizer, tokenizerPath: where.path, chatTemplate: tokenizer.chatTemplate, displayName: displayName(m), source: sourceOf(m) };
}

/**
 * The opened model's tokenizer as hcx's own Tokenizer, for the code that still needs it (the server's tokenizer
 * workers and constrained decoding, SFT's hcx template, hcx's exporters); an imported tokenizer is an error
 * saying so and naming the way out.
 */
export function hcxTokenizerOf(o: Pick<OpenedModel, 'tokenizer' | 'tokenizerPath' | 'displayName'>, who: string): Tokenizer {
  if (o.tokenizer instanceof Tokenizer) return o.tokenizer;
  throw new Error(`${who}: ${o.displayName}'s tokenizer (${o.tokenizerPath}) is a ${o.tokenizer.kind === 'hf' ? 'Hugging Face' : 'GGUF'} tokenizer; ` +
    `${who} works with hcx tokenizers only so far (give one with --tokenizer FILE)`);
}

/**
 * A trainer's source model (`--from`, `--policy`): opened by the one loader with its own tokenizer (hcx's, or
 * an imported model's Hugging Face or GGUF one); errors name the trainer's flag and point at the config's
 * "tokenizer" field rather than a CLI flag the trainer lacks.
 */
export function openForTraining(spec: string, opts: { tokenizer?: string; flag: string }): OpenedModel {
  try {
    return openModel(spec, { tokenizer: opts.tokenizer });
  } catch (e) {
    const msg = (e as Error).message.replace('--tokenizer FILE', '"tokenizer" in the config');
    throw new Error(msg.startsWith(spec) ? `${opts.flag} ${msg}` : msg);
  }
}

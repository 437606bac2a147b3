// The weights and config.json of a Hugging Face model directory (or one .safetensors file with a config.json
// beside it), single-file or sharded, read without loading any file whole.
//
// Interface (what openModel consumes):
//   openHfWeights(spec) -> HfCheckpoint   lazy: config, source, entries (name -> dtype, shape, file); read(name, as, into?)
//   readHfWeights(spec, { as, names }) -> { config, tensors: Map<hfName, StTensor>, source, metadata }
// `spec` is a directory holding config.json and model.safetensors, or model.safetensors.index.json whose
// weight_map names each tensor's shard (transformers' order: the single file wins when both exist); or a path
// to a .safetensors file, whose config.json is read from its directory. `as` is 'stored' (default), 'f32' or
// 'bf16' (see StLoadAs). Tensor names and shapes are the checkpoint's own ([out, in] for a Linear weight).
// Errors name the file and the field or tensor: a missing config.json, a broken index, a shard that is listed
// but missing, a tensor the index puts in a shard that lacks it, and every safetensors header error.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { SafetensorsReader, type StEntry, type StLoadAs, type StTensor } from './safetensors.js';

export interface HfSource {
  /** The directory the config and shards are in. */
  dir: string;
  /** config.json's path. */
  configFile: string;
  /** model.safetensors.index.json's path, for a sharded checkpoint. */
  indexFile: string | null;
  /** The safetensors files read, in first-use order. */
  files: string[];
}

export interface HfWeights {
  config: Record<string, unknown>;
  tensors: Map<string, StTensor>;
  source: HfSource;
  /** The first shard's __metadata__ (e.g. { format: 'pt' }). */
  metadata: Record<string, string>;
}

export interface ReadHfOptions { as?: StLoadAs; names?: (name: string) => boolean }

export type HfEntry = StEntry & { file: string };

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read ${what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: ${what} is not valid JSON (${(e as Error).message})`);
  }
}

function readConfig(file: string): Record<string, unknown> {
  if (!existsSync(file)) throw new Error(`${file}: no config.json (a Hugging Face model needs one beside its weights)`);
  const c = readJson(file, 'config.json');
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new Error(`${file}: config.json is not a JSON object`);
  return c as Record<string, unknown>;
}

/** tensor name -> shard file name, validated. */
function readIndex(indexFile: string): Map<string, string> {
  const idx = readJson(indexFile, 'the shard index') as { weight_map?: unknown };
  const wm = idx && typeof idx === 'object' ? idx.weight_map : undefined;
  if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) throw new Error(`${indexFile}: weight_map must be an object mapping tensor names to shard files`);
  const out = new Map<string, string>();
  for (const [name, shard] of Object.entries(wm)) {
    if (typeof shard !== 'string' || !shard || shard !== path.basename(shard) || shard === '..') {
      throw new Error(`${indexFile}: weight_map[${JSON.stringify(name)}] = ${JSON.stringify(shard)} is not a file name in the model directory`);
    }
    out.set(name, shard);
  }
  if (out.size === 0) throw new Error(`${indexFile}: weight_map is empty`);
  return out;
}

/** An open Hugging Face checkpoint: config and every tensor's header entry; tensors read on demand. */
export class HfCheckpoint {
  private readers = new Map<string, SafetensorsReader>();
  readonly entries = new Map<string, HfEntry>();
  readonly metadata: Record<string, string>;

  private constructor(readonly config: Record<string, unknown>, readonly source: HfSource, files: string[], weightMap: Map<string, string> | null) {
    try {
      for (const f of files) this.readers.set(f, SafetensorsReader.open(f));
      if (weightMap) {
        for (const [name, shard] of weightMap) {
          const file = path.join(source.dir, shard);
          const e = this.readers.get(file)!.entries.get(name);
          if (!e) throw new Error(`${file}: no tensor ${JSON.stringify(name)}, which ${source.indexFile} puts in this shard`);
          this.entries.set(name, { ...e, file });
        }
      } else {
        const [file] = files;
        for (const e of this.readers.get(file)!.entries.values()) this.entries.set(e.name, { ...e, file });
      }
      this.metadata = this.readers.get(files[0])!.metadata;
    } catch (e) {
      this.close();
      throw e;
    }
  }

  static open(spec: string): HfCheckpoint {
    if (!existsSync(spec)) throw new Error(`${spec}: no such file or directory`);
    if (!statSync(spec).isDirectory()) {
      if (!spec.endsWith('.safetensors')) throw new Error(`${spec}: expected a Hugging Face model directory or a .safetensors file`);
      const dir = path.dirname(spec), configFile = path.join(dir, 'config.json');
      return new HfCheckpoint(readConfig(configFile), { dir, configFile, indexFile: null, files: [spec] }, [spec], null);
    }
    const dir = spec, configFile = path.join(dir, 'config.json');
    const single = path.join(dir, 'model.safetensors'), indexFile = path.join(dir, 'model.safetensors.index.json');
    if (existsSync(single)) return new HfCheckpoint(readConfig(configFile), { dir, configFile, indexFile: null, files: [single] }, [single], null);
    if (!existsSync(indexFile)) {
      const pickle = ['pytorch_model.bin', 'pytorch_model.bin.index.json'].find((f) => existsSync(path.join(dir, f)));
      throw new Error(`${dir}: no model.safetensors or model.safetensors.index.json${pickle ? ` (it has ${pickle}: hcx reads safetensors only, not PyTorch pickles)` : ''}`);
    }
    const config = readConfig(configFile);
    const weightMap = readIndex(indexFile);
    const files: string[] = [];
    for (const [name, shard] of weightMap) {
      const f = path.join(dir, shard);
      if (files.includes(f)) continue;
      if (!existsSync(f)) throw new Error(`${indexFile}: shard ${JSON.stringify(shard)} (listed for tensor ${JSON.stringify(name)}) does not exist`);
      files.push(f);
    }
    return new HfCheckpoint(config, { dir, configFile, indexFile, files }, files, weightMap);
  }

  entry(name: string): HfEntry {
    const e = this.entries.get(name);
    if (!e) throw new Error(`${this.source.indexFile ?? this.source.files[0]}: no tensor ${JSON.stringify(name)}`);
    return e;
  }

  /** One tensor, converted per `as`, into `into` when given (see SafetensorsReader.read). */
  read(name: string, as: StLoadAs = 'stored', into?: Float32Array | Uint16Array | Int32Array): StTensor {
    const e = this.entry(name);
    return this.readers.get(e.file)!.read(name, as, into);
  }

  close(): void {
    for (const r of this.readers.values()) r.close();
    this.readers.clear();
  }
}

export const openHfWeights = (spec: string): HfCheckpoint => HfCheckpoint.open(spec);

/** Every tensor (or those `names` accepts) of a Hugging Face checkpoint, with its config. */
export function readHfWeights(spec: string, opts: ReadHfOptions = {}): HfWeights {
  const ck = HfCheckpoint.open(spec);
  try {
    const tensors = new Map<string, StTensor>();
    for (const name of ck.entries.keys()) if (!opts.names || opts.names(name)) tensors.set(name, ck.read(name, opts.as ?? 'stored'));
    return { config: ck.config, tensors, source: ck.source, metadata: ck.metadata };
  } finally {
    ck.close();
  }
}

// What a model spec names, and where its tokenizer is, without reading any weights. A spec is:
//   an hcx run directory         (RUN/checkpoints/step-N/: its latest finished checkpoint)   kind 'hcx-run'
//   an hcx checkpoint directory  (model.safetensors + hcx config.json)                       kind 'hcx-checkpoint'
//   a .safetensors file          (config from its hcx_config metadata or the config.json beside it, hcx's or HF's)
//   a Hugging Face model dir     (config.json with "architectures" + model.safetensors[.index.json])  kind 'hf-dir'
//   a .gguf file (any part of a split one)                                                   kind 'gguf'
// The one tokenizer rule, first match wins:
//   1. the tokenizer given explicitly (hcx tokenizer.json, HF tokenizer.json or its directory, or a .gguf)
//   2. for hcx weights: an hcx tokenizer.json in the checkpoint (or the file's) directory, its parent and its
//      grandparent (a run's, for RUN/checkpoints/step-N), then the spec directory; in the same places, the
//      imported tokenizer a training run from an HF or GGUF model saved (a Hugging Face tokenizer.json with
//      its tokenizer_config.json, or tokenizer.gguf: src/train/run_tokenizer.ts)
//   3. for Hugging Face weights: tokenizer.json (HF's or hcx's) in the HF model directory
//   4. for a GGUF: the tokenizer in its metadata (tokenizer.ggml.*)
// When none is found the error names the spec and every place looked.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { latestCheckpoint, readCheckpointFile } from './checkpoint.js';

export type ModelKind = 'hcx-run' | 'hcx-checkpoint' | 'safetensors' | 'hf-dir' | 'gguf';

export interface LocatedModel {
  kind: ModelKind;
  /** The spec, resolved to an absolute path. */
  path: string;
  /** hcx run or checkpoint: the checkpoint directory the weights come from. */
  checkpoint?: string;
  /** Whose config the weights come with: hcx's own, or a Hugging Face config.json (HF dirs, GGUF metadata). */
  configFormat: 'hcx' | 'hf';
  /** For 'hf' configs read from a file: the directory of config.json (the HF model directory). */
  hfDir?: string;
}

/** Where the tokenizer was found, and every place the rule looked (for errors and `describeModel`). */
export interface TokenizerLocation {
  /** A tokenizer.json, or the .gguf holding the tokenizer; null when none was found. */
  path: string | null;
  /** How it was found. */
  how: 'explicit' | 'hcx-near-checkpoint' | 'imported-near-checkpoint' | 'hf-dir' | 'gguf' | null;
  looked: string[];
}

function readJson(file: string): unknown {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) { throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`); }
  try { return JSON.parse(text); } catch (e) { throw new Error(`${file}: not valid JSON (${(e as Error).message})`); }
}

/** A Hugging Face config.json names its class in "architectures" (or its family in "model_type"); hcx's says "architecture". */
export function isHfConfig(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw) && ('architectures' in raw || 'model_type' in raw);
}

/** Whether `file` is a tokenizer.json in hcx's own format. */
export function isHcxTokenizerFile(file: string): boolean {
  if (!existsSync(file)) return false;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { format?: unknown }).format === 'hcx-tokenizer';
  } catch {
    return false; // not ours (or not JSON): the rule keeps looking
  }
}

/** What `spec` names; an error names the spec when it is none of the five kinds. */
export function locateModel(spec: string): LocatedModel {
  const p = path.resolve(spec);
  if (!existsSync(p)) throw new Error(`${spec}: no such file or directory`);
  if (statSync(p).isFile()) {
    if (p.endsWith('.gguf')) return { kind: 'gguf', path: p, configFormat: 'hf' };
    if (p.endsWith('.safetensors')) return { kind: 'safetensors', path: p, ...safetensorsConfig(p) };
    throw new Error(`${spec}: not a model file (expected a .safetensors or .gguf file, or a model directory)`);
  }
  const cfg = path.join(p, 'config.json');
  if (existsSync(path.join(p, 'model.safetensors')) || existsSync(path.join(p, 'model.safetensors.index.json'))) {
    if (!existsSync(cfg)) throw new Error(`${spec}: has model weights but no config.json (an hcx checkpoint and a Hugging Face model both need one)`);
    // An hcx checkpoint's config.json is covered by its checksums; reading it through them catches corruption early.
    const raw = existsSync(path.join(p, 'checksums.json')) ? JSON.parse(readCheckpointFile(p, 'config.json').toString('utf8')) : readJson(cfg);
    if (isHfConfig(raw)) return { kind: 'hf-dir', path: p, configFormat: 'hf', hfDir: p };
    return { kind: 'hcx-checkpoint', path: p, checkpoint: p, configFormat: 'hcx' };
  }
  const latest = latestCheckpoint(p);
  if (latest) return { kind: 'hcx-run', path: p, checkpoint: latest, configFormat: 'hcx' };
  if (existsSync(path.join(p, 'checkpoints'))) throw new Error(`${spec}: an hcx run without a finished checkpoint (nothing named step-N in ${path.join(p, 'checkpoints')})`);
  throw new Error(`${spec}: not a model directory: it is no hcx run (no checkpoints/step-N), no hcx checkpoint and no Hugging Face model ` +
    '(no model.safetensors or model.safetensors.index.json with a config.json); a .safetensors or .gguf file can be given directly');
}

/** A .safetensors file's config: hcx's in its hcx_config metadata (read later), else the config.json beside it. */
function safetensorsConfig(file: string): Pick<LocatedModel, 'configFormat' | 'hfDir'> {
  const beside = path.join(path.dirname(file), 'config.json');
  if (existsSync(beside) && isHfConfig(readJson(beside))) return { configFormat: 'hf', hfDir: path.dirname(file) };
  return { configFormat: 'hcx' };
}

const unique = (xs: string[]): string[] => [...new Set(xs)];

/** The one tokenizer rule (see the header); `hasGgufTokenizer` says whether a GGUF's metadata holds one. */
export function locateTokenizer(m: LocatedModel, explicit: string | undefined, hasGgufTokenizer: () => boolean): TokenizerLocation {
  if (explicit !== undefined) {
    const p = path.resolve(explicit);
    if (!existsSync(p)) throw new Error(`tokenizer ${explicit} (given for ${m.path}): no such file or directory`);
    return { path: p, how: 'explicit', looked: [p] };
  }
  const looked: string[] = [];
  if (m.configFormat === 'hcx') {
    const base = m.checkpoint ?? path.dirname(m.path);
    const dirs = unique([base, path.dirname(base), path.dirname(path.dirname(base)), m.kind === 'safetensors' ? base : m.path]);
    for (const d of dirs) {
      const f = path.join(d, 'tokenizer.json');
      looked.push(`${f} (hcx format)`);
      if (isHcxTokenizerFile(f)) return { path: f, how: 'hcx-near-checkpoint', looked };
      // A run from an imported model: its HF tokenizer (tokenizer_config.json beside it) or its GGUF tokenizer.
      if (existsSync(f) && existsSync(path.join(d, 'tokenizer_config.json'))) return { path: f, how: 'imported-near-checkpoint', looked };
      const g = path.join(d, 'tokenizer.gguf');
      if (existsSync(g)) return { path: g, how: 'imported-near-checkpoint', looked: [...looked, g] };
    }
  }
  if (m.hfDir) {
    const f = path.join(m.hfDir, 'tokenizer.json');
    looked.push(f);
    if (existsSync(f)) return { path: f, how: 'hf-dir', looked };
  }
  if (m.kind === 'gguf') {
    looked.push(`${m.path} (tokenizer.ggml.* metadata)`);
    if (hasGgufTokenizer()) return { path: m.path, how: 'gguf', looked };
  }
  return { path: null, how: null, looked };
}

/** The error for a model whose tokenizer the rule did not find. */
export function noTokenizerError(spec: string, where: TokenizerLocation): Error {
  const sp = where.looked.map((l) => path.join(path.dirname(l.replace(/ \(.*\)$/, '')), 'tokenizer.model')).find((f) => existsSync(f));
  const hint = sp ? ` (${sp} is a SentencePiece model: convert it to tokenizer.json with transformers' AutoTokenizer.from_pretrained(dir).save_pretrained(dir))` : '';
  return new Error(`${spec}: no tokenizer found; looked for ${where.looked.join(', ')}${hint}; give one with --tokenizer FILE`);
}

/** A name a person recognises: a run's name for its checkpoints, a directory's name, a file's name without extension. */
export function displayName(m: LocatedModel): string {
  if (m.kind === 'hcx-run') return path.basename(m.path);
  let p = m.path;
  if (m.kind === 'gguf') return path.basename(p).replace(/(-\d{5}-of-\d{5})?\.gguf$/, '');
  if (path.basename(p) === 'model.safetensors') p = path.dirname(p);
  if (path.basename(path.dirname(p)) === 'checkpoints') return path.basename(path.dirname(path.dirname(p)));
  return path.basename(p).replace(/\.safetensors$/, '');
}

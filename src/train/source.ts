// Where a stage's starting model comes from (`hcx sft --from MODEL`): today an hcx run directory (its
// latest checkpoint) or a checkpoint directory, with the tokenizer found beside it and the training
// config it was made with (later stages inherit settings from it). Every stage resolves --from through
// openSource(), the one function the model loader (openModel: HF directories, GGUF) will replace.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CHECKSUMS, checkpointModelConfig, loadModel, readCheckpointFile, resolveCheckpoint } from '../model/checkpoint.js';
import type { ModelConfig } from '../model/config.js';
import type { Transformer } from '../model/transformer.js';

export interface SourceModel extends SourceInfo { model: Transformer }

export function findHcxTokenizer(dirs: string[]): string | null {
  for (const d of dirs) {
    const p = path.join(d, 'tokenizer.json');
    if (!existsSync(p)) continue;
    try {
      if ((JSON.parse(readFileSync(p, 'utf8')) as { format?: string }).format === 'hcx-tokenizer') return p;
    } catch { /* not ours: keep looking */ }
  }
  return null;
}

/** What a source is, without loading its weights: enough to resolve a stage's config. */
export interface SourceInfo {
  /** The checkpoint directory the weights come from. */
  checkpoint: string;
  config: ModelConfig;
  /** hcx tokenizer.json found in the checkpoint or its run, if any. */
  tokenizerPath: string | null;
  /** The training config recorded with the checkpoint (pretraining's, or an earlier stage's). */
  trainConfig?: Record<string, unknown>;
  /** sha256 of the weights file, so a resumed run can check it starts from the same model. */
  fingerprint: string;
}

export function describeSource(spec: string): SourceInfo {
  if (!existsSync(spec)) throw new Error(`--from ${spec}: no such file or directory`);
  const ck = resolveCheckpoint(spec);
  let trainConfig: Record<string, unknown> | undefined;
  if (existsSync(path.join(ck, 'state.json'))) {
    try {
      trainConfig = (JSON.parse(readCheckpointFile(ck, 'state.json').toString('utf8')) as { trainConfig?: Record<string, unknown> }).trainConfig;
    } catch (e) {
      throw new Error(`--from ${spec}: ${(e as Error).message}`);
    }
  }
  const sums = existsSync(path.join(ck, CHECKSUMS)) ? (JSON.parse(readFileSync(path.join(ck, CHECKSUMS), 'utf8')) as { files: Record<string, string> }).files : {};
  return {
    checkpoint: ck, config: checkpointModelConfig(ck), trainConfig,
    tokenizerPath: findHcxTokenizer([ck, path.dirname(ck), path.dirname(path.dirname(ck)), spec]),
    fingerprint: sums['model.safetensors'] ?? 'unrecorded',
  };
}

/** The source's weights (checksums verified, non-finite weights refused) with its description. */
export function openSource(spec: string): SourceModel {
  const info = describeSource(spec);
  return { ...info, model: loadModel(info.checkpoint) };
}

// Tiny RL fixtures: the SFT test source (test/helpers/sft.ts) as policy, a score model on the same
// weights as reward model (its head seeded), and a prompts file.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadModel } from '../../src/model/checkpoint.js';
import { initScoreModel, saveScoreModel } from '../../src/model/score_head.js';
import { tinySource, type TinySource } from './sft.js';

export interface TinyRl extends TinySource { rmDir: string; prompts: string }

export async function tinyRl(dir: string, prompts = 24): Promise<TinyRl> {
  const src = await tinySource(dir);
  const rmDir = path.join(dir, 'rm');
  if (!existsSync(rmDir)) saveScoreModel(rmDir, initScoreModel(loadModel(src.runDir), 11));
  const file = path.join(dir, 'prompts.jsonl');
  if (!existsSync(file)) writeFileSync(file, readFileSync(src.data.all, 'utf8').split('\n').filter(Boolean).slice(0, prompts).join('\n') + '\n');
  return { ...src, rmDir, prompts: file };
}

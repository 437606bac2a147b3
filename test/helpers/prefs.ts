// Preference pairs for the reward-model and DPO tests: built-in Korean pairs (language, repetition,
// padding) over the tiny SFT source of test/helpers/sft.ts.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildKoreanPairs, builtinKoreanQA, koreanPairRecord } from '../../src/data/prefs/korean.js';

export function koreanPairsFile(dir: string, n = 40, kinds?: ('language' | 'repetition' | 'padding')[]): string {
  const f = path.join(dir, `pairs-${n}-${kinds?.join('-') ?? 'all'}.jsonl`);
  if (!existsSync(f)) writeFileSync(f, buildKoreanPairs(builtinKoreanQA(120), { limit: n, kinds, seed: 4 }).map((p) => koreanPairRecord(p) + '\n').join(''));
  return f;
}

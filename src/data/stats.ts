// Counters a build accumulates: they are saved in every resume checkpoint and become the report.
import type { PiiType } from './pii.js';
import { CATEGORIES, type BadInput, type Category } from './types.js';

export interface CategoryCounts { docsIn: number; bytesIn: number; docsOut: number; bytesOut: number; tokensOut: number }

export interface BuildStats {
  files: number;
  perCategory: Record<Category, CategoryCounts>;
  /** dropped documents by reason (filter rules, exact_dup, near_dup, empty), overall and per category */
  drops: Record<string, number>;
  dropsByCategory: Record<Category, Record<string, number>>;
  pii: Partial<Record<PiiType, number>>;
  piiDocs: number;
  boilerplateLines: number;
  dedup: { checked: number; exact: number; near: number };
  langs: Record<string, number>;
  perSource: Record<string, { files: number; docsIn: number; docsOut: number }>;
  badInputCount: number;
  /** the first 200 bad inputs, with file and line */
  badInputs: BadInput[];
  secondsFilter: number;
}

export function emptyStats(): BuildStats {
  const perCategory = {} as Record<Category, CategoryCounts>;
  const dropsByCategory = {} as Record<Category, Record<string, number>>;
  for (const c of CATEGORIES) { perCategory[c] = { docsIn: 0, bytesIn: 0, docsOut: 0, bytesOut: 0, tokensOut: 0 }; dropsByCategory[c] = {}; }
  return {
    files: 0, perCategory, drops: {}, dropsByCategory, pii: {}, piiDocs: 0, boilerplateLines: 0,
    dedup: { checked: 0, exact: 0, near: 0 }, langs: {}, perSource: {}, badInputCount: 0, badInputs: [], secondsFilter: 0,
  };
}

export function countDrop(s: BuildStats, category: Category, reason: string): void {
  s.drops[reason] = (s.drops[reason] ?? 0) + 1;
  s.dropsByCategory[category][reason] = (s.dropsByCategory[category][reason] ?? 0) + 1;
}

export function countBad(s: BuildStats, bad: BadInput): void {
  s.badInputCount++;
  if (s.badInputs.length < 200) s.badInputs.push(bad);
}

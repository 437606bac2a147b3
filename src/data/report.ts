// The build report, as JSON (for programs) and markdown (for people): documents and bytes in and out
// per category, drops per filter, PII counts per type, dedup rate, the mixture, tokens per category
// and phase.
import path from 'node:path';
import type { BuildConfig } from './config.js';
import type { CategoryPlan } from './mixture.js';
import { writeFileAtomic, writeJsonAtomic } from './shards.js';
import type { BuildStats } from './stats.js';
import { CATEGORIES, type Category } from './types.js';

export interface PhaseReport {
  name: string;
  seqLen: number;
  records: number;
  tokens: number;
  shards: number;
  tokensByCategory: Record<Category, number>;
  fim: Record<string, number>;
  droppedTailTokens: number;
}

export interface BuildReport {
  outDir: string;
  dtype: string;
  vocabSize: number;
  seconds: { filter: number; mix: number; total: number };
  stats: BuildStats;
  dedupRate: number;
  mixture: { totalTarget: number; plannedTokens: number; instances: number; perCategory: Record<Category, CategoryPlan>; warnings: string[] };
  phases: PhaseReport[];
  config: BuildConfig;
}

const fmt = (n: number): string => (Number.isInteger(n) ? n.toLocaleString('en-US') : n.toFixed(3));
const mb = (b: number): string => (b / 1e6).toFixed(2);
const pct = (a: number, b: number): string => (b ? ((100 * a) / b).toFixed(1) + '%' : '-');

function table(head: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => '| ' + cells.map((c) => (typeof c === 'number' ? fmt(c) : c)).join(' | ') + ' |';
  return [line(head), '|' + head.map(() => '---').join('|') + '|', ...rows.map(line)].join('\n');
}

export function renderMarkdown(r: BuildReport): string {
  const s = r.stats;
  const out: string[] = [`# hcx data build report`, '', `Output: \`${r.outDir}\` — ${r.dtype} shards, vocabulary ${fmt(r.vocabSize)}. ` +
    `Time: filter pass ${r.seconds.filter.toFixed(1)} s, mixing and packing ${r.seconds.mix.toFixed(1)} s.`, ''];
  out.push('## Documents and bytes per category', '', table(['category', 'docs in', 'MB in', 'docs out', 'MB out', 'kept', 'tokens out'],
    CATEGORIES.map((c) => { const x = s.perCategory[c]; return [c, x.docsIn, mb(x.bytesIn), x.docsOut, mb(x.bytesOut), pct(x.docsOut, x.docsIn), x.tokensOut]; })), '');
  const reasons = Object.keys(s.drops).sort((a, b) => s.drops[b] - s.drops[a]);
  out.push('## Drops by reason', '', reasons.length ? table(['reason', 'total', ...CATEGORIES], reasons.map((k) => [k, s.drops[k], ...CATEGORIES.map((c) => s.dropsByCategory[c][k] ?? 0)])) : 'No document was dropped.', '');
  out.push(`Boilerplate lines removed: ${fmt(s.boilerplateLines)}.`, '');
  const pii = Object.entries(s.pii);
  out.push('## PII scrubbed', '', pii.length ? table(['type', 'count'], pii.map(([t, n]) => [t, n ?? 0])) : 'None found.', '', `Documents with PII: ${fmt(s.piiDocs)}.`, '');
  out.push('## Deduplication', '', `${fmt(s.dedup.checked)} documents checked; ${fmt(s.dedup.exact)} exact and ${fmt(s.dedup.near)} near duplicates removed ` +
    `(dedup rate ${pct(s.dedup.exact + s.dedup.near, s.dedup.checked)}; MinHash threshold ${r.config.dedup.threshold}, ${r.config.dedup.numPerm} permutations).`, '');
  const m = r.mixture;
  out.push('## Mixture', '', table(['category', 'share', 'available tokens', 'target tokens', 'planned tokens', 'epochs', 'knowledge-rich tokens (available → planned)'],
    CATEGORIES.map((c) => { const x = m.perCategory[c]; return [c, x.share.toFixed(3), x.availableTokens, Math.round(x.targetTokens), x.plannedTokens, x.epochs.toFixed(2), `${fmt(x.knowledgeTokens)} → ${fmt(x.plannedKnowledgeTokens)}`]; })), '');
  out.push(`Knowledge-rich upsampling ×${r.config.mixture.knowledgeUpsample}, seed ${r.config.seed}; ${fmt(m.instances)} document instances.`, '');
  for (const w of m.warnings) out.push(`- warning: ${w}`);
  if (m.warnings.length) out.push('');
  out.push('## Phases', '', table(['phase', 'seq len', 'records', 'tokens', 'shards', ...CATEGORIES.map((c) => `${c} tokens`), 'FIM psm / spm / none', 'dropped tail'],
    r.phases.map((p) => [p.name, p.seqLen, p.records, p.tokens, p.shards, ...CATEGORIES.map((c) => p.tokensByCategory[c] ?? 0), `${p.fim.psm ?? 0} / ${p.fim.spm ?? 0} / ${p.fim.none ?? 0}`, p.droppedTailTokens])), '');
  const total = r.phases.reduce((a, p) => a + p.tokens, 0);
  out.push(`Token share of phases: ${r.phases.map((p) => `${p.name} ${pct(p.tokens, total)}`).join(', ')}.`, '');
  out.push('## Bad input', '', s.badInputCount ? `${fmt(s.badInputCount)} bad inputs skipped${s.badInputCount > s.badInputs.length ? ` (first ${s.badInputs.length} listed)` : ''}:` : 'None.', '');
  for (const b of s.badInputs) out.push(`- \`${b.file}:${b.line}\`: ${b.reason}`);
  out.push('', '## Sources', '', table(['source', 'files', 'docs in', 'docs out'], Object.entries(s.perSource).map(([n, x]) => [`\`${n}\``, x.files, x.docsIn, x.docsOut])), '');
  return out.join('\n');
}

export function writeReport(outDir: string, parts: Omit<BuildReport, 'outDir' | 'dedupRate' | 'mixture' | 'config'> & { cfg: BuildConfig; plan: BuildReport['mixture'] }): BuildReport {
  const { cfg, plan, ...rest } = parts;
  const s = rest.stats;
  const report: BuildReport = { outDir, ...rest, mixture: plan, config: cfg, dedupRate: s.dedup.checked ? (s.dedup.exact + s.dedup.near) / s.dedup.checked : 0 };
  writeJsonAtomic(path.join(outDir, 'report.json'), report);
  writeFileAtomic(path.join(outDir, 'report.md'), renderMarkdown(report));
  return report;
}

// Results output: the results JSON (with per-sample records) and a markdown table.
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { EvalResults } from './runner.js';

const fmt = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '-' : Math.abs(x) <= 1 ? x.toFixed(4) : x.toFixed(2));

export function markdownTable(r: EvalResults): string {
  const lines = [`model: ${r.model}`, '', '| task | n | shots | metric | value | stderr |', '|---|---:|---:|---|---:|---:|'];
  for (const t of Object.values(r.tasks)) {
    for (const [k, v] of Object.entries(t.metrics)) {
      if (k.endsWith('_stderr')) continue;
      lines.push(`| ${t.task} | ${t.n} | ${t.num_fewshot} | ${k} | ${fmt(v)} | ${fmt(t.metrics[`${k}_stderr`])} |`);
    }
  }
  const groups = Object.entries(r.groups).filter(([, g]) => g.tasks.length > 1);
  if (groups.length) {
    lines.push('', '| group | tasks | n | metric | value |', '|---|---:|---:|---|---:|');
    for (const [name, g] of groups) for (const [k, v] of Object.entries(g.metrics)) lines.push(`| ${name} | ${g.tasks.length} | ${g.n} | ${k} | ${fmt(v)} |`);
  }
  return lines.join('\n') + '\n';
}

export function writeResults(r: EvalResults, outDir: string): { json: string; md: string } {
  mkdirSync(outDir, { recursive: true });
  const json = path.join(outDir, 'results.json');
  const md = path.join(outDir, 'results.md');
  writeFileSync(json, JSON.stringify(r, null, 1) + '\n');
  writeFileSync(md, markdownTable(r));
  return { json, md };
}

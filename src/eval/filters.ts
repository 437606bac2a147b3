// Answer-extraction filters applied to generated text before scoring, as lm-eval's filter pipelines:
// regex (with group_select and a fallback), take_first, majority_vote (self-consistency), lowercase,
// strip, numeric normalisation (GSM8K), multiple-choice letter extraction.
import { majorityVote, pyRegex } from './metrics.js';

export interface FilterStep {
  fn: (typeof FILTER_FNS)[number];
  pattern?: string;
  group_select?: number;
  fallback?: string;
}
export interface FilterPipeline { name: string; steps: FilterStep[] }

export const FILTER_FNS = ['regex', 'take_first', 'majority_vote', 'lowercase', 'strip', 'numeric', 'remove_whitespace', 'first_line', 'math'] as const;

/** lm-eval RegexFilter: findall; pick match `group_select` (negative counts from the end); a tuple match takes its first non-empty group. */
export function regexExtract(text: string, pattern: string, groupSelect = 0, fallback = '[invalid]'): string {
  const re = pyRegex(pattern, 'g');
  const matches = [...text.matchAll(re)];
  if (matches.length === 0) return fallback;
  const idx = groupSelect < 0 ? matches.length + groupSelect : groupSelect;
  const m = matches[idx];
  if (!m) return fallback;
  if (m.length === 1) return m[0].trim();
  if (m.length === 2) return (m[1] ?? '').trim();
  const g = m.slice(1).find((x) => x);
  return g === undefined ? fallback : g.trim();
}

/** GSM8K-style numeric normalisation: drop $ and thousands commas and a trailing period; canonical number form. */
export function normalizeNumber(s: string): string {
  let t = s.trim().replace(/[$,]/g, '').replace(/\.$/, '');
  if (/^-?\d+(\.\d+)?$/.test(t)) {
    const n = Number(t);
    if (Number.isFinite(n)) t = String(n);
  }
  return t;
}

/** Apply one pipeline to the k responses of one document; returns the filtered responses. */
export function applyPipeline(responses: string[], steps: FilterStep[]): string[] {
  let rs = responses.slice();
  for (const s of steps) {
    switch (s.fn) {
      case 'regex': rs = rs.map((r) => regexExtract(r, s.pattern ?? '', s.group_select ?? 0, s.fallback ?? '[invalid]')); break;
      case 'take_first': rs = rs.slice(0, 1); break;
      case 'majority_vote': { const v = majorityVote(rs); rs = v === undefined ? [] : [v]; break; }
      case 'lowercase': rs = rs.map((r) => r.toLowerCase()); break;
      case 'strip': rs = rs.map((r) => r.trim()); break;
      case 'numeric': rs = rs.map(normalizeNumber); break;
      case 'remove_whitespace': rs = rs.map((r) => r.replace(/^\s+/, '')); break;
      case 'first_line': rs = rs.map((r) => r.trim().split('\n')[0]); break;
      case 'math': rs = rs.map(normalizeMath); break;
    }
  }
  return rs;
}

function fixFracs(s: string): string {
  const parts = s.split('\\frac');
  let out = parts[0];
  for (const sub of parts.slice(1)) {
    out += '\\frac';
    if (sub.startsWith('{') || sub.length < 2) { out += sub; continue; }
    const [a, b] = [sub[0], sub[1]];
    if (b !== '{') out += `{${a}}{${b}}` + sub.slice(2);
    else out += `{${a}}` + sub.slice(1);
  }
  return out;
}

/**
 * Hendrycks MATH answer normalisation (strip_string in the MATH repository): applied to model answers and
 * references alike so that "\\dfrac12", "\\frac{1}{2}" and "0.5" compare equal.
 */
export function normalizeMath(input: string): string {
  let s = input.trim().replace(/\.$/, '').replace(/^\$+|\$+$/g, '').replace(/\.$/, '').trim();
  s = s.replace(/\n/g, '').replace(/\\!/g, '').replace(/\\\\/g, '\\');
  s = s.replace(/tfrac/g, 'frac').replace(/dfrac/g, 'frac').replace(/\\left/g, '').replace(/\\right/g, '');
  s = s.replace(/\^\{\\circ\}/g, '').replace(/\^\\circ/g, '').replace(/\\\$/g, '');
  const unit = s.split('\\text{ ');
  if (unit.length === 2) s = unit[0];
  s = s.replace(/\\%/g, '').replace(/%/g, '').replace(/ \./g, ' 0.').replace(/\{\./g, '{0.');
  if (s.length === 0) return s;
  if (s[0] === '.') s = '0' + s;
  const eq = s.split('=');
  if (eq.length === 2 && eq[0].length <= 2) s = eq[1];
  s = s.replace(/\\sqrt(\w)/g, '\\sqrt{$1}');
  s = s.replace(/ /g, '');
  s = fixFracs(s);
  if (s === '0.5') s = '\\frac{1}{2}';
  const ab = /^(-?\d+)\/(-?\d+)$/.exec(s);
  if (ab) s = `\\frac{${ab[1]}}{${ab[2]}}`;
  return s;
}

// Category and language detection from script ratios and file type. Script counts are one pass over
// UTF-16 code units; this is enough to route Korean, English, Japanese and Chinese reliably on
// documents of a sentence or more (measured in test/data/detect.test.ts).
import type { Category, Lang } from './types.js';

export interface ScriptCounts {
  hangul: number;
  kana: number;
  han: number;
  latin: number;
  otherLetter: number;
  digit: number;
  space: number;
  /** everything else: punctuation, symbols, emoji */
  symbol: number;
  total: number;
}

export function countScripts(s: string, limit = s.length): ScriptCounts {
  let hangul = 0, kana = 0, han = 0, latin = 0, otherLetter = 0, digit = 0, space = 0, symbol = 0;
  const n = Math.min(s.length, limit);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 128) {
      if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90)) latin++;
      else if (c >= 48 && c <= 57) digit++;
      else if (c === 32 || c === 10 || c === 9 || c === 13) space++;
      else symbol++;
    } else if (c >= 0xac00 && c <= 0xd7a3) hangul++;
    else if ((c >= 0x1100 && c <= 0x11ff) || (c >= 0x3130 && c <= 0x318f)) hangul++;
    else if (c >= 0x3040 && c <= 0x30ff) kana++;
    else if ((c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0xf900 && c <= 0xfaff)) han++;
    else if (c >= 0xc0 && c <= 0x24f && c !== 0xd7 && c !== 0xf7) latin++;
    else if ((c >= 0x2000 && c <= 0x2bff) || (c >= 0x3000 && c <= 0x303f) || (c >= 0xff00 && c <= 0xff20) || (c >= 0xd800 && c <= 0xdfff) || c === 0xa0 || (c >= 0x80 && c < 0xc0)) {
      if (c === 0x3000 || c === 0xa0 || c === 0x2028) space++; else symbol++;
    } else otherLetter++;
  }
  return { hangul, kana, han, latin, otherLetter, digit, space, symbol, total: n };
}

/** File extensions whose contents are source code. */
export const CODE_EXTS = new Set([
  '.ts', '.tsx', '.js', '.mjs', '.cjs', '.jsx', '.py', '.java', '.c', '.h', '.cc', '.cpp', '.hpp', '.cxx', '.cs',
  '.go', '.rs', '.rb', '.php', '.swift', '.kt', '.scala', '.sh', '.bash', '.sql', '.lua', '.pl', '.r', '.m',
  '.json', '.yaml', '.yml', '.toml', '.css', '.scss', '.html', '.xml', '.gyp', '.mk', '.cmake', '.hs', '.ml', '.ex', '.dart',
]);

const EN_STOP = new Set(['the', 'be', 'to', 'of', 'and', 'that', 'have', 'with', 'a', 'in', 'is', 'it', 'for', 'on', 'as', 'was', 'are', 'this', 'by', 'not']);
const CODE_LINE = /^\s*(import |export |from \S+ import|def |class |function |return\b|const |let |var |public |private |#include|#define|package |func |fn |use |if\s*\(|for\s*\(|while\s*\(|}\s*else|[{}]\s*$)|[;{]\s*$/;

/** Fraction of non-empty lines (of the first 200) that look like source code. */
export function codeLineRatio(s: string): number {
  let lines = 0, code = 0, start = 0;
  while (start < s.length && lines < 200) {
    let end = s.indexOf('\n', start);
    if (end < 0) end = s.length;
    const line = s.slice(start, end);
    if (line.trim()) { lines++; if (CODE_LINE.test(line)) code++; }
    start = end + 1;
  }
  return lines ? code / lines : 0;
}

/** Fraction of the first 500 words that are common English function words. */
export function englishStopRatio(s: string): number {
  const words = s.slice(0, 4000).toLowerCase().split(/[^a-z']+/).filter(Boolean).slice(0, 500);
  if (words.length === 0) return 0;
  let k = 0;
  for (const w of words) if (EN_STOP.has(w)) k++;
  return k / words.length;
}

/** Script-based language identification of prose. */
export function detectLang(s: string, sc: ScriptCounts = countScripts(s, 20_000)): Lang {
  const letters = sc.hangul + sc.kana + sc.han + sc.latin + sc.otherLetter;
  if (letters === 0) return 'other';
  if (sc.hangul / letters >= 0.25) return 'ko';
  // Japanese mixes kana with kanji; Chinese has Han without kana
  if (sc.kana / letters >= 0.05 && (sc.kana + sc.han) / letters >= 0.3) return 'ja';
  if (sc.han / letters >= 0.3) return 'zh';
  if (sc.latin / letters >= 0.5) return englishStopRatio(s) >= 0.08 ? 'en' : 'latin';
  return 'other';
}

/** Category of a document: code by extension or by line shapes, Korean by Hangul share, else multilingual. */
export function detectCategory(s: string, ext: string, sc: ScriptCounts = countScripts(s, 20_000)): { category: Category; lang: Lang } {
  if (CODE_EXTS.has(ext)) return { category: 'code', lang: 'code' };
  const lang = detectLang(s, sc);
  if (lang === 'ko') return { category: 'korean', lang };
  if (lang !== 'zh' && lang !== 'ja' && codeLineRatio(s) >= 0.5) return { category: 'code', lang: 'code' };
  return { category: 'multilingual', lang };
}

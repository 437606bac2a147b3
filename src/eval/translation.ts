// Corpus BLEU and chrF/chrF++ with sacrebleu 2.x definitions (metrics/bleu.py, metrics/chrf.py,
// tokenizers/tokenizer_13a.py, tokenizer_zh.py, tokenizer_char.py), reimplemented from their descriptions.

export type BleuTokenizer = '13a' | 'zh' | 'char' | 'none';

// tokenizer_re.py: the language-dependent regexp pass shared by 13a and zh.
const RE_STEPS: [RegExp, string][] = [
  [/([\{-\~\[-\` -\&\(-\+\:-\@\/])/g, ' $1 '],
  [/([^0-9])([\.,])/g, '$1 $2 '],
  [/([\.,])([^0-9])/g, ' $1 $2'],
  [/([0-9])(-)/g, '$1 $2 '],
];
function regexpTokenize(line: string): string {
  for (const [re, rep] of RE_STEPS) line = line.replace(re, rep);
  return line.split(/\s+/).filter(Boolean).join(' ');
}

export function tokenize13a(line: string): string {
  line = line.replace(/<skipped>/g, '').replace(/-\n/g, '').replace(/\n/g, ' ');
  if (line.includes('&')) line = line.replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>');
  return regexpTokenize(` ${line} `);
}

// tokenizer_zh.py: the CJK ranges it splits into single characters.
const ZH_RANGES: [number, number][] = [
  [0x3400, 0x4db5], [0x4e00, 0x9fa5], [0x9fa6, 0x9fbb], [0xf900, 0xfa2d], [0xfa30, 0xfa6a], [0xfa70, 0xfad9],
  [0x20000, 0x2a6d6], [0x2f800, 0x2fa1d], [0xff00, 0xffef], [0x2e80, 0x2eff], [0x3000, 0x303f], [0x31c0, 0x31ef],
  [0x2f00, 0x2fdf], [0x2ff0, 0x2fff], [0x3100, 0x312f], [0x31a0, 0x31bf], [0xfe10, 0xfe1f], [0xfe30, 0xfe4f],
  [0x2600, 0x26ff], [0x2700, 0x27bf], [0x3200, 0x32ff], [0x3300, 0x33ff],
];
const isChinese = (ch: string): boolean => {
  const c = ch.codePointAt(0)!;
  return ZH_RANGES.some(([a, b]) => c >= a && c <= b);
};
export function tokenizeZh(line: string): string {
  line = line.trim();
  let out = '';
  for (const ch of line) out += isChinese(ch) ? ` ${ch} ` : ch;
  return regexpTokenize(out);
}
export const tokenizeChar = (line: string): string => Array.from(line).filter((c) => !/\s/.test(c)).join(' ');

export function bleuTokenize(line: string, tok: BleuTokenizer): string {
  switch (tok) {
    case '13a': return tokenize13a(line);
    case 'zh': return tokenizeZh(line);
    case 'char': return tokenizeChar(line);
    case 'none': return line;
  }
}

function ngramCounts(tokens: readonly string[], maxOrder: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let n = 1; n <= maxOrder; n++) {
    for (let i = 0; i + n <= tokens.length; i++) {
      const k = n + '\u0001' + tokens.slice(i, i + n).join(' ');
      m.set(k, (m.get(k) ?? 0) + 1);
    }
  }
  return m;
}

export interface BleuResult { score: number; counts: number[]; totals: number[]; precisions: number[]; bp: number; sysLen: number; refLen: number }

/**
 * Corpus BLEU: `refs[r][i]` is reference stream r for segment i. 4-gram, 'exp' smoothing, closest reference
 * length (ties to the shorter), no effective order — sacrebleu's defaults.
 */
export function corpusBleu(hyps: readonly string[], refs: readonly (readonly string[])[], opts: { tokenize?: BleuTokenizer; lowercase?: boolean; maxOrder?: number } = {}): BleuResult {
  const tok = opts.tokenize ?? '13a';
  const maxOrder = opts.maxOrder ?? 4;
  const prep = (s: string): string[] => {
    const t = bleuTokenize(opts.lowercase ? s.toLowerCase() : s, tok);
    return t.split(' ').filter(Boolean);
  };
  for (const r of refs) if (r.length !== hyps.length) throw new Error('corpusBleu: reference stream and hypotheses differ in length');
  const correct = new Array<number>(maxOrder).fill(0);
  const total = new Array<number>(maxOrder).fill(0);
  let sysLen = 0;
  let refLen = 0;
  hyps.forEach((hyp, i) => {
    const h = prep(hyp);
    const refToks = refs.map((stream) => prep(stream[i]));
    // closest reference length; ties go to the shorter one
    let closest = -1;
    for (const r of refToks) {
      const d = Math.abs(r.length - h.length);
      if (closest < 0 || d < Math.abs(closest - h.length) || (d === Math.abs(closest - h.length) && r.length < closest)) closest = r.length;
    }
    sysLen += h.length;
    refLen += closest;
    const maxRef = new Map<string, number>();
    for (const r of refToks) for (const [k, c] of ngramCounts(r, maxOrder)) maxRef.set(k, Math.max(maxRef.get(k) ?? 0, c));
    for (const [k, c] of ngramCounts(h, maxOrder)) {
      const n = Number(k.slice(0, k.indexOf('\u0001')));
      correct[n - 1] += Math.min(c, maxRef.get(k) ?? 0);
      total[n - 1] += c;
    }
  });
  return computeBleu(correct, total, sysLen, refLen, maxOrder);
}

const myLog = (x: number): number => (x === 0 ? -9999999999 : Math.log(x));

export function computeBleu(correct: number[], total: number[], sysLen: number, refLen: number, maxOrder = 4): BleuResult {
  const precisions = new Array<number>(maxOrder).fill(0);
  let bp = 1;
  if (sysLen < refLen) bp = sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0;
  const result = (score: number): BleuResult => ({ score, counts: correct, totals: total, precisions, bp, sysLen, refLen });
  if (!correct.some((c) => c > 0)) return result(0); // sacrebleu: early stop when nothing matches
  let smoothMteval = 1;
  for (let n = 1; n <= maxOrder; n++) {
    if (total[n - 1] === 0) break;
    if (correct[n - 1] === 0) {
      smoothMteval *= 2;
      precisions[n - 1] = 100 / (smoothMteval * total[n - 1]);
    } else precisions[n - 1] = (100 * correct[n - 1]) / total[n - 1];
  }
  const logSum = precisions.reduce((a, p) => a + myLog(p), 0);
  return result(bp * Math.exp(logSum / maxOrder));
}

// ---- chrF / chrF++ ----

const CHRF_PUNCT = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

/** sacrebleu CHRF._remove_punctuation: split one leading or trailing punctuation mark off each word. */
export function chrfWords(sent: string): string[] {
  const out: string[] = [];
  for (const w of sent.split(/\s+/).filter(Boolean)) {
    const chars = Array.from(w);
    if (chars.length === 1) out.push(w);
    else if (CHRF_PUNCT.has(chars[chars.length - 1])) out.push(chars.slice(0, -1).join(''), chars[chars.length - 1]);
    else if (CHRF_PUNCT.has(chars[0])) out.push(chars[0], chars.slice(1).join(''));
    else out.push(w);
  }
  return out;
}

function counter(items: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of items) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}
function charNgrams(s: string, n: number, whitespace: boolean): Map<string, number> {
  const chars = Array.from(whitespace ? s : s.split(/\s+/).join(''));
  const items: string[] = [];
  for (let i = 0; i + n <= chars.length; i++) items.push(chars.slice(i, i + n).join(''));
  return counter(items);
}
function wordNgrams(words: string[], n: number): Map<string, number> {
  const items: string[] = [];
  for (let i = 0; i + n <= words.length; i++) items.push(words.slice(i, i + n).join(' '));
  return counter(items);
}

export interface ChrfOptions { charOrder?: number; wordOrder?: number; beta?: number; lowercase?: boolean; whitespace?: boolean; epsSmoothing?: boolean }

function chrfFScore(stats: number[], order: number, beta: number, eps: boolean): number {
  const EPS = 1e-16;
  const factor = beta ** 2;
  let score = 0;
  let avgP = 0;
  let avgR = 0;
  let eff = 0;
  for (let i = 0; i < order; i++) {
    const [nHyp, nRef, nMatch] = stats.slice(3 * i, 3 * i + 3);
    const prec = nHyp > 0 ? nMatch / nHyp : EPS;
    const rec = nRef > 0 ? nMatch / nRef : EPS;
    const denom = factor * prec + rec;
    score += denom > 0 ? ((1 + factor) * prec * rec) / denom : EPS;
    if (nHyp > 0 && nRef > 0) { avgP += prec; avgR += rec; eff++; }
  }
  if (eps) return (100 * score) / order;
  if (eff === 0) return 0;
  avgP /= eff;
  avgR /= eff;
  if (avgP + avgR === 0) return 0;
  return (100 * (1 + factor) * avgP * avgR) / (factor * avgP + avgR);
}

function segmentStats(hyp: string, refs: string[], o: Required<ChrfOptions>): number[] {
  const order = o.charOrder + o.wordOrder;
  const extract = (s: string): Map<string, number>[] => {
    const grams: Map<string, number>[] = [];
    for (let n = 1; n <= o.charOrder; n++) grams.push(charNgrams(s, n, o.whitespace));
    if (o.wordOrder > 0) {
      const words = chrfWords(s);
      for (let n = 1; n <= o.wordOrder; n++) grams.push(wordNgrams(words, n));
    }
    return grams;
  };
  const h = extract(o.lowercase ? hyp.toLowerCase() : hyp);
  let best: number[] = [];
  let bestF = -1;
  for (const ref of refs) {
    const r = extract(o.lowercase ? ref.toLowerCase() : ref);
    const stats: number[] = [];
    for (let i = 0; i < order; i++) {
      let hypCount = 0;
      let match = 0;
      for (const [g, c] of h[i]) {
        hypCount += c;
        const rc = r[i].get(g);
        if (rc) match += Math.min(c, rc);
      }
      let refCount = 0;
      for (const c of r[i].values()) refCount += c;
      stats.push(r[i].size > 0 ? hypCount : 0, refCount, match);
    }
    const f = chrfFScore(stats, order, o.beta, o.epsSmoothing);
    if (f > bestF) { bestF = f; best = stats; }
  }
  return best;
}

/** Corpus chrF (wordOrder 0) or chrF++ (wordOrder 2, the default here): statistics summed over segments. */
export function corpusChrf(hyps: readonly string[], refs: readonly (readonly string[])[], opts: ChrfOptions = {}): number {
  const o: Required<ChrfOptions> = { charOrder: 6, wordOrder: 2, beta: 2, lowercase: false, whitespace: false, epsSmoothing: false, ...opts };
  const order = o.charOrder + o.wordOrder;
  const sum = new Array<number>(order * 3).fill(0);
  hyps.forEach((hyp, i) => {
    const st = segmentStats(hyp, refs.map((s) => s[i]), o);
    st.forEach((v, j) => (sum[j] += v));
  });
  return chrfFScore(sum, order, o.beta, o.epsSmoothing);
}

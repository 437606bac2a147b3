// Per-sample metric functions and their aggregations, following lm-evaluation-harness's definitions
// (lm_eval/api/metrics.py and ConfigurableTask.process_results) so numbers are comparable.

/** Index of the first maximum, like numpy.argmax. */
export function argmax(xs: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');
/** Python's len(str): code points, not UTF-16 units. */
export const charLength = (s: string): number => Array.from(s).length;

export interface ChoiceScores {
  acc: number;
  acc_norm: number;
  acc_bytes: number;
  /** is_greedy of the gold continuation (lm-eval's multiple-choice "exact_match"). */
  exact_match: number;
  pred: number;
  pred_norm: number;
  pred_bytes: number;
}

/**
 * Multiple-choice scoring. `lls[i]` is the log-likelihood of `choices[i]` (the choice text without the
 * target delimiter, as lm-eval measures lengths); gold is an index or a list of acceptable indices.
 * acc: argmax ll; acc_norm: argmax ll / len(choice) in characters; acc_bytes: argmax ll / UTF-8 bytes.
 */
export function scoreChoices(lls: readonly number[], isGreedy: readonly boolean[], choices: readonly string[], gold: number | number[]): ChoiceScores {
  if (lls.length !== choices.length) throw new Error(`scoreChoices: ${lls.length} log-likelihoods for ${choices.length} choices`);
  const pred = argmax(lls as number[]);
  const predNorm = argmax(lls.map((l, i) => l / charLength(choices[i])));
  const predBytes = argmax(lls.map((l, i) => l / utf8Length(choices[i])));
  const golds = Array.isArray(gold) ? gold : [gold];
  const hit = (p: number): number => (golds.includes(p) ? 1 : 0);
  return {
    acc: hit(pred),
    acc_norm: hit(predNorm),
    acc_bytes: hit(predBytes),
    exact_match: golds.some((g) => g >= 0 && g < isGreedy.length && isGreedy[g]) ? 1 : 0,
    pred, pred_norm: predNorm, pred_bytes: predBytes,
  };
}

/**
 * TruthfulQA MC2 (lm-eval truthfulqa/utils.py process_results_mc2): the choices list the true answers first,
 * then the false ones; `labels` mark them (1 true, 0 false). Score = normalized probability mass on the true set.
 */
export function mc2(lls: readonly number[], labels: readonly number[]): number {
  const split = labels.indexOf(0);
  if (split < 0) throw new Error('mc2: labels hold no false answer (0)');
  const pTrue = lls.slice(0, split).map(Math.exp);
  const pFalse = lls.slice(split).map(Math.exp);
  const sumT = pTrue.reduce((a, b) => a + b, 0);
  const sumF = pFalse.reduce((a, b) => a + b, 0);
  return sumT / (sumT + sumF);
}

export interface ExactMatchOptions {
  ignore_case?: boolean;
  ignore_punctuation?: boolean;
  ignore_numbers?: boolean;
  regexes_to_ignore?: string[];
}

const PUNCT = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g; // Python's string.punctuation
const DIGITS = /[0-9]/g;

/** HF `evaluate` exact_match as lm-eval uses it: regexes removed first, then case, punctuation, digits. */
export function exactMatch(prediction: string, reference: string, o: ExactMatchOptions = {}): number {
  let p = prediction;
  let r = reference;
  for (const re of o.regexes_to_ignore ?? []) {
    const rx = pyRegex(re, 'g');
    p = p.replace(rx, '');
    r = r.replace(rx, '');
  }
  if (o.ignore_case) { p = p.toLowerCase(); r = r.toLowerCase(); }
  if (o.ignore_punctuation) { p = p.replace(PUNCT, ''); r = r.replace(PUNCT, ''); }
  if (o.ignore_numbers) { p = p.replace(DIGITS, ''); r = r.replace(DIGITS, ''); }
  return p === r ? 1 : 0;
}

/** Compile a Python-style pattern: leading inline flags such as (?s) or (?i) become JS flags. */
export function pyRegex(re: string, flags = ''): RegExp {
  const m = /^\(\?([aimsux]+)\)/.exec(re);
  if (!m) return new RegExp(re, flags);
  const extra = [...m[1]].filter((f) => 'ims'.includes(f) && !flags.includes(f)).join('');
  return new RegExp(re.slice(m[0].length), flags + extra);
}

/** SQuAD answer normalization: lower, drop punctuation, drop articles a/an/the, collapse whitespace. */
export function normalizeAnswer(s: string): string {
  return s.toLowerCase().replace(PUNCT, '').replace(/\b(a|an|the)\b/g, ' ').split(/\s+/).filter(Boolean).join(' ');
}

/** SQuAD token F1 between a prediction and one reference. */
export function f1Score(prediction: string, reference: string): number {
  const p = normalizeAnswer(prediction).split(' ').filter(Boolean);
  const r = normalizeAnswer(reference).split(' ').filter(Boolean);
  if (p.length === 0 || r.length === 0) return p.length === r.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const t of r) counts.set(t, (counts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of p) {
    const c = counts.get(t) ?? 0;
    if (c > 0) { same++; counts.set(t, c - 1); }
  }
  if (same === 0) return 0;
  const precision = same / p.length;
  const recall = same / r.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Max over references, as SQuAD and lm-eval's multi-target generation tasks do. */
export const maxOverRefs = (fn: (p: string, r: string) => number, prediction: string, refs: readonly string[]): number =>
  refs.reduce((m, r) => Math.max(m, fn(prediction, r)), 0);

/**
 * Unbiased pass@k (Chen et al. 2021, human-eval/evaluation.py): 1 - C(n-c, k) / C(n, k),
 * computed as 1 - prod_{i=n-c+1}^{n} (1 - k/i) for numerical stability.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (k > n) throw new Error(`pass@${k} needs at least ${k} samples, got ${n}`);
  if (n - c < k) return 1;
  let prod = 1;
  for (let i = n - c + 1; i <= n; i++) prod *= 1 - k / i;
  return 1 - prod;
}

/** Most common answer; ties go to the one seen first (Python Counter.most_common order). */
export function majorityVote<T>(answers: readonly T[]): T | undefined {
  const counts = new Map<string, { v: T; n: number; first: number }>();
  answers.forEach((a, i) => {
    const k = JSON.stringify(a);
    const e = counts.get(k);
    if (e) e.n++;
    else counts.set(k, { v: a, n: 1, first: i });
  });
  let best: { v: T; n: number; first: number } | undefined;
  for (const e of counts.values()) if (!best || e.n > best.n) best = e;
  return best?.v;
}

export const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** Standard error of the mean with the sample standard deviation (lm-eval mean_stderr). */
export function meanStderr(xs: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const mu = mean(xs);
  const variance = xs.reduce((a, x) => a + (x - mu) ** 2, 0) / (n - 1);
  return Math.sqrt(variance / n);
}

/** Perplexity-style aggregations over (loglikelihood, count) pairs (lm-eval weighted_perplexity, bits_per_byte). */
export const weightedPerplexity = (items: readonly [number, number][]): number =>
  Math.exp(-items.reduce((a, [ll]) => a + ll, 0) / items.reduce((a, [, n]) => a + n, 0));
export const bitsPerByte = (items: readonly [number, number][]): number =>
  -items.reduce((a, [ll]) => a + ll, 0) / items.reduce((a, [, n]) => a + n, 0) / Math.log(2);

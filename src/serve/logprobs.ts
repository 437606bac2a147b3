// Log-probabilities from one row of raw logits (before penalties and temperature, as OpenAI reports them).
import type { TokenLogprob } from './sequence.js';

/** log(sum(exp(row))), stable. */
export function logSumExp(row: Float32Array): number {
  let mx = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > mx) mx = row[i];
  let s = 0;
  for (let i = 0; i < row.length; i++) s += Math.exp(row[i] - mx);
  return mx + Math.log(s);
}

/** The k largest entries' indices, best first (ties: lower index first). */
export function topK(row: Float32Array, k: number): number[] {
  const best: number[] = [];
  if (k <= 0) return best;
  for (let i = 0; i < row.length; i++) {
    if (best.length === k && !(row[i] > row[best[k - 1]])) continue;
    // Shift worse entries down (dropping the last when full) and insert.
    let j = best.length === k ? k - 1 : best.length;
    while (j > 0 && row[best[j - 1]] < row[i]) { best[j] = best[j - 1]; j--; }
    best[j] = i;
  }
  return best;
}

export function tokenLogprob(row: Float32Array, token: number, top: number, lse = logSumExp(row)): TokenLogprob {
  const out: TokenLogprob = { token, logprob: row[token] - lse };
  if (top > 0) out.top = topK(row, Math.min(top, row.length)).map((t) => ({ token: t, logprob: row[t] - lse }));
  return out;
}

// Log-probabilities from one row of raw logits (before penalties and temperature, as OpenAI reports them).
import { K } from '../tensor/ops/util.js';
import type { TokenLogprob } from './sequence.js';

const noTarget = Int32Array.of(-1), lossOut = new Float32Array(1), lseOut = new Float32Array(1);

/**
 * log(sum(exp(row))), stable: the cross-entropy kernel's vectorised log-sum-exp (a JS loop over the
 * vocabulary for every generated token was a tenth of the server's time).
 */
export function logSumExp(row: Float32Array): number {
  K.crossEntropy(row, noTarget, lossOut, lseOut, 1, row.length, -1);
  return lseOut[0];
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

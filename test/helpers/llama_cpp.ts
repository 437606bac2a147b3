// llama.cpp (node-llama-cpp 3.21.1, CPU) as a reference for next-token distributions: one process-wide Llama,
// and the log-probabilities llama.cpp gives at every position of a prompt, with the KV cache in F32 and flash
// attention off (llama.cpp's defaults keep the KV cache in F16 and, on this CPU, turn flash attention on, whose
// CPU kernel rounds to F16 inside attention; either alone gives |Δ log p| ~1e-3 instead of ~1e-6).
import type { Llama, LlamaModel, Token } from 'node-llama-cpp';

let llama: Promise<Llama> | undefined;

export function cpuLlama(): Promise<Llama> {
  llama ??= import('node-llama-cpp').then((m) => m.getLlama({ gpu: false, build: 'never', logLevel: 'error' as never, progressLogs: false }));
  return llama;
}

/** Log-softmax of one row. */
export function logSoftmax(x: ArrayLike<number>): Float64Array {
  let mx = -Infinity;
  for (let i = 0; i < x.length; i++) mx = Math.max(mx, x[i]);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i] - mx);
  const lse = mx + Math.log(s);
  return Float64Array.from(x as ArrayLike<number>, (v) => v - lse);
}

/** llama.cpp's log p(next token) over the whole vocabulary, at each position of each prompt (token ids). */
export async function llamaCppLogProbs(lm: LlamaModel, prompts: readonly number[][], vocabSize: number, contextSize = 128): Promise<Float64Array[][]> {
  const ctx = await lm.createContext({
    contextSize, sequences: 1, threads: 1, flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32',
  });
  const seq = ctx.getSequence();
  const out: Float64Array[][] = [];
  try {
    for (const p of prompts) {
      await seq.clearHistory();
      const items = p.map((t) => [t as Token, { generateNext: { probabilities: true, options: { temperature: 0 } } }] as const);
      const res = await seq.controlledEvaluate(items as never);
      out.push(p.map((_, pos) => {
        const probs = res[pos]?.next.probabilities;
        if (!probs || probs.size !== vocabSize) throw new Error(`position ${pos}: llama.cpp gave ${probs?.size} probabilities for ${vocabSize} tokens`);
        return Float64Array.from({ length: vocabSize }, (_, v) => Math.log(probs.get(v as Token) ?? 0));
      }));
    }
  } finally {
    await ctx.dispose();
  }
  return out;
}

/** llama.cpp's greedy continuation of a prompt (end-of-generation tokens included). */
export async function llamaCppGreedy(lm: LlamaModel, prompt: readonly number[], tokens: number, contextSize = 128): Promise<number[]> {
  const ctx = await lm.createContext({
    contextSize, sequences: 1, threads: 1, flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32',
  });
  try {
    const got: number[] = [];
    for await (const t of ctx.getSequence().evaluate(prompt as Token[], { temperature: 0, yieldEogToken: true })) {
      got.push(t as number);
      if (got.length >= tokens) break;
    }
    return got;
  } finally {
    await ctx.dispose();
  }
}

/** Largest |Δ log p| between hcx's logits (rows of V per position) and llama.cpp's log-probs, and hcx's logit range. */
export function logProbGap(ours: Float32Array, theirs: readonly Float64Array[], V: number): { maxDiff: number; range: number } {
  let maxDiff = 0, range = 0;
  theirs.forEach((b, pos) => {
    const row = ours.subarray(pos * V, (pos + 1) * V);
    const a = logSoftmax(row);
    let lo = Infinity, hi = -Infinity;
    for (const v of row) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    range = Math.max(range, hi - lo);
    for (let v = 0; v < V; v++) maxDiff = Math.max(maxDiff, Math.abs(a[v] - b[v]));
  });
  return { maxDiff, range };
}

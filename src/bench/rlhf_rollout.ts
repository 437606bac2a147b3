// Row 1 of `hcx bench rlhf`: PPO's rollout through the serving engine's continuous batching
// (src/train/rollout.ts) against a static padded batch loop on the same policy, prompts and sampling.
// Static: the prompts in batches of `batch`, each left-padded with the pad token to its longest prompt
// (padding attended: the same arithmetic as masked padding), then every row decoded each step until the
// batch's longest response ends (generateBatch). Continuous: the engine holds at most `batch` sequences and a
// finished one leaves at once. Response lengths are spread by a stop set: with random weights the next-token
// distribution is near uniform, so stopping on about vocab/meanLen ids ends a response after a geometric
// number of tokens (mean about meanLen, capped at maxTokens), as a policy's variable-length answers do.
import { generateBatch } from '../model/generate.js';
import type { Transformer } from '../model/transformer.js';
import { rollout, rolloutEngine } from '../train/rollout.js';
import { median } from './stats.js';

export interface RolloutCase { batch: number; meanLen: number; maxTokens: number; repeat: number; seed: number }

export interface RolloutRow { system: 'hcx-continuous' | 'hcx-static-padded'; tokens_per_s: number; seconds: number; tokens: number; prompts: number; batch: number; mean_response: number; max_response: number }

/** Every k-th id below the special tokens, k chosen so the set holds about vocab / meanLen ids. */
export function stopSet(vocab: number, firstSpecial: number, meanLen: number): number[] {
  const k = Math.max(1, Math.round(meanLen * firstSpecial / vocab));
  const out: number[] = [];
  for (let id = k - 1; id < firstSpecial; id += k) out.push(id);
  return out;
}

export async function rolloutRows(policy: Transformer, prompts: number[][], pad: number, stop: number[], c: RolloutCase): Promise<RolloutRow[]> {
  const engine = rolloutEngine(policy, { maxRunning: c.batch, maxTokensPerStep: 1024 });
  const continuous = async (seed: number) => {
    const r = await rollout(engine, prompts, { n: 1, temperature: 1, maxTokens: c.maxTokens, stopTokens: stop, seed });
    engine.blocks.resetPrefixCache(); // every repeat prefills afresh, as after a PPO update
    return { seconds: r.stats.seconds, lens: r.samples.map((s) => s.response.length) };
  };
  const staticPadded = (seed: number) => {
    const t0 = performance.now();
    const lens: number[] = [];
    for (let i = 0; i < prompts.length; i += c.batch) {
      const group = prompts.slice(i, i + c.batch);
      const T = Math.max(...group.map((p) => p.length));
      const padded = group.map((p) => [...new Array<number>(T - p.length).fill(pad), ...p]);
      for (const g of generateBatch(policy, padded, { maxNewTokens: c.maxTokens, stopTokens: stop, temperature: 1, seed: seed + i })) lens.push(g.ids.length + (g.finishReason === 'stop' ? 1 : 0));
    }
    return { seconds: (performance.now() - t0) / 1000, lens };
  };
  type Run = { seconds: number; lens: number[] };
  const runs: Record<RolloutRow['system'], Run[]> = { 'hcx-continuous': [], 'hcx-static-padded': [] };
  await continuous(c.seed); // warm-up
  staticPadded(c.seed);
  // Alternate the two, so a change in the machine's load hits both alike; seeds match pairwise.
  for (let r = 0; r < c.repeat; r++) {
    runs['hcx-continuous'].push(await continuous(c.seed + 1 + r));
    runs['hcx-static-padded'].push(staticPadded(c.seed + 1 + r));
  }
  const rows = Object.entries(runs).map(([system, rs]): RolloutRow => {
    const lens = rs.flatMap((x) => x.lens), sum = lens.reduce((a, b) => a + b, 0);
    return {
      system: system as RolloutRow['system'], tokens_per_s: median(rs.map((x) => x.lens.reduce((a, b) => a + b, 0) / x.seconds)), seconds: median(rs.map((x) => x.seconds)),
      tokens: sum / rs.length, prompts: prompts.length, batch: c.batch, mean_response: sum / lens.length, max_response: Math.max(...lens),
    };
  });
  return rows;
}

// The configuration `hcx demo` uses: the built-in corpus, small shards and short contexts so that a
// tiny model pretrains on it in minutes on two CPU cores.
import type { Category } from './types.js';

export interface DemoConfigOptions { seqLen?: number; seed?: number }

export function defaultDemoConfig(outDir: string, opts: DemoConfigOptions = {}): Record<string, unknown> {
  const src = (part: string, category: Category, knowledgeRich = false) => ({ path: `builtin:${part}`, name: `builtin:${part}`, category, knowledgeRich });
  return {
    outDir,
    seed: opts.seed ?? 1234,
    sources: [
      src('korean', 'korean'), src('korean-knowledge', 'korean', true),
      src('english', 'multilingual'), src('english-knowledge', 'multilingual', true),
      src('code', 'code'),
    ],
    mixture: { shares: { korean: 1 / 3, multilingual: 1 / 3, code: 1 / 3 }, knowledgeUpsample: 2 },
    fim: { psmRate: 0.25, spmRate: 0.25, categories: ['code'] },
    packing: { seqLen: opts.seqLen ?? 128, longFactor: 8, longShare: 0.1, shardTokens: 1 << 20 },
  };
}

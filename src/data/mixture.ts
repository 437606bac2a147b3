// The mixture plan: how many times each kept document is emitted so that categories meet their target
// share of tokens (default one third each) and knowledge-rich documents are upsampled. Counts are
// expected values rounded stochastically under the seed, then the whole instance list is shuffled,
// so the plan is a pure function of (store contents, config, seed).
import { Rng, subSeed } from './hashing.js';
import { FLAG_KNOWLEDGE, type DocStoreReader } from './store.js';
import { CATEGORIES, type Category } from './types.js';

export interface MixtureOptions {
  shares: Record<Category, number>;
  knowledgeUpsample: number;
  maxRepeat: number;
  totalTokens: number | null;
}

export interface CategoryPlan {
  docs: number;
  /** tokens kept after filtering and dedup */
  availableTokens: number;
  /** tokens weighted by source weight and knowledge upsampling */
  weightedTokens: number;
  share: number;
  targetTokens: number;
  plannedTokens: number;
  /** plannedTokens / availableTokens: how many epochs of this category the mixture uses */
  epochs: number;
  knowledgeTokens: number;
  plannedKnowledgeTokens: number;
}

export interface MixturePlan {
  totalTarget: number;
  perCategory: Record<Category, CategoryPlan>;
  /** emitted instances in order: category index into CATEGORIES and document index in its store */
  cat: Uint8Array;
  doc: Uint32Array;
  /** planned tokens of each instance (document tokens + end-of-text) */
  tokens: Uint32Array;
  plannedTokens: number;
  warnings: string[];
}

export function planMixture(stores: Record<Category, DocStoreReader | undefined>, opt: MixtureOptions, seed: number): MixturePlan {
  const warnings: string[] = [];
  const weightOf = (s: DocStoreReader, i: number): number => {
    const m = s.metaOf(i);
    return m.weight * (m.flags & FLAG_KNOWLEDGE ? opt.knowledgeUpsample : 1);
  };
  const per = {} as Record<Category, CategoryPlan>;
  for (const c of CATEGORIES) {
    const s = stores[c];
    let avail = 0, weighted = 0, know = 0;
    for (let i = 0; s && i < s.docs; i++) {
      const m = s.metaOf(i);
      avail += m.tokens;
      weighted += m.tokens * weightOf(s, i);
      if (m.flags & FLAG_KNOWLEDGE) know += m.tokens;
    }
    per[c] = { docs: s?.docs ?? 0, availableTokens: avail, weightedTokens: weighted, share: 0, targetTokens: 0, plannedTokens: 0, epochs: 0, knowledgeTokens: know, plannedKnowledgeTokens: 0 };
  }
  // shares are renormalised over the categories that have data
  const active = CATEGORIES.filter((c) => opt.shares[c] > 0 && per[c].weightedTokens > 0);
  for (const c of CATEGORIES) if (opt.shares[c] > 0 && per[c].weightedTokens === 0) warnings.push(`category ${c} has a target share of ${opt.shares[c].toFixed(3)} but no data; its share goes to the others`);
  const sum = active.reduce((a, c) => a + opt.shares[c], 0);
  for (const c of active) per[c].share = opt.shares[c] / sum;
  // without a token budget the scarcest category (relative to its share) sets the total
  const total = opt.totalTokens ?? (active.length ? Math.min(...active.map((c) => (per[c].weightedTokens * opt.maxRepeat) / per[c].share)) : 0);

  const rng = new Rng(subSeed(seed, 'mixture'));
  const cats: number[] = [], docs: number[] = [], toks: number[] = [];
  for (const c of active) {
    const s = stores[c]!;
    const p = per[c];
    p.targetTokens = total * p.share;
    const scale = p.targetTokens / p.weightedTokens;
    if (scale > opt.maxRepeat + 1e-9) warnings.push(`category ${c}: meeting its share needs ${scale.toFixed(2)} epochs (> maxRepeat ${opt.maxRepeat})`);
    const ci = CATEGORIES.indexOf(c);
    for (let i = 0; i < s.docs; i++) {
      const m = s.metaOf(i);
      const expected = weightOf(s, i) * scale;
      const n = Math.floor(expected) + (rng.next() < expected - Math.floor(expected) ? 1 : 0);
      for (let k = 0; k < n; k++) { cats.push(ci); docs.push(i); toks.push(m.tokens + 1); }
      p.plannedTokens += n * m.tokens;
      if (m.flags & FLAG_KNOWLEDGE) p.plannedKnowledgeTokens += n * m.tokens;
    }
    p.epochs = p.availableTokens ? p.plannedTokens / p.availableTokens : 0;
  }
  // Fisher-Yates over the instance list: documents of all categories interleave uniformly
  const n = cats.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) { const j = rng.int(i + 1); const t = order[i]; order[i] = order[j]; order[j] = t; }
  const cat = new Uint8Array(n), doc = new Uint32Array(n), tokens = new Uint32Array(n);
  let planned = 0;
  for (let i = 0; i < n; i++) { const o = order[i]; cat[i] = cats[o]; doc[i] = docs[o]; tokens[i] = toks[o]; planned += toks[o]; }
  return { totalTarget: total, perCategory: per, cat, doc, tokens, plannedTokens: planned, warnings };
}

/** First instance of the long-context phase: the last longShare of planned tokens. */
export function phaseBoundary(plan: MixturePlan, longShare: number): number {
  const shortTokens = plan.plannedTokens * (1 - longShare);
  let acc = 0;
  for (let i = 0; i < plan.tokens.length; i++) {
    if (acc >= shortTokens) return i;
    acc += plan.tokens[i];
  }
  return plan.tokens.length;
}

// Constrained decoding: at each step, the tokens whose bytes cannot continue a valid prefix of the
// grammar (json_automaton.ts) get -Infinity. The vocabulary's byte strings are put in a trie once per
// tokenizer, so tokens sharing a prefix share the automaton steps, and a dead prefix prunes its whole
// subtree; the mask of a state set is cached under its key (inside a free string, every position has
// the same state, so most steps are one lookup). Stop tokens are allowed exactly where the output may end.
import { advance, advanceAll, canEnd, dedupe, stateKey, type Frame, type State } from './json_automaton.js';
import type { TokenConstraint } from './sequence.js';

interface TrieNode { next: Map<number, TrieNode>; ids: number[] }

/** The vocabulary as a byte trie (special tokens left out: they never appear inside constrained output). */
export class TokenTrie {
  readonly root: TrieNode = { next: new Map(), ids: [] };
  constructor(readonly vocabSize: number, readonly tokenBytes: (Uint8Array | null)[]) {
    tokenBytes.forEach((b, id) => {
      if (!b || b.length === 0) return;
      let n = this.root;
      for (const x of b) {
        let c = n.next.get(x);
        if (!c) n.next.set(x, (c = { next: new Map(), ids: [] }));
        n = c;
      }
      n.ids.push(id);
    });
  }
}

const tries = new WeakMap<object, TokenTrie>();
/** One trie per tokenizer object. */
export function trieFor(key: object, vocabSize: number, tokenBytes: () => (Uint8Array | null)[]): TokenTrie {
  let t = tries.get(key);
  if (!t || t.vocabSize !== vocabSize) tries.set(key, (t = new TokenTrie(vocabSize, tokenBytes())));
  return t;
}

/** A compiled grammar over one vocabulary: its start states and the cache of masks by state key. */
export class Grammar {
  private readonly cache = new Map<string, Uint8Array>();
  private cachedBytes = 0;
  /** Masks computed (cache misses) and served from the cache, for the overhead report. */
  misses = 0;
  hits = 0;
  constructor(readonly trie: TokenTrie, readonly start: State[], readonly stopTokens: readonly number[], private readonly maxCacheBytes = 64 << 20) {}

  /** allowed[id] = 1 for each token that may come next in any of `states`. */
  allowed(states: readonly State[]): Uint8Array {
    const key = states.map(stateKey).sort().join('\n');
    const hit = this.cache.get(key);
    if (hit) { this.hits++; return hit; }
    this.misses++;
    const V = this.trie.vocabSize;
    const mask = new Uint8Array(V);
    const walk = (node: TrieNode, cur: readonly State[]) => {
      for (const [b, child] of node.next) {
        const out: Frame[][] = [];
        for (const s of cur) advance(s, b, out);
        if (out.length === 0) continue;
        for (const id of child.ids) mask[id] = 1;
        if (child.next.size) walk(child, dedupe(out));
      }
    };
    walk(this.trie.root, states);
    if (states.some(canEnd)) for (const t of this.stopTokens) if (t < V) mask[t] = 1;
    if (this.cachedBytes + V > this.maxCacheBytes) { this.cache.clear(); this.cachedBytes = 0; }
    this.cache.set(key, mask);
    this.cachedBytes += V;
    return mask;
  }

  /** A fresh per-request constraint. */
  constraint(): GrammarConstraint {
    return new GrammarConstraint(this);
  }
}

export class GrammarConstraint implements TokenConstraint {
  private states: State[];
  /** Milliseconds spent in mask() (for the overhead measurement). */
  maskMs = 0;
  constructor(readonly grammar: Grammar) {
    this.states = grammar.start;
  }

  mask(logits: Float32Array): void {
    const t0 = performance.now();
    const allowed = this.grammar.allowed(this.states);
    const n = Math.min(logits.length, allowed.length);
    for (let i = 0; i < n; i++) if (allowed[i] === 0) logits[i] = -Infinity;
    for (let i = n; i < logits.length; i++) logits[i] = -Infinity;
    this.maskMs += performance.now() - t0;
  }

  accept(token: number): void {
    const b = this.grammar.trie.tokenBytes[token];
    if (!b) throw new Error(`constraint: token ${token} has no bytes (a special token inside constrained output)`);
    this.states = advanceAll(this.states, b);
    if (this.states.length === 0) throw new Error(`constraint: token ${token} does not continue the output`);
  }

  /** True once the output is complete (only a stop token may follow, or more repetitions). */
  get canEnd(): boolean {
    return this.states.some(canEnd);
  }
}

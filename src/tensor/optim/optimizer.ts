// What every optimizer shares: its parameters, a step counter, and state that can be saved as named
// Float32Arrays (for a safetensors file) plus a small JSON header, then restored exactly.
import type { Tensor } from '../tensor.js';

export interface OptimizerState {
  kind: string;
  step: number;
  hyper: Record<string, number | boolean>;
  /** Slot name (e.g. "m.3") -> contents; sizes match the parameters. */
  tensors: Record<string, Float32Array>;
}

export abstract class Optimizer {
  step = 0;
  constructor(readonly params: Tensor[]) {
    const seen = new Set<number>();
    for (const p of params) {
      if (!p.requiresGrad) throw new Error(`optimizer: parameter ${p.name ?? p.id} does not require grad`);
      if (seen.has(p.id)) throw new Error(`optimizer: parameter ${p.name ?? p.id} listed twice`);
      seen.add(p.id);
    }
  }

  /** Applies one update with learning rate lr to every parameter that has a gradient. */
  abstract update(lr: number): void;

  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }

  abstract state(): OptimizerState;
  abstract loadState(s: OptimizerState): void;

  protected checkSlots(s: OptimizerState, kind: string, names: string[]): void {
    if (s.kind !== kind) throw new Error(`optimizer state is for ${s.kind}, not ${kind}`);
    this.params.forEach((p, i) => {
      for (const n of names) {
        const t = s.tensors[`${n}.${i}`];
        if (!t) throw new Error(`optimizer state: missing slot ${n}.${i}`);
        if (t.length !== p.size) throw new Error(`optimizer state: slot ${n}.${i} has ${t.length} values, parameter ${p.name ?? i} has ${p.size}`);
      }
    });
  }
}

// AdamW (decoupled weight decay, bias correction) with one fused native pass per parameter.
import { K } from '../ops/util.js';
import type { Tensor } from '../tensor.js';
import { Optimizer, type OptimizerState } from './optimizer.js';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Parameters exempt from weight decay (norm gains, biases); default: those with one dimension. */
  noDecay?: (p: Tensor) => boolean;
}

export class AdamW extends Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private readonly decays: boolean[];

  constructor(params: Tensor[], opts: AdamWOptions = {}) {
    super(params);
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.95;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.1;
    const noDecay = opts.noDecay ?? ((p: Tensor) => p.ndim < 2);
    this.m = params.map((p) => new Float32Array(p.size));
    this.v = params.map((p) => new Float32Array(p.size));
    this.decays = params.map((p) => !noDecay(p));
  }

  update(lr: number): void {
    this.step++;
    this.params.forEach((p, i) => {
      if (!p.grad) return;
      p.version++;
      K.adamw(p.data, p.grad.data, this.m[i], this.v[i], lr, this.beta1, this.beta2, this.eps,
        this.decays[i] ? this.weightDecay : 0, this.step);
    });
  }

  state(): OptimizerState {
    const tensors: Record<string, Float32Array> = {};
    this.params.forEach((_, i) => {
      tensors[`m.${i}`] = this.m[i];
      tensors[`v.${i}`] = this.v[i];
    });
    return { kind: 'adamw', step: this.step, hyper: { beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay }, tensors };
  }

  loadState(s: OptimizerState): void {
    this.checkSlots(s, 'adamw', ['m', 'v']);
    this.step = s.step;
    this.params.forEach((_, i) => {
      this.m[i].set(s.tensors[`m.${i}`]);
      this.v[i].set(s.tensors[`v.${i}`]);
    });
  }
}

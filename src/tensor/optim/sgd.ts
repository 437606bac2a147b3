// SGD with optional momentum (PyTorch's formulation), Nesterov and L2 weight decay.
import { K } from '../ops/util.js';
import type { Tensor } from '../tensor.js';
import { Optimizer, type OptimizerState } from './optimizer.js';

export interface SgdOptions { momentum?: number; weightDecay?: number; nesterov?: boolean }

export class SGD extends Optimizer {
  readonly momentum: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  private readonly buf: Float32Array[] | null;

  constructor(params: Tensor[], opts: SgdOptions = {}) {
    super(params);
    this.momentum = opts.momentum ?? 0;
    this.weightDecay = opts.weightDecay ?? 0;
    this.nesterov = opts.nesterov ?? false;
    this.buf = this.momentum > 0 ? params.map((p) => new Float32Array(p.size)) : null;
  }

  update(lr: number): void {
    this.step++;
    this.params.forEach((p, i) => {
      if (!p.grad) return;
      p.version++;
      K.sgd(p.data, p.grad.data, this.buf ? this.buf[i] : null, lr, this.momentum, this.weightDecay, +this.nesterov);
    });
  }

  state(): OptimizerState {
    const tensors: Record<string, Float32Array> = {};
    this.buf?.forEach((b, i) => (tensors[`momentum.${i}`] = b));
    return { kind: 'sgd', step: this.step, hyper: { momentum: this.momentum, weightDecay: this.weightDecay, nesterov: this.nesterov }, tensors };
  }

  loadState(s: OptimizerState): void {
    this.checkSlots(s, 'sgd', this.buf ? ['momentum'] : []);
    this.step = s.step;
    this.buf?.forEach((b, i) => b.set(s.tensors[`momentum.${i}`]));
  }
}

// The tensor engine: tensors, autograd, differentiable ops, optimizers, safetensors I/O.
export { Tensor, tensor, zeros, full, parameter, fromData, numel, type GradNode, type BackwardContext } from './tensor.js';
export { backward, noGrad, isGradEnabled } from './autograd.js';
export { tidy, allocF32, poolStats, clearPool } from './pool.js';
export * as F from './ops/index.js';
export * from './optim/index.js';
export { Rng } from './rng.js';

// Every differentiable op, one concept per file.
export { matmul, type MatmulOptions } from './matmul.js';
export { linear } from './linear.js';
export { linearBf16, bf16Of, toBf16, dropPackedWeights, hasPackedWeight } from './linear_bf16.js';
export { add, sub, mul, div, maximum, minimum } from './binary.js';
export { unary, exp, log, sqrt, tanh, sigmoid, logSigmoid, silu, neg, relu, square, abs, rsqrt, gelu, type UnaryName } from './unary.js';
export { affine, scale, addScalar } from './scalar.js';
export { sum, mean, max } from './reduce.js';
export { softmax, logSoftmax } from './softmax.js';
export { crossEntropy, type CrossEntropyOptions } from './cross_entropy.js';
export { rmsnorm } from './rmsnorm.js';
export { rope, ropePositions, type RopeOptions } from './rope.js';
export { attention, type AttentionOptions } from './attention.js';
export { embedding } from './embedding.js';
export { reshape, permute, transpose, slice, concat } from './shape.js';
export { gather } from './gather.js';
export { maskedFill, clamp } from './mask.js';

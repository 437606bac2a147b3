export { Optimizer, type OptimizerState } from './optimizer.js';
export { AdamW, type AdamWOptions } from './adamw.js';
export { SGD, type SgdOptions } from './sgd.js';
export { clipGradNorm } from './clip.js';
export { cosineLr, type CosineSchedule } from './schedule.js';

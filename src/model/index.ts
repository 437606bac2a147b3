// The model stage: configuration, the transformer, generation, checkpoints.
export { type ModelConfig, PRESETS, parseModelConfig, parameterCount, trainFlopsPerToken, swigluHidden } from './config.js';
export { Transformer, parameterSpecs, type ForwardOptions } from './transformer.js';
export { KVCache } from './kv_cache.js';
export { generate, generateBatch, infill, type GenerateOptions, type Generation } from './generate.js';
export { sampleToken, type SamplingOptions } from './sampling.js';
export { saveCheckpoint, loadCheckpoint, loadModel, latestCheckpoint, listCheckpoints } from './checkpoint.js';
export { loadSafetensors, saveSafetensors, encodeSafetensors, decodeSafetensors } from './safetensors.js';

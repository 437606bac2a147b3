// The model stage: configuration, the transformer, generation, checkpoints.
export { type ModelConfig, type Architecture, ARCHITECTURES, PRESETS, parseModelConfig, parameterCount, trainFlopsPerToken, swigluHidden, headDimOf } from './config.js';
export { Transformer, parameterSpecs, type ForwardOptions, type WeightSource } from './transformer.js';
export { hfConfigToModelConfig, modelConfigToHf, hfTokenIds, type HfTokenIds } from './hf_config.js';
export { hfParamName, hcxParamName, hfToHcxTensors } from './hf_names.js';
export { PackedWeight, type WeightData, type WeightFormat } from './weights.js';
export { type AttentionBackend, type AttentionSpec, fullCausal, CachedAttention, PackedAttention } from './attention_backends.js';
export { KVCache } from './kv_cache.js';
export { generate, generateBatch, infill, type GenerateOptions, type Generation } from './generate.js';
export { sampleToken, type SamplingOptions } from './sampling.js';
export { saveCheckpoint, loadCheckpoint, loadModel, latestCheckpoint, listCheckpoints, tensorSource } from './checkpoint.js';
export { loadSafetensors, saveSafetensors, encodeSafetensors, decodeSafetensors } from './safetensors.js';
export {
  openModel, describeModel, locateModel, resolveComputeDtype, hcxTokenizerOf,
  type OpenedModel, type OpenModelOptions, type ModelDescription, type ModelSource, type ModelKind, type ComputeDtype, type TokenizerLocation,
} from './load.js';

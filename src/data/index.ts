// The data pipeline's public surface (re-exported from the package root).
export { buildDataset, BuildStopped, type BuildOptions, type BuildResult } from './build.js';
export { defaultDemoConfig, type DemoConfigOptions } from './demo.js';
export { validateConfig, ConfigError, type BuildConfig, type SourceConfig } from './config.js';
export { DataLoader, type LoaderState, type LoaderOptions, type Batch } from './loader.js';
export { readIndex, verifyShards, type DatasetIndex, type PhaseIndex, type ShardInfo } from './shards.js';
export { writeDefaultCorpus, defaultCorpusTexts, BUILTIN_PARTS, type CorpusOptions, type CorpusManifest, type BuiltinPart } from './corpus/index.js';
export { ByteEncoder } from './byte-encoder.js';
export { readDocs, type ReadOptions } from './readers.js';
export { QualityFilter, DEFAULT_THRESHOLDS, type FilterThresholds } from './filters.js';
export { scrubPii, findPii, type PiiType } from './pii.js';
export { Deduplicator, MinHasher } from './dedup.js';
export { detectLang, detectCategory } from './detect.js';
export { CATEGORIES, type Category, type Lang, type TextEncoder as TokenEncoder } from './types.js';

// Library API of hcx: everything the CLI does is a call into these modules.
export { native, setThreads, numThreads } from './native/index.js';
export { buildDataset, defaultDemoConfig, DataLoader, writeDefaultCorpus, ByteEncoder, type BuildConfig, type LoaderState, type TokenEncoder } from './data/index.js';
export { Tokenizer, trainTokenizer, Segmenter, SPECIAL_TOKENS, type ChatMessage, type SpecialIds, type TrainTokenizerOptions } from './tokenizer/index.js';
export * as evaluation from './eval/api.js';

// Library API of hcx: everything the CLI does is a call into these modules.
export { native, setThreads, numThreads } from './native/index.js';
export { buildDataset, defaultDemoConfig, DataLoader, writeDefaultCorpus, ByteEncoder, type BuildConfig, type LoaderState, type TokenEncoder } from './data/index.js';
export { Tokenizer, trainTokenizer, Segmenter, SPECIAL_TOKENS, type ChatMessage, type SpecialIds, type TrainTokenizerOptions } from './tokenizer/index.js';
export { openTokenizer, HfTokenizer, ChatTemplate, tokenizerFromGguf, type TextTokenizer, type SpecialTokenIds, type ChatTurn, type ChatEncoding } from './tokenizer/index.js';
export * as evaluation from './eval/api.js';
export * from './tensor/index.js';
export * from './model/index.js';
export { pretrain, loadPretrainConfig, type StepMetrics } from './train/pretrain.js';
export { parsePretrainConfig, type PretrainConfig } from './train/config.js';
export { runDemo } from './demo.js';

// Public API of the tokenizer stage (other stages depend on exactly this; keep it stable).
export { Tokenizer, type EncodeOptions, type TokenizerFile } from './tokenizer.js';
export { trainTokenizer, type TrainTokenizerOptions, type TrainProgress } from './train.js';
export { SPECIAL_TOKENS, SPECIAL_NAMES, CHAT_TEMPLATE_JINJA, CHAT_TEMPLATE_JINJA_PLAIN, TOOL_CALL_OPEN, TOOL_CALL_CLOSE, TOOLS_INTRO, TOOLS_OUTRO, chatText, type ChatMessage, type Role, type SpecialIds, type SpecialName } from './special.js';
export { BpeModel } from './bpe.js';
export { Segmenter, type SegmenterWeights } from './segmenter.js';
export { trainSegmenter, crossValidateSegmenter, reverseWord, type SegmenterTrainOptions } from './segmenter-train.js';
export { defaultSegmenter, DEFAULT_SEGMENTER_PATH } from './default-segmenter.js';
export { analyzeSegmenter, readConlluTagged, type SegmenterAnalysis, type TaggedWord } from './segmenter-analysis.js';
export { readConllu, readKiwiEval, scoreBoundaries, projectBoundaries, type GoldWord, type BoundaryScore } from './morph-data.js';
export { pretokenize, patternSource, splitGuided, RuleSplitter, LLAMA3_PATTERN, SPLIT_MODES, type SplitMode, type MorphemeSplitter } from './pretokenize.js';
export { exportDifference, exportWarning, type ExportTarget } from './fidelity.js';
export { wtf8Encode, wtf8Decode, bytesToByteLevel, BYTE_TO_UNICODE } from './utf8.js';
export { exportHf, toHfTokenizerJson, toHfTokenizerConfig } from './hf-export.js';
export { readTexts, sharedDataDir } from './inputs.js';
// Any model's tokenizer (hcx's own, Hugging Face tokenizer.json, GGUF) behind one interface.
export type {
  TextTokenizer, EncodeOptions as TextEncodeOptions, DecodeOptions, SpecialTokenIds, ChatTurn, ChatOptions, ChatEncoding, ContentPart, ToolCall, DecodeStream,
} from './types.js';
export { openTokenizer, findTokenizerFile } from './open.js';
export { HfTokenizer, type TokenizerParts, type WordModel } from './hf/tokenizer.js';
export { buildHfTokenizer, parseTokenizerJson, type HfTokenizerFiles } from './hf/load.js';
export { TokenizerFileError } from './hf/json.js';
export { tokenizerFromGguf, type GgufMeta } from './gguf_tokenizer.js';
export { GGUF_PRE_NAMES } from './gguf_pre.js';
export { ChatTemplate, ChatTemplateError, type ContentRegion } from './chat_template.js';
export { PrefixDecodeStream } from './decode_stream.js';
export { translateOniguruma, compileOniguruma, RegexTranslationError } from './hf/regex.js';

// llama.cpp's pre-tokenizers for "gpt2" (byte-level BPE) GGUF vocabularies, by tokenizer.ggml.pre name: the
// split regexes (applied in order, each splitting the pieces of the previous one, matches and the text between
// them kept as pieces) and the flags llama.cpp sets with them. The regexes are the models' own tokenizer.json
// patterns, as llama.cpp's src/llama-vocab.cpp lists them (its (?:'[sS]|...) spellings of (?i:'s|...) are equal).

export interface GgufPre {
  regexes: string[];
  /** A word that is itself a token is not merged (Llama 3 style). */
  ignoreMerges?: boolean;
  /** BOS is added by default (tokenizer.ggml.add_bos_token overrides). */
  addBos?: boolean;
  /** The chat/completion BOS is disabled (ChatGLM). */
  noBos?: boolean;
}

const CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
const GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const LLAMA3 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const QWEN2 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const GPT4O = `[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+${CONTRACTIONS}?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*${CONTRACTIONS}?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const BLOOM = ' ?[^(\\s|.,!?…。，、।۔،)]+';

const TABLE: [string[], GgufPre][] = [
  [['default'], { regexes: ['[\\p{P}\\$\\+<=>\\^~\\|]+', GPT2, '\\p{N}+', '[0-9][0-9][0-9]'] }],
  [['llama3', 'llama-v3', 'llama-bpe', 'falcon3', 'falcon-h1', 'pixtral', 'midm-2.0', 'lfm2', 'jina-v5-nano'], { regexes: [LLAMA3], ignoreMerges: true, addBos: true }],
  [['dbrx', 'smaug-bpe'], { regexes: [LLAMA3] }],
  [['jais-2'], { regexes: [`${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s{512}(?!\\S)|\\s{256}(?!\\S)|\\s{128}(?!\\S)|\\s{64}(?!\\S)|\\s{32}(?!\\S)|\\s{16}(?!\\S)|\\s{8}(?!\\S)|\\s{4}(?!\\S)|\\s{1,2}(?!\\S)|\\s{1}`] }],
  [['deepseek-llm'], { regexes: ['[\r\n]', '\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+', '\\s?[!-/:-~！-／：-～‘-‟　-。]+', '\\s+$', '[一-龥ࠀ-一가-퟿]+', '\\p{N}+'] }],
  [['deepseek-v3', 'hunyuan-dense', 'joyai-llm'], { regexes: ['\\p{N}{1,3}', '[一-龥぀-ゟ゠-ヿ]+', "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"] }],
  [['deepseek-coder'], { regexes: ['[\r\n]', '\\s?\\p{L}+', '\\s?\\p{P}+', '[一-龥ࠀ-一가-퟿]+', '\\p{N}'] }],
  [['falcon'], { regexes: ['[\\p{P}\\$\\+<=>\\^~\\|`]+', GPT2, '[0-9][0-9][0-9]'] }],
  [['starcoder', 'refact', 'command-r', 'smollm', 'codeshell', 'exaone', 'minerva-7b', 'mellum2'], { regexes: ['\\p{N}', GPT2] }],
  [['gpt-2', 'phi-2', 'jina-es', 'jina-de', 'gigachat', 'jina-v2-es', 'jina-v2-de', 'a.x-4.0', 'mellum', 'modern-bert', 'mpt', 'olmo', 'jais',
    'trillion', 'granite-docling', 'exaone4', 'jina-v1-en', 'jina-v2-code', 'roberta-bpe'], { regexes: [GPT2] }],
  [['qwen2', 'deepseek-r1-qwen', 'kormo', 'f2llmv2', 'stablelm2', 'hunyuan', 'solar-open', 'megrez', 'grok-2'], { regexes: [QWEN2] }],
  [['qwen35'], { regexes: [`${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`] }],
  [['poro-chat', 'bloom', 'gpt3-finnish'], { regexes: [BLOOM] }],
  [['viking'], { regexes: [BLOOM, '\\p{N}'] }],
  [['glm4', 'chatglm-bpe'], { regexes: [LLAMA3], noBos: true }],
  [['tekken'], { regexes: ['[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+'], ignoreMerges: true, addBos: true }],
  [['gpt-4o', 'llama4', 'kanana2', 'talkie', 'minimax-m2'], { regexes: [GPT4O] }],
  [['tiny_aya', 'cohere2moe'], { regexes: ['\\d{1,3}(?=(?:\\d{3})*\\b)', GPT4O] }],
  [['superbpe'], { regexes: ['\\p{N}+', '(?=(\\d{3})+(?!\\d))'] }],
  [['bailingmoe', 'bailingmoe2', 'llada-moe'], { regexes: ["'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"] }],
  [['seed-coder'], { regexes: [`${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`] }],
  [['laguna'], { regexes: ['[^\\n]+|[\\n]+', QWEN2] }],
  [['exaone-moe'], { regexes: [`${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]?|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+`] }],
  [['minicpm5'], { regexes: ['\\p{N}{1,3}', `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`], ignoreMerges: true }],
];

const BY_NAME = new Map<string, GgufPre>();
for (const [names, pre] of TABLE) for (const n of names) BY_NAME.set(n, pre);

/** The pre-tokenizer for a tokenizer.ggml.pre value (missing: llama.cpp's 'default'), or null when unknown. */
export function ggufPre(name: string | undefined): GgufPre | null {
  return BY_NAME.get(name === undefined || name === '' ? 'default' : name) ?? null;
}

export const GGUF_PRE_NAMES = [...BY_NAME.keys()];

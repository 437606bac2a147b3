// The tokenizer inside a GGUF file (tokenizer.ggml.*), built to tokenize as llama.cpp does:
// - "gpt2": byte-level BPE. tokenizer.ggml.pre names llama.cpp's split regexes (gguf_pre.ts); merges by rank,
//   a pair listed twice keeping its first rank; BOS added by default for llama3-style vocabularies.
// - "llama": SentencePiece-style, merged by token score (spm.ts); spaces become ▁ and each text fragment gets
//   a leading ▁ (tokenizer.ggml.add_space_prefix, default true); BOS added by default.
// CONTROL (and UNKNOWN) tokens are special: matched in text only when special tokens are allowed;
// USER_DEFINED tokens always match. Tokens are found longest first, as llama.cpp partitions text.
import { EOT_STRINGS } from './hf/load.js';
import { type AddedToken } from './hf/added_tokens.js';
import { BpeModel } from './hf/bpe.js';
import { parseDecoder } from './hf/decoders.js';
import { Where } from './hf/json.js';
import type { Normalizer } from './hf/normalizers.js';
import { parsePreTokenizer } from './hf/pre_tokenizers.js';
import { HfTokenizer } from './hf/tokenizer.js';
import { prependText, replaceRanges } from './hf/text.js';
import { findMatches } from './hf/regex.js';
import { ggufPre } from './gguf_pre.js';
import { SpmModel } from './spm.js';
import type { SpecialTokenIds } from './types.js';

/** A GGUF metadata value as src/model/gguf.ts reads it. */
export type GgufMeta = ReadonlyMap<string, { type: number; value: unknown; itemType?: number }>;

const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

class Meta {
  constructor(private readonly m: GgufMeta, private readonly file: string) {}
  err(key: string, msg: string): Error { return new Error(`${this.file}: ${key}: ${msg}`); }
  has(key: string): boolean { return this.m.has(key); }
  str(key: string): string | undefined {
    const v = this.m.get(key);
    if (v === undefined) return undefined;
    if (typeof v.value !== 'string') throw this.err(key, `expected a string, got ${typeof v.value}`);
    return v.value;
  }
  int(key: string): number | undefined {
    const v = this.m.get(key);
    if (v === undefined) return undefined;
    const x = typeof v.value === 'bigint' ? Number(v.value) : v.value;
    if (typeof x !== 'number' || !Number.isInteger(x)) throw this.err(key, `expected an integer, got ${JSON.stringify(v.value)}`);
    return x;
  }
  bool(key: string): boolean | undefined {
    const v = this.m.get(key);
    if (v === undefined) return undefined;
    if (typeof v.value !== 'boolean') throw this.err(key, `expected true or false, got ${JSON.stringify(v.value)}`);
    return v.value;
  }
  array(key: string, kind: 'string' | 'number'): unknown[] | undefined {
    const v = this.m.get(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v.value)) throw this.err(key, 'expected an array');
    for (const x of v.value) if (typeof x !== kind) throw this.err(key, `expected an array of ${kind}s, found ${typeof x}`);
    return v.value as unknown[];
  }
}

/** The tokenizer of a GGUF file's metadata. */
export function tokenizerFromGguf(metadata: GgufMeta, file = 'model.gguf'): HfTokenizer {
  const m = new Meta(metadata, file);
  const model = m.str('tokenizer.ggml.model');
  if (model === undefined) throw m.err('tokenizer.ggml.model', 'missing: the file has no tokenizer');
  if (model !== 'gpt2' && model !== 'llama') throw m.err('tokenizer.ggml.model', `tokenizer model "${model}" is not supported (gpt2 and llama are)`);
  const tokens = m.array('tokenizer.ggml.tokens', 'string') as string[] | undefined;
  if (!tokens || tokens.length === 0) throw m.err('tokenizer.ggml.tokens', 'missing or empty');
  const types = (m.array('tokenizer.ggml.token_type', 'number') as number[] | undefined) ?? tokens.map(() => TOKEN_TYPE.NORMAL);
  if (types.length < tokens.length) throw m.err('tokenizer.ggml.token_type', `has ${types.length} entries for ${tokens.length} tokens`);
  // llama.cpp renames empty tokens so every text is distinct.
  const texts = tokens.map((t, i) => (t === '' ? `[EMPTY_${i}]` : t));
  const kinds = tokenKinds(m, texts, types);
  const added: AddedToken[] = [];
  texts.forEach((content, id) => {
    const k = kinds[id];
    if (k) added.push({ id, content, special: k === 'control', lstrip: false, rstrip: false, singleWord: false, normalized: false });
  });
  const special = specialIds(m, texts, types, model);
  const addBosDefault = model === 'llama' ? true : (ggufPre(m.str('tokenizer.ggml.pre'))?.addBos ?? false);
  const addBos = m.bool('tokenizer.ggml.add_bos_token') ?? addBosDefault;
  const addEos = m.bool('tokenizer.ggml.add_eos_token') ?? false;
  if (addBos && special.bos === null) throw m.err('tokenizer.ggml.add_bos_token', 'is set but the file has no BOS token');
  if (addEos && special.eos === null) throw m.err('tokenizer.ggml.add_eos_token', 'is set but the file has no EOS token');
  const post = { before: addBos ? [special.bos!] : [], after: addEos ? [special.eos!] : [] };
  const named: Record<string, string> = {};
  for (const key of metadata.keys()) {
    if (key.startsWith('tokenizer.chat_template.')) named[key.slice('tokenizer.chat_template.'.length)] = m.str(key)!;
  }
  const templateVars: Record<string, unknown> = {};
  for (const [k, id] of [['bos_token', special.bos], ['eos_token', special.eos], ['unk_token', special.unk], ['pad_token', special.pad]] as const) {
    if (id !== null) templateVars[k] = texts[id];
  }
  const common = {
    kind: 'gguf' as const, source: file, added, post, specialIds: special, templateVars, matching: 'longest-first' as const,
    chatTemplate: m.str('tokenizer.chat_template') ?? null, namedTemplates: named,
  };
  const w = new Where(file, 'tokenizer.ggml');
  if (model === 'gpt2') {
    const preName = m.str('tokenizer.ggml.pre');
    const pre = ggufPre(preName);
    if (!pre) throw m.err('tokenizer.ggml.pre', `pre-tokenizer "${preName}" is not supported`);
    const mergeStrs = m.array('tokenizer.ggml.merges', 'string') as string[] | undefined;
    if (!mergeStrs) throw m.err('tokenizer.ggml.merges', 'missing (a gpt2 vocabulary needs its merges)');
    const merges = mergeStrs.map((s, i): [string, string] => {
      const at = s.indexOf(' ', 1);
      if (at < 0) throw m.err(`tokenizer.ggml.merges[${i}]`, `expected "left right", got ${JSON.stringify(s)}`);
      return [s.slice(0, at), s.slice(at + 1)];
    });
    const vocab = new Map<string, number>();
    texts.forEach((t, id) => vocab.set(t, id));
    const bpe = new BpeModel({ vocab, merges, unkToken: null, continuingSubwordPrefix: null, endOfWordSuffix: null, fuseUnk: false, byteFallback: false, ignoreMerges: pre.ignoreMerges === true, firstMergeWins: true }, w);
    const split = parsePreTokenizer({
      type: 'Sequence',
      pretokenizers: [
        ...pre.regexes.map((r) => ({ type: 'Split', pattern: { Regex: r }, behavior: 'Isolated', invert: false })),
        { type: 'ByteLevel', add_prefix_space: false, use_regex: false },
      ],
    }, new Where(file, `tokenizer.ggml.pre (${preName ?? 'default'})`))!;
    return new HfTokenizer({
      ...common, model: bpe, normalizer: null, preTokenizer: split.run, byteLevelLast: true, isolatingRegex: split.isolatingRegex,
      decoder: parseDecoder({ type: 'ByteLevel' }, w)!,
    });
  }
  const scores = (m.array('tokenizer.ggml.scores', 'number') as number[] | undefined) ?? texts.map(() => 0);
  if (scores.length < texts.length) throw m.err('tokenizer.ggml.scores', `has ${scores.length} entries for ${texts.length} tokens`);
  const spacePrefix = m.bool('tokenizer.ggml.add_space_prefix') ?? true;
  const spm = new SpmModel(texts, scores, special.unk ?? -1, file);
  const space = / /g;
  // Spaces escaped to ▁, and (add_space_prefix) a ▁ before every text fragment: the first, and each after a token.
  const normalizer: Normalizer = (t) => {
    let r = t.s.includes(' ') ? (t.align ? replaceRanges(t, findMatches(space, t.s), '\u2581') : { s: t.s.replace(space, '\u2581'), align: null }) : t;
    if (spacePrefix) r = prependText(r, '\u2581');
    return r;
  };
  const decoder = parseDecoder({
    type: 'Sequence',
    decoders: [
      { type: 'Replace', pattern: { String: '\u2581' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' },
      ...(spacePrefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : []),
    ],
  }, w)!;
  return new HfTokenizer({ ...common, model: spm, normalizer, preTokenizer: null, byteLevelLast: false, decoder });
}

// Tokens llama.cpp makes control tokens by their text when loading a vocabulary (end-of-generation markers,
// and fill-in-the-middle markers when the file names none), and the gpt-oss markers it always renders.
const EOG_TEXTS = ['<|eot_id|>', '<|im_end|>', '<|end|>', '<|return|>', '<|call|>', '<|flush|>', '<|calls|>', '<end_of_turn>', '<|endoftext|>', '</s>',
  '<|eom_id|>', '<EOT>', '_<EOT>', '[EOT]', '[EOS]', '<|end_of_text|>', '<end_of_utterance>', '<eos>', '<turn|>', '<|tool_response>', '<｜end▁of▁sentence｜>', '[e~['];
const DETECTED: [string, string[]][] = [
  ['eot_token_id', ['<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|end_of_text|>', '<EOT>', '_<EOT>', '[EOT]', '<｜end▁of▁sentence｜>', '<end_of_utterance>']],
  ['eom_token_id', ['<|eom_id|>']],
  ['fim_pre_token_id', ['<|fim_prefix|>', '<fim-prefix>', '<fim_prefix>', '<｜fim▁begin｜>', '<PRE>', '▁<PRE>', '<|code_prefix|>', '<|prefix|>']],
  ['fim_suf_token_id', ['<|fim_suffix|>', '<fim-suffix>', '<fim_suffix>', '<｜fim▁hole｜>', '<SUF>', '▁<SUF>', '<|code_suffix|>', '<|suffix|>']],
  ['fim_mid_token_id', ['<|fim_middle|>', '<fim-middle>', '<fim_middle>', '<｜fim▁end｜>', '<MID>', '▁<MID>', '<|code_middle|>', '<|middle|>']],
  ['fim_pad_token_id', ['<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '[PAD]']],
  ['fim_rep_token_id', ['<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>']],
  ['fim_sep_token_id', ['<|file_sep|>']],
];
const ALWAYS_RENDERED = ['<|channel|>', '<|message|>', '<|start|>', '<|constrain|>'];

/** Per id: 'control' (special), 'user' (user-defined: always matched) or null, as llama.cpp's loader leaves them. */
function tokenKinds(m: Meta, texts: string[], types: number[]): ('control' | 'user' | null)[] {
  const kinds = texts.map((_, i) => {
    const t = types[i];
    return t === TOKEN_TYPE.CONTROL || t === TOKEN_TYPE.UNKNOWN ? 'control' as const : t === TOKEN_TYPE.USER_DEFINED ? 'user' as const : null;
  });
  const byText = new Map<string, number>();
  texts.forEach((t, i) => byText.set(t, i));
  for (const [key, list] of DETECTED) {
    if (m.has(`tokenizer.ggml.${key}`)) continue;
    const i = list.map((t) => byText.get(t)).find((x) => x !== undefined);
    if (i !== undefined) kinds[i] = 'control';
  }
  for (const t of EOG_TEXTS) { const i = byText.get(t); if (i !== undefined) kinds[i] = 'control'; }
  for (const t of ALWAYS_RENDERED) { const i = byText.get(t); if (i !== undefined) kinds[i] = 'user'; }
  return kinds;
}

function specialIds(m: Meta, texts: string[], types: number[], model: string): SpecialTokenIds {
  const n = texts.length;
  const id = (key: string, dflt: number | null): number | null => {
    const v = m.int(`tokenizer.ggml.${key}`);
    if (v === undefined) return dflt !== null && dflt < n ? dflt : null;
    if (v < 0 || v >= n) throw m.err(`tokenizer.ggml.${key}`, `token ${v} is outside the vocabulary of ${n}`);
    return v;
  };
  const spm = model === 'llama';
  let bos = id('bos_token_id', spm ? 1 : 11);
  if (!spm && ggufPre(m.str('tokenizer.ggml.pre'))?.noBos) bos = null;
  const eos = id('eos_token_id', spm ? 2 : 11), unk = id('unknown_token_id', spm ? 0 : null);
  const pad = id('padding_token_id', null), eom = id('eom_token_id', null);
  let eot = id('eot_token_id', null);
  if (eot === null) {
    for (const s of EOT_STRINGS) {
      const i = texts.indexOf(s);
      if (i >= 0 && types[i] === TOKEN_TYPE.CONTROL) { eot = i; break; }
    }
  }
  const stop = new Set<number>();
  for (const x of [eos, eot, eom]) if (x !== null) stop.add(x);
  const stopTok = texts.indexOf('<|stop|>');
  if (eot !== null && texts[eot] === '<|endofturn|>' && stopTok >= 0) stop.add(stopTok);
  const fp = id('fim_pre_token_id', null), fs = id('fim_suf_token_id', null), fm = id('fim_mid_token_id', null);
  return {
    bos, eos, eot, pad, unk, stop: [...stop].sort((a, b) => a - b),
    fim: fp !== null && fs !== null && fm !== null ? { prefix: fp, suffix: fs, middle: fm } : null,
  };
}

// Building a tokenizer from Hugging Face files: tokenizer.json (the pipeline), tokenizer_config.json and
// special_tokens_map.json (which added tokens are BOS/EOS/PAD/UNK, the chat template), chat_template.jinja,
// generation_config.json (the eos ids generation stops at). Every unsupported component or malformed field is
// an error naming the file and the field.
import { tokenContent } from '../chat_template.js';
import type { SpecialTokenIds } from '../types.js';
import type { AddedToken } from './added_tokens.js';
import { BpeModel } from './bpe.js';
import { parseDecoder, parsePostProcessor } from './decoders.js';
import { type Json, Where, arr, bool, num, obj, optStr } from './json.js';
import { parseNormalizer } from './normalizers.js';
import { parsePreTokenizer } from './pre_tokenizers.js';
import { HfTokenizer, type TokenizerParts } from './tokenizer.js';

export interface HfTokenizerFiles {
  /** Parsed tokenizer.json. */
  tokenizer: unknown;
  tokenizerFile?: string;
  /** Parsed tokenizer_config.json. */
  config?: unknown;
  configFile?: string;
  specialTokensMap?: unknown;
  specialTokensMapFile?: string;
  /** Contents of chat_template.jinja (takes precedence over the config's chat_template). */
  chatTemplate?: string | null;
  generationConfig?: unknown;
  generationConfigFile?: string;
}

/** The pipeline parts of a tokenizer.json. */
export function parseTokenizerJson(json: unknown, file = 'tokenizer.json'): Pick<TokenizerParts, 'model' | 'normalizer' | 'preTokenizer' | 'byteLevelLast' | 'usesFirst' | 'isolatingRegex' | 'added' | 'post' | 'decoder'> {
  const root = new Where(file, '');
  const t = obj(json, root);
  if (t.format === 'hcx-tokenizer') throw root.error('this is an hcx tokenizer file, not a Hugging Face tokenizer.json');
  const mw = root.at('model');
  const m = obj(t.model, mw);
  const type = m.type ?? (m.merges !== undefined ? 'BPE' : undefined);
  if (type !== 'BPE') throw mw.unsupported('model', type);
  const dropout = m.dropout;
  if (dropout !== undefined && dropout !== null && dropout !== 0) throw mw.at('dropout').error(`BPE dropout ${JSON.stringify(dropout)} makes encoding random; only null or 0 is supported`);
  const vocabObj = obj(m.vocab, mw.at('vocab'));
  const vocab = new Map<string, number>();
  for (const [k, v] of Object.entries(vocabObj)) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw mw.at('vocab').at(k).error(`expected a token id, got ${JSON.stringify(v)}`);
    vocab.set(k, v);
  }
  // Legacy string merges may start with a "#version" line, which tokenizers skips.
  const rawMerges = arr(m, 'merges', mw).filter((x) => !(typeof x === 'string' && x.startsWith('#version')));
  const merges: [string, string][] = rawMerges.map((x, i) => {
    if (typeof x === 'string') {
      const parts = x.split(' ');
      if (parts.length !== 2) throw mw.at('merges').at(i).error(`expected "left right", got ${JSON.stringify(x)}`);
      return [parts[0], parts[1]];
    }
    if (Array.isArray(x) && x.length === 2 && typeof x[0] === 'string' && typeof x[1] === 'string') return [x[0], x[1]];
    throw mw.at('merges').at(i).error(`expected "left right" or ["left", "right"], got ${JSON.stringify(x)}`);
  });
  const model = new BpeModel({
    vocab, merges,
    unkToken: optStr(m, 'unk_token', mw),
    continuingSubwordPrefix: optStr(m, 'continuing_subword_prefix', mw),
    endOfWordSuffix: optStr(m, 'end_of_word_suffix', mw),
    fuseUnk: bool(m, 'fuse_unk', mw, false),
    byteFallback: bool(m, 'byte_fallback', mw, false),
    ignoreMerges: bool(m, 'ignore_merges', mw, false),
  }, mw);
  const aw = root.at('added_tokens');
  const added: AddedToken[] = (t.added_tokens === undefined || t.added_tokens === null ? [] : arr(t, 'added_tokens', root)).map((x, i) => {
    const w = aw.at(i), a = obj(x, w);
    const content = a.content;
    if (typeof content !== 'string') throw w.at('content').error('expected a string');
    const special = bool(a, 'special', w, false);
    return {
      id: num(a, 'id', w), content, special,
      lstrip: bool(a, 'lstrip', w, false), rstrip: bool(a, 'rstrip', w, false),
      singleWord: bool(a, 'single_word', w, false), normalized: bool(a, 'normalized', w, !special),
    };
  });
  const pre = parsePreTokenizer(t.pre_tokenizer, root.at('pre_tokenizer'));
  return {
    model,
    normalizer: parseNormalizer(t.normalizer, root.at('normalizer')),
    preTokenizer: pre?.run ?? null,
    byteLevelLast: pre?.byteLevelLast ?? false,
    usesFirst: pre?.usesFirst ?? false,
    isolatingRegex: pre?.isolatingRegex ?? null,
    added,
    post: parsePostProcessor(t.post_processor, root.at('post_processor')),
    decoder: parseDecoder(t.decoder, root.at('decoder')),
  };
}

// End-of-turn markers, most specific first (HyperCLOVA X's <|endofturn|> ends a turn; its <|im_end|> ends a block).
export const EOT_STRINGS = ['<|endofturn|>', '<|eot_id|>', '<end_of_turn>', '<|im_end|>', '<|end|>', '<|END_OF_TURN_TOKEN|>', '<|eot|>', '<EOT>'];
const FIM = {
  prefix: ['<|fim_prefix|>', '<fim_prefix>', '<fim-prefix>', '<PRE>', '▁<PRE>', '<|fim▁begin|>'],
  suffix: ['<|fim_suffix|>', '<fim_suffix>', '<fim-suffix>', '<SUF>', '▁<SUF>', '<|fim▁hole|>'],
  middle: ['<|fim_middle|>', '<fim_middle>', '<fim-middle>', '<MID>', '▁<MID>', '<|fim▁end|>'],
};
const TEMPLATE_TOKENS = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'];

/** BOS/EOS/PAD/UNK, end of turn, stop and FIM ids, from the named token strings and generation_config's eos ids. */
export function specialIdsFrom(tokenToId: (s: string) => number | undefined, isSpecial: (id: number) => boolean,
  names: Record<string, string | null>, generationEos: number[]): SpecialTokenIds {
  const id = (k: string) => { const s = names[k]; return s ? tokenToId(s) ?? null : null; };
  const bos = id('bos_token'), eos = id('eos_token'), pad = id('pad_token'), unk = id('unk_token');
  let eot: number | null = null;
  for (const s of EOT_STRINGS) { const i = tokenToId(s); if (i !== undefined && isSpecial(i)) { eot = i; break; } }
  const stop = new Set<number>(generationEos);
  if (eos !== null) stop.add(eos);
  if (eot !== null) stop.add(eot);
  // HyperCLOVA X also stops after a tool call.
  const stopTok = tokenToId('<|stop|>');
  if (eot !== null && tokenToId('<|endofturn|>') === eot && stopTok !== undefined) stop.add(stopTok);
  const find = (list: string[]) => { for (const s of list) { const i = tokenToId(s); if (i !== undefined) return i; } return null; };
  const fp = find(FIM.prefix), fs = find(FIM.suffix), fm = find(FIM.middle);
  return {
    bos, eos, eot, pad, unk,
    stop: [...stop].sort((a, b) => a - b),
    fim: fp !== null && fs !== null && fm !== null ? { prefix: fp, suffix: fs, middle: fm } : null,
  };
}

/** generation_config.json's eos_token_id (a number or a list). */
export function generationEosIds(cfg: unknown, file = 'generation_config.json'): number[] {
  if (cfg === undefined || cfg === null) return [];
  const o = obj(cfg, new Where(file, ''));
  const v = o.eos_token_id;
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  for (const x of list) if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) throw new Where(file, 'eos_token_id').error(`expected token ids, got ${JSON.stringify(v)}`);
  return list as number[];
}

/** The chat template(s) in a tokenizer_config.json: a string, or a list of {name, template}. */
export function configTemplates(cfg: Json | null, file: string): { main: string | null; named: Record<string, string> } {
  const v = cfg?.chat_template;
  if (v === undefined || v === null) return { main: null, named: {} };
  if (typeof v === 'string') return { main: v, named: {} };
  const w = new Where(file, 'chat_template');
  if (!Array.isArray(v)) throw w.error('expected a string or a list of {name, template}');
  const named: Record<string, string> = {};
  v.forEach((x, i) => {
    const o = obj(x, w.at(i));
    if (typeof o.name !== 'string' || typeof o.template !== 'string') throw w.at(i).error('expected {name, template}');
    named[o.name] = o.template;
  });
  return { main: named.default ?? null, named };
}

export function buildHfTokenizer(f: HfTokenizerFiles): HfTokenizer {
  const file = f.tokenizerFile ?? 'tokenizer.json';
  const parts = parseTokenizerJson(f.tokenizer, file);
  const cfgFile = f.configFile ?? 'tokenizer_config.json';
  const cfg = f.config === undefined || f.config === null ? null : obj(f.config, new Where(cfgFile, ''));
  const stm = f.specialTokensMap === undefined || f.specialTokensMap === null ? null : obj(f.specialTokensMap, new Where(f.specialTokensMapFile ?? 'special_tokens_map.json', ''));
  // Token strings: the config first, then special_tokens_map.json.
  const names: Record<string, string | null> = {};
  for (const k of TEMPLATE_TOKENS) {
    const v = cfg?.[k] ?? stm?.[k];
    if (v === undefined || v === null) { names[k] = null; continue; }
    const s = tokenContent(v);
    if (s === null) throw new Where(cfg?.[k] !== undefined ? cfgFile : 'special_tokens_map.json', k).error(`expected a token string or {content: ...}, got ${JSON.stringify(v)}`);
    names[k] = s;
  }
  const addedIds = new Map(parts.added.map((a) => [a.content, a]));
  const tokenToId = (s: string) => addedIds.get(s)?.id ?? parts.model.id(s);
  const specialSet = new Set(parts.added.filter((a) => a.special).map((a) => a.id));
  for (const k of ['bos_token', 'eos_token', 'pad_token', 'unk_token']) {
    if (names[k] && tokenToId(names[k]!) === undefined) throw new Where(cfg?.[k] !== undefined ? cfgFile : 'special_tokens_map.json', k).error(`${JSON.stringify(names[k])} is not a token of ${file}`);
  }
  const specialIds = specialIdsFrom(tokenToId, (i) => specialSet.has(i), names, generationEosIds(f.generationConfig, f.generationConfigFile));
  const templates = configTemplates(cfg, cfgFile);
  const templateVars: Record<string, unknown> = {};
  for (const k of TEMPLATE_TOKENS) if (names[k] !== null) templateVars[k] = names[k];
  const extra = cfg?.additional_special_tokens ?? stm?.additional_special_tokens;
  if (Array.isArray(extra)) templateVars.additional_special_tokens = extra.map(tokenContent).filter((s) => s !== null);
  return new HfTokenizer({
    kind: 'hf', source: file, ...parts, specialIds,
    chatTemplate: f.chatTemplate ?? templates.main,
    namedTemplates: templates.named,
    templateVars,
  });
}

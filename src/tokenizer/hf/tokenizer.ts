// A tokenizer assembled from tokenizer.json parts (or from a GGUF's vocabulary): added tokens, normalizer,
// pre-tokenizer, model, post-processor, decoder, run in Hugging Face tokenizers' order.
import { ChatTemplate } from '../chat_template.js';
import { encodeChatWithTemplate } from '../chat_encode.js';
import { PrefixDecodeStream } from '../decode_stream.js';
import type {
  ChatEncoding, ChatOptions, ChatTurn, DecodeOptions, DecodeStream, EncodeOptions, SpecialTokenIds, TextTokenizer,
} from '../types.js';
import { type AddedMatcher, type AddedToken, AddedTokenMatcher, LongestFirstMatcher } from './added_tokens.js';
import { type ParsedDecoder, type PostProcessor, CHAR_TO_BYTE } from './decoders.js';
import type { Normalizer } from './normalizers.js';
import type { PreTokenizer, Split } from './pre_tokenizers.js';
import { type AlignedText, aligned, inputRange, sliceText } from './text.js';

/** The model step: one pre-token ("word") to ids. */
export interface WordModel {
  /** Largest model id + 1. */
  readonly size: number;
  /** Appends the ids of `word` (byteLevel: its UTF-8 bytes stand for GPT-2 byte characters); spans: per token [start, end) in word's units. */
  tokenize(word: string, byteLevel: boolean, out: number[], spans?: number[]): void;
  token(id: number): string | undefined;
  id(token: string): number | undefined;
}

export interface TokenizerParts {
  kind: 'hf' | 'gguf';
  /** File it came from, for messages. */
  source: string;
  model: WordModel;
  normalizer: Normalizer | null;
  preTokenizer: PreTokenizer | null;
  /** The pre-tokenizer ends in ByteLevel, whose byte mapping the model does. */
  byteLevelLast: boolean;
  /** The pre-tokenizer needs to know whether a split starts at input offset 0 (after normalization). */
  usesFirst?: boolean;
  /** The pre-tokenizer is just this isolating regex split (a fast path when no offsets are needed). */
  isolatingRegex?: RegExp | null;
  added: AddedToken[];
  post: PostProcessor | null;
  decoder: ParsedDecoder | null;
  specialIds: SpecialTokenIds;
  /** The model's chat template(s): the default, and named ones (tool_use, ...). */
  chatTemplate: string | null;
  namedTemplates?: Record<string, string>;
  /** Variables templates see: bos_token, eos_token, ... */
  templateVars: Record<string, unknown>;
  /** How added tokens are found: Hugging Face's leftmost-longest (default) or llama.cpp's longest-first. */
  matching?: 'leftmost-longest' | 'longest-first';
}

const ALL = (): boolean => true;
const encoder = new TextEncoder();

export class HfTokenizer implements TextTokenizer {
  readonly kind: 'hf' | 'gguf';
  readonly source: string;
  readonly vocabSize: number;
  readonly specialIds: SpecialTokenIds;
  readonly addsBos: boolean;
  readonly chatTemplate: string | null;
  readonly parts: TokenizerParts;
  private readonly raw: AddedMatcher;
  private readonly normalizedMatcher: AddedTokenMatcher | null;
  private readonly addedById = new Map<number, AddedToken>();
  private readonly addedByContent = new Map<string, AddedToken>();
  /** What decode reads for an added token: its normalized form when it is matched normalized (tokenizers does so). */
  private readonly decodeAs = new Map<number, string>();
  private templates = new Map<string, ChatTemplate>();

  constructor(p: TokenizerParts) {
    this.parts = p;
    this.kind = p.kind;
    this.source = p.source;
    this.specialIds = p.specialIds;
    this.chatTemplate = p.chatTemplate;
    for (const t of p.added) { this.addedById.set(t.id, t); this.addedByContent.set(t.content, t); }
    // Two passes, as tokenizers does: normalized=false tokens in the raw text, then normalized=true ones
    // (by their normalized form) in the normalized text between.
    const longestFirst = p.matching === 'longest-first';
    this.raw = longestFirst ? new LongestFirstMatcher(p.added) : new AddedTokenMatcher(p.added.filter((t) => !t.normalized));
    const norm = longestFirst ? [] : p.added.filter((t) => t.normalized);
    this.normalizedMatcher = norm.length > 0
      ? new AddedTokenMatcher(norm.map((t) => ({ ...t, content: p.normalizer ? p.normalizer({ s: t.content, align: null }).s : t.content })))
      : null;
    if (p.normalizer) for (const t of norm) this.decodeAs.set(t.id, p.normalizer({ s: t.content, align: null }).s);
    let max = p.model.size;
    for (const t of p.added) max = Math.max(max, t.id + 1);
    this.vocabSize = max;
    const bos = p.specialIds.bos;
    this.addsBos = bos !== null && p.post !== null && p.post.before.includes(bos);
  }

  /** Strings of the special added tokens. */
  get specialStrings(): string[] {
    return [...this.addedById.values()].filter((t) => t.special).map((t) => t.content);
  }

  encode(text: string, opts?: EncodeOptions): number[] {
    const ids: number[] = [];
    this.run(text, opts?.allowSpecial ? ALL : notSpecial, ids, null);
    if (opts?.addSpecialTokens && this.parts.post) return [...this.parts.post.before, ...ids, ...this.parts.post.after];
    return ids;
  }

  /** Ids with the input range [start, end) of each token (UTF-16 units of text). */
  encodeWithOffsets(text: string, allowSpecial: (start: number, end: number) => boolean = () => false): { ids: number[]; offsets: number[] } {
    const ids: number[] = [], offsets: number[] = [];
    this.run(text, (t, s, e) => !t.special || allowSpecial(s, e), ids, offsets);
    return { ids, offsets };
  }

  /** The pre-tokens (after normalization) the model sees, for inspection and tests. */
  preTokenize(text: string): string[] {
    const out: string[] = [];
    this.forEachPiece(text, notSpecial, false, () => {}, (sp) => out.push(sp.t.s));
    return out;
  }

  private run(text: string, allow: (t: AddedToken, s: number, e: number) => boolean, ids: number[], offsets: number[] | null): void {
    const model = this.parts.model, bl = this.parts.byteLevelLast;
    const spans: number[] = [];
    this.forEachPiece(text, allow, offsets !== null,
      (tok, s, e) => { ids.push(tok.id); offsets?.push(s, e); },
      (sp, base) => {
        if (!offsets) { model.tokenize(sp.t.s, bl, ids); return; }
        spans.length = 0;
        model.tokenize(sp.t.s, bl, ids, spans);
        for (let k = 0; k < spans.length; k += 2) {
          const [a, b] = inputRange(sp.t, spans[k], spans[k + 1], base);
          offsets.push(a, b);
        }
      });
  }

  /** Added tokens in order with the splits between them, after normalization and pre-tokenization. */
  private forEachPiece(text: string, allow: (t: AddedToken, s: number, e: number) => boolean, track: boolean,
    onToken: (t: AddedToken, s: number, e: number) => void, onSplit: (sp: Split, base: number) => void): void {
    let prev = 0;
    const segment = (a: number, b: number) => {
      // "First" means the split's original text starts at offset 0, so a normalizer that drops leading text
      // (Strip) makes it not first: the first segment is aligned when the pre-tokenizer asks.
      const align = track || (a === 0 && this.parts.usesFirst === true && this.parts.normalizer !== null);
      let t: AlignedText = aligned(a === 0 && b === text.length ? text : text.slice(a, b), a, align);
      if (this.parts.normalizer) t = this.parts.normalizer(t);
      const first = a === 0 && (!t.align || t.s.length === 0 || t.align[0] === 0);
      if (!this.normalizedMatcher) { this.pieces({ t, first }, a, onSplit); return; }
      let p = 0;
      const nAllow = (tok: AddedToken, s: number, e: number) => {
        if (!tok.special) return true;
        const [os, oe] = t.align ? inputRange(t, s, e, a) : [a, b];
        return allow(tok, os, oe);
      };
      for (const m of this.normalizedMatcher.find(t.s, nAllow)) {
        if (m.start > p) this.pieces({ t: sliceText(t, p, m.start), first: first && p === 0 }, a, onSplit);
        const [os, oe] = t.align ? inputRange(t, m.start, m.end, a) : [a, a];
        onToken(this.addedById.get(m.token.id)!, os, oe);
        p = m.end;
      }
      if (p < t.s.length) this.pieces({ t: p === 0 ? t : sliceText(t, p, t.s.length), first: first && p === 0 }, a, onSplit);
    };
    for (const m of this.raw.find(text, allow)) {
      if (m.start > prev) segment(prev, m.start);
      onToken(m.token, m.start, m.end);
      prev = m.end;
    }
    if (prev < text.length) segment(prev, text.length);
  }

  private pieces(sp: Split, base: number, onSplit: (sp: Split, base: number) => void): void {
    if (sp.t.s.length === 0) return;
    const re = this.parts.isolatingRegex;
    if (re && !sp.t.align) {
      // Same pieces as splitAt(..., 'Isolated'), with Oniguruma's empty-match rule, without the arrays.
      const s = sp.t.s;
      let prev = 0, lastEnd = -1;
      re.lastIndex = 0;
      while (re.lastIndex <= s.length) {
        const m = re.exec(s);
        if (m === null) break;
        const start = m.index, end = start + m[0].length;
        if (start === end) {
          re.lastIndex = end + (s.codePointAt(end)! > 0xffff ? 2 : 1);
          if (end === lastEnd) continue;
        }
        if (start > prev) onSplit({ t: { s: s.slice(prev, start), align: null }, first: false }, base);
        if (end > start) onSplit({ t: { s: m[0], align: null }, first: false }, base);
        prev = end; lastEnd = end;
      }
      if (prev < s.length) onSplit({ t: { s: prev === 0 ? s : s.slice(prev), align: null }, first: false }, base);
      return;
    }
    const pre = this.parts.preTokenizer;
    if (!pre) { onSplit(sp, base); return; }
    for (const s of pre([sp])) onSplit(s, base);
  }

  /** The token strings of ids (unknown ids are skipped, as tokenizers does). */
  private tokenStrings(ids: ArrayLike<number>, skipSpecial: boolean): string[] {
    const out: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const a = this.addedById.get(id);
      if (a) { if (!(skipSpecial && a.special)) out.push(this.decodeAs.get(id) ?? a.content); continue; }
      const t = this.parts.model.token(id);
      if (t !== undefined) out.push(t);
    }
    return out;
  }

  decode(ids: ArrayLike<number>, opts?: DecodeOptions): string {
    const tokens = this.tokenStrings(ids, opts?.skipSpecial === true);
    const d = this.parts.decoder;
    return d ? d.run(tokens, true).join('') : tokens.join(' ');
  }

  decodeStream(opts?: DecodeOptions): DecodeStream {
    return new PrefixDecodeStream((ids) => this.decode(ids, opts));
  }

  tokenBytes(id: number): Uint8Array | null {
    const a = this.addedById.get(id);
    const t = a ? a.content : this.parts.model.token(id);
    if (t === undefined) return null;
    const d = this.parts.decoder;
    if (!a && d?.byteLevel) {
      const out: number[] = [];
      for (const ch of t) { const b = CHAR_TO_BYTE.get(ch); if (b === undefined) return encoder.encode(t); out.push(b); }
      return Uint8Array.from(out);
    }
    if (!a && d?.byteFallback) { const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(t); if (m) return Uint8Array.of(parseInt(m[1], 16)); }
    if (a || !d) return encoder.encode(t);
    // The token as it reads after other text (not as the first token, which some decoders strip).
    return encoder.encode(d.run([t], false).join(''));
  }

  idToToken(id: number): string | undefined {
    return this.addedById.get(id)?.content ?? this.parts.model.token(id);
  }

  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.parts.model.id(token);
  }

  isSpecial(id: number): boolean {
    return this.addedById.get(id)?.special === true;
  }

  /** The chat template by name ('default' or a named one such as 'tool_use'). */
  template(name?: string, tools?: unknown[]): ChatTemplate {
    const named = this.parts.namedTemplates ?? {};
    const key = name ?? (tools && tools.length > 0 && named.tool_use ? 'tool_use' : 'default');
    const src = key === 'default' ? this.chatTemplate : named[key];
    if (!src) throw new Error(`${this.source}: the tokenizer has no chat template${key === 'default' ? '' : ` named ${key}`} (give one with chat_template.jinja)`);
    let t = this.templates.get(key);
    if (!t) { t = new ChatTemplate(src, this.parts.templateVars, this.source); this.templates.set(key, t); }
    return t;
  }

  renderChatText(messages: readonly ChatTurn[], opts?: ChatOptions): string {
    return this.template(undefined, opts?.tools).render(messages, opts);
  }

  encodeChat(messages: readonly ChatTurn[], opts?: ChatOptions): ChatEncoding {
    const stop = this.specialIds.stop.map((id) => this.idToToken(id)).filter((s): s is string => s !== undefined);
    return encodeChatWithTemplate(this, this.template(undefined, opts?.tools), stop, messages, opts);
  }
}

const notSpecial = (t: AddedToken): boolean => !t.special;

// The Tokenizer: pre-tokenizer (+ morpheme splitter) -> byte-level BPE, special tokens, chat template, files.
import { readFileSync, writeFileSync } from 'node:fs';
import { BpeModel } from './bpe.js';
import { wtf8Decode, wtf8Encode } from './utf8.js';
import { compilePattern, patternSource, splitChunk, SPLIT_MODES, type SplitMode } from './pretokenize.js';
import { Segmenter } from './segmenter.js';
import { chatText, CHAT_TEMPLATE_JINJA, roleName, SPECIAL_NAMES, SPECIAL_TOKENS, type ChatMessage, type SpecialIds } from './special.js';
import { hcxChatEncoding, hcxMessages } from './hcx_chat.js';
import { PrefixDecodeStream } from './decode_stream.js';
import { bytesToByteLevel } from './utf8.js';
import type { ChatEncoding, ChatOptions, ChatTurn, DecodeStream, EncodeOptions, SpecialTokenIds, TextTokenizer } from './types.js';

export type { EncodeOptions } from './types.js';

/** The hcx tokenizer file (JSON). Self-contained: a 'model' split carries its segmenter. */
export interface TokenizerFile {
  format: 'hcx-tokenizer';
  version: 1;
  /** The split mode; whether exports reproduce it exactly is `exportFidelity(split)` (README, Tokenizer). */
  split: SplitMode;
  /** For 'guided': what cut Hangul words into morphemes while training (informative; encoding does not use it). */
  guide?: 'segmenter' | 'rules' | 'none';
  /** The pre-tokenizer regex (informative; the code for `split` is authoritative and must produce it). */
  pattern: string;
  /** base64 of the segmenter model, when split is 'model'. */
  segmenter?: string;
  /** Flat (left, right, result) id triples in rank order; ids 0..255 are the bytes. */
  merges: number[];
  /** Special token string -> id. */
  special: Record<string, number>;
}

const CACHE_LIMIT = 1 << 17;

export class Tokenizer implements TextTokenizer {
  readonly kind = 'hcx' as const;
  /** hcx adds no BOS; `<|endoftext|>` separates documents and is the natural start context. */
  readonly addsBos = false;
  readonly chatTemplate = CHAT_TEMPLATE_JINJA;
  readonly specialIds: SpecialTokenIds;
  readonly bpe: BpeModel;
  readonly split: SplitMode;
  readonly segmenter: Segmenter | null;
  /** For 'guided': what guided training (recorded in the file). */
  readonly guide: 'segmenter' | 'rules' | 'none' | undefined;
  /** Ids of the special tokens (after the learned tokens). */
  readonly special: SpecialIds;
  private readonly re: RegExp;
  private readonly specialRe: RegExp;
  private readonly specialById = new Map<number, string>();
  private readonly idBySpecial = new Map<string, number>();
  // chunk -> ids. Text repeats its words, so most chunks are looked up, not segmented and merged again.
  private cache = new Map<string, number[]>();
  private readonly scratch: number[] = [];
  private readonly wholeChunkLookup: boolean;

  constructor(opts: { merges: Int32Array; split: SplitMode; segmenter?: Segmenter | null; guide?: 'segmenter' | 'rules' | 'none' }) {
    if (!SPLIT_MODES.includes(opts.split)) throw new Error(`tokenizer: unknown split mode "${opts.split}" (${SPLIT_MODES.join(', ')})`);
    if (opts.split === 'model' && !opts.segmenter) throw new Error("tokenizer: split 'model' needs a segmenter");
    this.bpe = new BpeModel(opts.merges);
    this.split = opts.split;
    this.segmenter = opts.split === 'model' ? opts.segmenter! : null;
    this.guide = opts.split === 'guided' ? opts.guide ?? 'none' : undefined;
    // llama.cpp's llama-bpe looks a whole pre-token up in the vocabulary before merging (ignore_merges); the
    // guided mode does the same, and its tokenizer.json says so, so that all three agree.
    this.wholeChunkLookup = opts.split === 'guided';
    this.re = compilePattern(this.split);
    const special: Record<string, number> = {};
    SPECIAL_NAMES.forEach((name, i) => {
      const id = this.bpe.size + i;
      special[name] = id;
      this.specialById.set(id, SPECIAL_TOKENS[name]);
      this.idBySpecial.set(SPECIAL_TOKENS[name], id);
    });
    this.special = Object.freeze(special) as SpecialIds;
    const sp = this.special;
    this.specialIds = Object.freeze({
      bos: sp.eot, eos: sp.eot, eot: sp.endofturn, pad: sp.pad, unk: null,
      stop: [sp.eot, sp.endofturn].sort((a, b) => a - b),
      fim: { prefix: sp.fimPrefix, middle: sp.fimMiddle, suffix: sp.fimSuffix },
    });
    this.specialRe = new RegExp(SPECIAL_NAMES.map((n) => SPECIAL_TOKENS[n].replace(/[|]/g, '\\|')).join('|'), 'g');
  }

  /** Learned tokens plus special tokens. */
  get vocabSize(): number { return this.bpe.size + SPECIAL_NAMES.length; }

  /** Special token strings by id. */
  get specialTokens(): ReadonlyMap<number, string> { return this.specialById; }

  encode(text: string, opts?: EncodeOptions): number[] {
    const out: number[] = [];
    if (!opts?.allowSpecial) { this.encodeOrdinary(text, out); return out; }
    let prev = 0;
    this.specialRe.lastIndex = 0;
    for (let m = this.specialRe.exec(text); m !== null; m = this.specialRe.exec(text)) {
      if (m.index > prev) this.encodeOrdinary(text.slice(prev, m.index), out);
      out.push(this.idBySpecial.get(m[0])!);
      prev = m.index + m[0].length;
    }
    if (prev < text.length) this.encodeOrdinary(text.slice(prev), out);
    return out;
  }

  encodeBatch(texts: readonly string[], opts?: EncodeOptions): number[][] {
    return texts.map((t) => this.encode(t, opts));
  }

  /** Number of tokens of a text (same as encode(text).length). */
  count(text: string): number { return this.encode(text).length; }

  /** Appends the ids of text (special strings read as plain text) to out. */
  encodeOrdinary(text: string, out: number[]): void {
    const re = this.re, cache = this.cache;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const chunk = m[0];
      let ids = cache.get(chunk);
      if (ids === undefined) ids = this.encodeChunk(chunk);
      for (let i = 0; i < ids.length; i++) out.push(ids[i]);
    }
  }

  private encodeChunk(chunk: string): number[] {
    if (this.wholeChunkLookup) {
      const bytes = this.scratch;
      bytes.length = 0;
      wtf8Encode(chunk, bytes);
      const ids: number[] = [];
      const whole = this.bpe.idOf(bytes);
      if (whole >= 0) ids.push(whole); else this.bpe.encodeBytes(bytes, ids);
      return this.remember(chunk, ids);
    }
    const pieces: string[] = [];
    splitChunk(chunk, this.segmenter, pieces);
    const ids: number[] = [];
    const bytes = this.scratch;
    for (const p of pieces) {
      bytes.length = 0;
      wtf8Encode(p, bytes);
      this.bpe.encodeBytes(bytes, ids);
    }
    return this.remember(chunk, ids);
  }

  private remember(chunk: string, ids: number[]): number[] {
    if (this.cache.size >= CACHE_LIMIT) this.cache = new Map();
    this.cache.set(chunk, ids);
    return ids;
  }

  /** The pre-tokens of a text: the pieces that BPE encodes separately. */
  pretokenize(text: string): string[] {
    const out: string[] = [];
    const re = this.re;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) splitChunk(m[0], this.segmenter, out);
    return out;
  }

  /** The bytes of a token (a special token gives its UTF-8 spelling). */
  tokenBytes(id: number): Uint8Array {
    const s = this.specialById.get(id);
    if (s !== undefined) return Uint8Array.from(wtf8Encode(s));
    const b = this.bpe.tokenBytes[id];
    if (!b) throw new Error(`tokenizer: no token ${id} (vocabulary ${this.vocabSize})`);
    return b;
  }

  decodeBytes(ids: ArrayLike<number>, opts?: { skipSpecial?: boolean }): Uint8Array {
    let n = 0;
    const parts: Uint8Array[] = [];
    for (let i = 0; i < ids.length; i++) {
      if (opts?.skipSpecial && this.specialById.has(ids[i])) continue;
      const b = this.tokenBytes(ids[i]); parts.push(b); n += b.length;
    }
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }

  /** Text of ids; decode(encode(s)) === s for every string. Bytes that form no character become U+FFFD. */
  decode(ids: ArrayLike<number>, opts?: { skipSpecial?: boolean }): string {
    return wtf8Decode(this.decodeBytes(ids, opts));
  }

  /** A conversation as ids (see special.ts for the template); contents are encoded as plain text. */
  renderChat(messages: readonly ChatMessage[], opts?: { addGenerationPrompt?: boolean }): number[] {
    return this.renderChatWithMask(messages, opts).ids;
  }

  /** Ids plus a mask that is 1 on the tokens the model is trained to produce (assistant contents and their `<|endofturn|>`). */
  renderChatWithMask(messages: readonly ChatMessage[], opts?: { addGenerationPrompt?: boolean }): { ids: number[]; mask: number[] } {
    const ids: number[] = [], mask: number[] = [];
    for (const m of messages) {
      const role = roleName(m.role);
      ids.push(this.special[role]); mask.push(0);
      const start = ids.length;
      this.encodeOrdinary(m.content, ids);
      ids.push(this.special.endofturn);
      const bit = role === 'assistant' ? 1 : 0;
      for (let i = start; i < ids.length; i++) mask.push(bit);
    }
    if (opts?.addGenerationPrompt) { ids.push(this.special.assistant); mask.push(0); }
    return { ids, mask };
  }

  /** The rendered conversation as text (with special-token strings). */
  renderChatText(messages: readonly ChatTurn[], opts?: ChatOptions): string {
    return chatText(hcxMessages(messages, opts), opts?.addGenerationPrompt);
  }

  // TextTokenizer, for code that serves any model.
  decodeStream(opts?: { skipSpecial?: boolean }): DecodeStream { return new PrefixDecodeStream((ids) => this.decode(ids, opts)); }
  idToToken(id: number): string | undefined {
    return this.specialById.get(id) ?? (id >= 0 && id < this.bpe.size ? bytesToByteLevel(this.bpe.tokenBytes[id]) : undefined);
  }
  tokenToId(token: string): number | undefined {
    if (!this.byTokenString) { this.byTokenString = new Map(); for (let id = this.vocabSize - 1; id >= 0; id--) this.byTokenString.set(this.idToToken(id)!, id); }
    return this.byTokenString.get(token);
  }
  private byTokenString: Map<string, number> | null = null;
  isSpecial(id: number): boolean { return this.specialById.has(id); }
  /** ChatTurn messages: string content (or text parts) and the system/user/assistant roles. */
  encodeChat(messages: readonly ChatTurn[], opts?: ChatOptions): ChatEncoding {
    const msgs = hcxMessages(messages, opts);
    return hcxChatEncoding(msgs, this.renderChatWithMask(msgs, opts), chatText(msgs, opts?.addGenerationPrompt));
  }

  toJSON(): TokenizerFile {
    const special: Record<string, number> = {};
    for (const [id, s] of this.specialById) special[s] = id;
    return {
      format: 'hcx-tokenizer', version: 1, split: this.split, ...(this.guide ? { guide: this.guide } : {}), pattern: patternSource(this.split),
      ...(this.segmenter ? { segmenter: Buffer.from(this.segmenter.toBytes()).toString('base64') } : {}),
      merges: Array.from(this.bpe.merges), special,
    };
  }

  static fromJSON(f: TokenizerFile): Tokenizer {
    if (f.format !== 'hcx-tokenizer' || f.version !== 1) throw new Error('tokenizer: not an hcx tokenizer file (format/version)');
    if (!SPLIT_MODES.includes(f.split)) throw new Error(`tokenizer: unknown split mode "${f.split}" in the file (${SPLIT_MODES.join(', ')})`);
    if (f.merges.length % 3 !== 0) throw new Error('tokenizer: merges must be (left, right, result) triples');
    if (f.pattern !== patternSource(f.split)) throw new Error('tokenizer: file was made with a different pre-tokenizer pattern');
    const segmenter = f.split === 'model' ? Segmenter.fromBytes(Buffer.from(f.segmenter ?? '', 'base64')) : null;
    const tok = new Tokenizer({ merges: Int32Array.from(f.merges), split: f.split, segmenter, guide: f.guide });
    for (const [s, id] of Object.entries(f.special)) {
      if (tok.idBySpecial.get(s) !== id) throw new Error(`tokenizer: special token ${s} has id ${id} in the file, ${tok.idBySpecial.get(s)} here`);
    }
    return tok;
  }

  save(path: string): void { writeFileSync(path, JSON.stringify(this.toJSON())); }

  static load(path: string): Tokenizer {
    return Tokenizer.fromJSON(JSON.parse(readFileSync(path, 'utf8')) as TokenizerFile);
  }
}

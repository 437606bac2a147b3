// A model's own Jinja chat template, rendered with @huggingface/jinja (the engine transformers.js and
// node-llama-cpp use; it strips block whitespace as transformers' environment does), with the variables
// transformers passes: messages, tools, documents, add_generation_prompt, the special-token strings
// (bos_token, eos_token, ...), raise_exception and strftime_now.
//
// locate() also finds where each message's content landed in the rendered text, which SFT's loss mask and
// "special tokens only in the template's own text" need. It renders a second time with every content string
// replaced by a unique sentinel (private-use characters no template alters), splits that rendering into the
// template's literal pieces, and aligns the real rendering against them: a content region is the content itself
// or what the template made of it (trimmed, or any part of it, as long as the template's next piece follows).
// When the template branches on the content so the pieces differ, locate() says which message it could not place.
import { Template } from '@huggingface/jinja';
import type { ChatOptions, ChatTurn } from './types.js';

/** Special-token strings and other variables the template sees (bos_token, eos_token, pad_token, unk_token, ...). */
export type TemplateVars = Record<string, unknown>;

export interface ContentRegion {
  /** Index of the message in the conversation. */
  message: number;
  /** 'content' (a string content), 'part' (a text part of list content), 'reasoning' (reasoning_content). */
  kind: 'content' | 'part' | 'reasoning';
  /** [start, end) in the rendered text. */
  start: number;
  end: number;
}

export class ChatTemplateError extends Error {}

const OPEN = '\ue000', CLOSE = '\ue001';
const SENTINEL = /\ue000([\ue010-\ue019]+)\ue001/g;
const sentinel = (k: number): string => OPEN + String(k).split('').map((d) => String.fromCharCode(0xe010 + Number(d))).join('') + CLOSE;
const sentinelIndex = (digits: string): number => Number([...digits].map((c) => c.charCodeAt(0) - 0xe010).join(''));

interface Slot { message: number; kind: ContentRegion['kind']; text: string }

export class ChatTemplate {
  private readonly compiled: Template;

  /**
   * @param source the Jinja template
   * @param vars   bos_token, eos_token, ... (strings; objects with `content` are read as their content)
   * @param origin where the template came from, for errors (a file name)
   */
  constructor(readonly source: string, readonly vars: TemplateVars = {}, readonly origin = 'chat template') {
    try {
      this.compiled = new Template(source);
    } catch (e) {
      throw new ChatTemplateError(`${origin}: the chat template does not parse: ${(e as Error).message}`);
    }
    routeStripCalls(this.compiled.parsed);
  }

  render(messages: readonly ChatTurn[], opts: ChatOptions = {}): string {
    if (!Array.isArray(messages)) throw new ChatTemplateError('chat: messages must be an array');
    messages.forEach((m, i) => {
      if (!m || typeof m.role !== 'string') throw new ChatTemplateError(`chat: message ${i} has no role`);
    });
    const items: Record<string, unknown> = {
      ...STRIP_HELPERS,
      ...this.vars,
      ...(opts.vars ?? {}),
      messages: structuredClone(messages),
      tools: opts.tools && opts.tools.length > 0 ? structuredClone(opts.tools) : null,
      documents: null,
      add_generation_prompt: opts.addGenerationPrompt === true,
    };
    try {
      return this.compiled.render(items);
    } catch (e) {
      throw new ChatTemplateError(`${this.origin}: the chat template failed on this conversation: ${(e as Error).message}`);
    }
  }

  /** The rendering and where each non-empty content string (and reasoning_content) sits in it. */
  locate(messages: readonly ChatTurn[], opts: ChatOptions = {}): { text: string; regions: ContentRegion[] } {
    const text = this.render(messages, opts);
    const slots: Slot[] = [];
    const masked = messages.map((m, i) => {
      const c: ChatTurn = { ...m };
      if (typeof m.content === 'string' && m.content !== '') {
        c.content = sentinel(slots.length); slots.push({ message: i, kind: 'content', text: m.content });
      } else if (Array.isArray(m.content)) {
        c.content = m.content.map((p) => {
          if (p && p.type === 'text' && typeof p.text === 'string' && p.text !== '') {
            const q = { ...p, text: sentinel(slots.length) }; slots.push({ message: i, kind: 'part', text: p.text }); return q;
          }
          return p;
        });
      }
      if (typeof m.reasoning_content === 'string' && m.reasoning_content !== '') {
        c.reasoning_content = sentinel(slots.length); slots.push({ message: i, kind: 'reasoning', text: m.reasoning_content });
      }
      return c;
    });
    const skeleton = this.render(masked, opts);
    // Literal pieces and the slots between them.
    const pieces: string[] = [], refs: number[] = [];
    let prev = 0;
    SENTINEL.lastIndex = 0;
    for (let m = SENTINEL.exec(skeleton); m !== null; m = SENTINEL.exec(skeleton)) {
      const k = sentinelIndex(m[1]);
      if (!(k < slots.length)) throw new ChatTemplateError(`${this.origin}: the template produced a marker it was never given`);
      pieces.push(skeleton.slice(prev, m.index)); refs.push(k);
      prev = m.index + m[0].length;
    }
    pieces.push(skeleton.slice(prev));
    if (skeleton.includes(OPEN) && refs.length === 0) throw new ChatTemplateError(`${this.origin}: the template altered the content markers`);
    const found = alignPieces(text, pieces, refs.map((k) => slots[k].text));
    if (!found) {
      const missing = slots.filter((_, k) => !refs.includes(k)).map((s) => s.message);
      const hint = missing.length ? ` (it does not print the content of message ${missing[0]} verbatim)` : '';
      throw new ChatTemplateError(`${this.origin}: cannot tell where the messages' content is in the rendered conversation: the template changes its output depending on the content${hint}`);
    }
    const regions = refs.map((k, j) => ({ message: slots[k].message, kind: slots[k].kind, start: found[2 * j], end: found[2 * j + 1] }));
    return { text, regions };
  }
}

/**
 * Positions [start, end) in text of each slot, such that text = pieces[0] X0 pieces[1] X1 ... pieces[n] and each
 * Xj is what the template made of contents[j]: the content itself, a trimmed form, or any part of it. null when
 * no such alignment exists. Backtracks over candidates (bounded).
 */
export function alignPieces(text: string, pieces: string[], contents: string[]): number[] | null {
  const out = new Array<number>(2 * contents.length);
  let budget = 100_000;
  const go = (k: number, pos: number): boolean => {
    if (--budget < 0) return false;
    const piece = pieces[k];
    if (!text.startsWith(piece, pos)) return false;
    pos += piece.length;
    if (k === contents.length) return pos === text.length;
    const c = contents[k], next = pieces[k + 1];
    const tried = new Set<number>();
    const attempt = (len: number): boolean => {
      if (tried.has(len)) return false;
      tried.add(len);
      if (go(k + 1, pos + len)) { out[2 * k] = pos; out[2 * k + 1] = pos + len; return true; }
      return false;
    };
    for (const t of variants(c)) if (text.startsWith(t, pos) && attempt(t.length)) return true;
    // Any part of the content that the template's next piece follows.
    if (next.length > 0) {
      for (let q = text.indexOf(next, pos); q >= 0; q = text.indexOf(next, q + 1)) {
        if (c.includes(text.slice(pos, q)) && attempt(q - pos)) return true;
        if (q - pos > c.length) break;
      }
    } else if (k + 1 === contents.length) {
      const rest = text.slice(pos);
      if (c.includes(rest) && attempt(rest.length)) return true;
    }
    return false;
  };
  return go(0, 0) ? out : null;
}

/** What templates commonly make of a content string: itself, stripped of whitespace or newlines at either end. */
function variants(c: string): string[] {
  const py = /^[\s\x1c-\x1f\x85]+|[\s\x1c-\x1f\x85]+$/g; // Python's str.strip() whitespace
  const out = [c, c.trim(), c.trimStart(), c.trimEnd(), c.replace(py, ''), c.replace(/^\n+|\n+$/g, ''), c.replace(/^\n+/, ''), c.replace(/\n+$/, '')];
  return [...new Set(out)];
}

// @huggingface/jinja ignores the argument of str.strip/lstrip/rstrip (it always strips whitespace), which changes
// e.g. Qwen3's rendering (content.lstrip('\n') keeps leading spaces in Python). Calls with an argument are
// rerouted to helpers with Python's semantics.
const STRIP_HELPERS: Record<string, (s: unknown, chars: unknown) => string> = {
  __hcx_strip: (s, c) => pyStrip(s, c, true, true),
  __hcx_lstrip: (s, c) => pyStrip(s, c, true, false),
  __hcx_rstrip: (s, c) => pyStrip(s, c, false, true),
};

function pyStrip(s: unknown, chars: unknown, left: boolean, right: boolean): string {
  if (typeof s !== 'string') throw new Error(`strip() called on ${typeof s}, not a string`);
  if (chars === null || chars === undefined) return left && right ? s.trim() : left ? s.trimStart() : s.trimEnd();
  if (typeof chars !== 'string') throw new Error('strip() takes a string of characters');
  const set = new Set(chars);
  const cps = [...s];
  let a = 0, b = cps.length;
  if (left) while (a < b && set.has(cps[a])) a++;
  if (right) while (b > a && set.has(cps[b - 1])) b--;
  return cps.slice(a, b).join('');
}

type AstNode = { type?: string; [k: string]: unknown };
function routeStripCalls(node: unknown): void {
  if (Array.isArray(node)) { for (const n of node) routeStripCalls(n); return; }
  if (!node || typeof node !== 'object') return;
  const n = node as AstNode;
  for (const v of Object.values(n)) routeStripCalls(v);
  if (n.type !== 'CallExpression') return;
  const callee = n.callee as AstNode, args = n.args as unknown[];
  if (callee?.type !== 'MemberExpression' || callee.computed || !Array.isArray(args) || args.length !== 1) return;
  const prop = callee.property as AstNode;
  if (prop?.type !== 'Identifier' || !['strip', 'lstrip', 'rstrip'].includes(prop.value as string)) return;
  n.callee = { ...prop, value: `__hcx_${prop.value as string}` };
  n.args = [callee.object, args[0]];
}

/** A token string from tokenizer_config.json: a string, or an AddedToken object with `content`. */
export function tokenContent(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return null;
}

// A byte-level chat tokenizer for tests (ids 0-255 are UTF-8 bytes, then the role and pad tokens), and a
// readable view of a rendered conversation with the trained tokens in ⟦ ⟧.
import type { ChatTokenizer } from '../../src/data/chat/template.js';

export const SPECIAL = { user: 256, assistant: 257, system: 258, endofturn: 259, pad: 260 } as const;
const NAMES: Record<number, string> = { 256: '<|user|>', 257: '<|assistant|>', 258: '<|system|>', 259: '<|endofturn|>', 260: '<|pad|>' };

export function byteChatTokenizer(): ChatTokenizer & { vocabSize: number; decode(ids: ArrayLike<number>): string } {
  const enc = new TextEncoder();
  return {
    special: SPECIAL,
    vocabSize: 261,
    encode: (t) => Array.from(enc.encode(t)),
    decode: (ids) => view(Array.from(ids), undefined),
  };
}

/** Text of ids with special tokens spelled out; with a mask, trained runs wrapped in ⟦ ⟧. */
export function view(ids: ArrayLike<number>, mask?: ArrayLike<number>): string {
  let out = '';
  let bytes: number[] = [];
  let inside = false;
  const flush = () => { out += Buffer.from(bytes).toString('utf8'); bytes = []; };
  for (let i = 0; i < ids.length; i++) {
    const m = mask ? mask[i] === 1 : false;
    if (m !== inside) { flush(); out += m ? '⟦' : '⟧'; inside = m; }
    if (ids[i] < 256) bytes.push(ids[i]);
    else { flush(); out += NAMES[ids[i]] ?? `<${ids[i]}>`; }
  }
  flush();
  return out + (inside ? '⟧' : '');
}

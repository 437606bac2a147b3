// The grammars a request can ask for, compiled once per tokenizer and shape and shared by requests:
// a JSON value of a schema (response_format) and tool calls (tool_choice required or a named function).
// Any tokenizer: the trie is built from each token's bytes (tokenBytes), special tokens left out.
import type { TextTokenizer } from '../tokenizer/index.js';
import { bytes, lit, rep, val, type Frame } from './json_automaton.js';
import type { SchemaNode } from './json_schema.js';
import { Grammar, trieFor } from './token_mask.js';
import { TOOL_CALL_CLOSE, TOOL_CALL_OPEN } from './tool_format.js';
import type { ToolSpec } from './request_chat.js';

const cache = new Map<string, Grammar>();
const CACHE_SIZE = 64;

function cached(key: string, make: () => Grammar): Grammar {
  let g = cache.get(key);
  if (g) { cache.delete(key); cache.set(key, g); return g; } // most recently used last
  g = make();
  cache.set(key, g);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
  return g;
}

const tokenIds = new WeakMap<object, number>();
let nextTok = 1;

function trie(tok: TextTokenizer, vocabSize: number) {
  return trieFor(tok, vocabSize, () => Array.from({ length: vocabSize }, (_, id) => (id < tok.vocabSize && !tok.isSpecial(id) ? tok.tokenBytes(id) : null)));
}

function keyOf(tok: TextTokenizer, vocabSize: number, what: string): string {
  let t = tokenIds.get(tok);
  if (t === undefined) tokenIds.set(tok, (t = nextTok++));
  return `${t}:${vocabSize}:${what}`;
}

/** Output that is one JSON value of `node` (`schemaKey`: the schema's JSON, for the cache). */
export function jsonGrammar(tok: TextTokenizer, vocabSize: number, node: SchemaNode, schemaKey: string, stopTokens: number[]): Grammar {
  return cached(keyOf(tok, vocabSize, `json:${stopTokens.join(',')}:${schemaKey}`), () => new Grammar(trie(tok, vocabSize), [[val(node)]], stopTokens));
}

/** Output that is one or more tool-call blocks (at most maxCalls), each calling one of `tools`. */
export function toolGrammar(tok: TextTokenizer, vocabSize: number, tools: ToolSpec[], maxCalls: number, stopTokens: number[]): Grammar {
  const key = keyOf(tok, vocabSize, `tools:${maxCalls}:${stopTokens.join(',')}:${JSON.stringify(tools.map((t) => [t.name, t.parameters]))}`);
  return cached(key, () => {
    const close = [bytes(`}\n${TOOL_CALL_CLOSE}`)];
    const call = (t: ToolSpec, sep: string): Frame[] => [lit(close), val(t.node), lit([bytes(`${sep}${TOOL_CALL_OPEN}\n{"name": ${JSON.stringify(t.name)}, "arguments": `)])];
    const more = rep(tools.map((t) => call(t, '\n')), maxCalls - 1);
    return new Grammar(trie(tok, vocabSize), tools.map((t) => [more, ...call(t, '')]), stopTokens);
  });
}

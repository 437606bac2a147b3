// Opening the tokenizer of a model directory or file, whatever made it:
// - a directory (or its tokenizer.json): hcx's own format ({"format": "hcx-tokenizer"}) or Hugging Face's
//   tokenizer.json with tokenizer_config.json, special_tokens_map.json, chat_template.jinja (or
//   chat_template.json) and generation_config.json (or config.json) beside it, each optional;
// - a .gguf file: the tokenizer in its metadata.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { readGguf } from '../model/gguf.js';
import { tokenizerFromGguf } from './gguf_tokenizer.js';
import { buildHfTokenizer } from './hf/load.js';
import { Tokenizer, type TokenizerFile } from './tokenizer.js';
import type { TextTokenizer } from './types.js';

function readJson(file: string): unknown {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) { throw new Error(`${file}: cannot read: ${(e as Error).message}`); }
  try { return JSON.parse(text); } catch (e) { throw new Error(`${file}: not valid JSON: ${(e as Error).message}`); }
}

const optional = (dir: string, name: string): { value: unknown; file: string } | null => {
  const f = path.join(dir, name);
  return existsSync(f) ? { value: readJson(f), file: f } : null;
};

/** The chat template from chat_template.jinja, or chat_template.json's {"chat_template": ...}. */
function templateFile(dir: string): string | null {
  const jinja = path.join(dir, 'chat_template.jinja');
  if (existsSync(jinja)) return readFileSync(jinja, 'utf8');
  const json = optional(dir, 'chat_template.json');
  if (!json) return null;
  const t = (json.value as { chat_template?: unknown })?.chat_template;
  if (typeof t !== 'string') throw new Error(`${json.file}: chat_template: expected a string`);
  return t;
}

/** Where a tokenizer lives for a model path: its tokenizer.json, or the .gguf file itself; null when none. */
export function findTokenizerFile(p: string): string | null {
  if (!existsSync(p)) return null;
  if (statSync(p).isDirectory()) {
    const t = path.join(p, 'tokenizer.json');
    return existsSync(t) ? t : null;
  }
  return p.endsWith('.gguf') || p.endsWith('.json') ? p : null;
}

/**
 * The tokenizer of a model directory, a tokenizer.json (hcx's or Hugging Face's; files beside it are read too) or
 * a .gguf file. Errors name the file and field at fault.
 */
export function openTokenizer(p: string): TextTokenizer {
  if (!existsSync(p)) throw new Error(`${p}: no such file or directory`);
  const file = findTokenizerFile(p);
  if (!file) {
    const sp = path.join(p, 'tokenizer.model');
    if (existsSync(sp)) throw new Error(`${p}: has a SentencePiece tokenizer.model but no tokenizer.json; convert it with transformers (AutoTokenizer.from_pretrained(dir).save_pretrained(dir))`);
    throw new Error(`${p}: no tokenizer.json (or .gguf) found`);
  }
  if (file.endsWith('.gguf')) return tokenizerFromGguf(readGguf(file).metadata, file);
  const json = readJson(file);
  if ((json as { format?: unknown })?.format === 'hcx-tokenizer') return Tokenizer.fromJSON(json as TokenizerFile);
  const dir = path.dirname(file);
  const config = optional(dir, 'tokenizer_config.json');
  const stm = optional(dir, 'special_tokens_map.json');
  const gen = optional(dir, 'generation_config.json') ?? optional(dir, 'config.json');
  return buildHfTokenizer({
    tokenizer: json, tokenizerFile: file,
    config: config?.value, configFile: config?.file,
    specialTokensMap: stm?.value, specialTokensMapFile: stm?.file,
    chatTemplate: templateFile(dir),
    generationConfig: gen?.value, generationConfigFile: gen?.file,
  });
}

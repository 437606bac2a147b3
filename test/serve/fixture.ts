// A tiny tokenizer and model for the serving tests: the tokenizer is trained here in milliseconds, the
// model is PRESETS.test widened to its vocabulary, with random weights.
import { PRESETS, type ModelConfig } from '../../src/model/config.js';
import { Transformer } from '../../src/model/transformer.js';
import { generate } from '../../src/model/generate.js';
import { trainTokenizer, type Tokenizer } from '../../src/tokenizer/index.js';
import { Engine, type EngineOptions } from '../../src/serve/engine.js';

const TEXTS = [
  'The quick brown fox jumps over the lazy dog. ',
  'Serving a language model means batching requests that arrive at different times. ',
  '안녕하세요, 만나서 반갑습니다. 오늘 날씨가 좋네요. ',
  'function add(a, b) { return a + b; } const x = add(1, 2); ',
  'Continuous batching lets sequences join and leave the batch at every step. ',
];

const cached = new Map<number, Promise<{ tok: Tokenizer; model: Transformer }>>();

/** The tiny model; `maxSeqLen` beyond 256 for prompts such as a tools block (the weights do not depend on it). */
export function tiny(maxSeqLen = 256): Promise<{ tok: Tokenizer; model: Transformer }> {
  let m = cached.get(maxSeqLen);
  if (!m) cached.set(maxSeqLen, (m = (async () => {
    const tok = await trainTokenizer({ texts: TEXTS.map((t) => t.repeat(3)), vocabSize: 330, split: 'rules' });
    const cfg: ModelConfig = { ...PRESETS.test, vocabSize: tok.vocabSize, maxSeqLen };
    const model = new Transformer(cfg, 11);
    // Keep random replies from ending at once: end-of-turn and end-of-text get very low logits.
    const head = model.param('lm_head.weight');
    for (const id of [tok.special.endofturn, tok.special.eot]) head.data.fill(0, id * cfg.dModel, (id + 1) * cfg.dModel);
    return { tok, model };
  })()));
  return m;
}

export function tinyEngine(tok: Tokenizer, model: Transformer, opts: EngineOptions = {}): Engine {
  return new Engine(model, { blockSize: 8, decode: (ids) => tok.decode(ids, { skipSpecial: true }), ...opts });
}

/** What greedy decoding gives for a chat alone, by the reference (non-engine) generator. */
export function greedyChat(tok: Tokenizer, model: Transformer, content: string, maxTokens: number): string {
  const ids = tok.renderChat([{ role: 'user', content }], { addGenerationPrompt: true });
  const g = generate(model, ids, { maxNewTokens: maxTokens, stopTokens: [tok.special.endofturn, tok.special.eot] });
  return tok.decode(g.ids, { skipSpecial: true });
}

/** log-softmax of the model's next-token logits after each prefix of `ids` (the reference for logprobs). */
export function nextTokenLogprobs(model: Transformer, ids: number[]): Float32Array[] {
  const V = model.config.vocabSize;
  const logits = model.infer(Int32Array.from(ids), 1, ids.length);
  return ids.map((_, p) => {
    const row = logits.data.slice(p * V, (p + 1) * V);
    const mx = Math.max(...row);
    const lse = mx + Math.log(row.reduce((a, x) => a + Math.exp(x - mx), 0));
    return row.map((x) => x - lse);
  });
}

/** What greedy decoding gives for a plain-text prompt by the reference generator (until end-of-text or end-of-turn). */
export function greedyText(tok: Tokenizer, model: Transformer, prompt: string, maxTokens: number): string {
  const g = generate(model, tok.encode(prompt), { maxNewTokens: maxTokens, stopTokens: [tok.special.eot, tok.special.endofturn] });
  return tok.decode(g.ids, { skipSpecial: true });
}

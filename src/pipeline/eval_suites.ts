// Evaluation suites the pipeline runs on every checkpoint of a stage, asynchronously, on a worker:
// held-out loss and perplexity on a few built-in items written for this purpose (never in the training
// corpus), a small greedy generation check, and for chat models a greedy reply to Korean and English
// prompts (in the prompt's language? ended by <|endofturn|>?). Each suite yields to the event loop between items so
// the worker's lease heartbeats keep going.
import { existsSync } from 'node:fs';
import { runTokenizerPath } from '../train/run_tokenizer.js';
import type { Json } from './store.js';
import { pairs, ppo } from './align_suites.js';

export interface SuiteContext {
  /** The run folder the checkpoint belongs to (its tokenizer.json is used). */
  runDir: string;
  /** Called between items (crash points, liveness). */
  alive?: () => void;
}

export interface SuiteResult { metrics: Record<string, number>; samples?: Json }

export const HELDOUT_ITEMS: { lang: 'ko' | 'en' | 'code'; text: string }[] = [
  { lang: 'ko', text: '오늘 아침에는 비가 조금 내렸지만 오후가 되자 하늘이 맑게 개었다. 우리는 공원을 따라 천천히 걸으며 주말 계획을 이야기했다.' },
  { lang: 'ko', text: '도서관은 평일 오전 아홉 시에 문을 열고, 빌린 책은 이 주 안에 돌려주어야 한다.' },
  { lang: 'en', text: 'The committee met on Tuesday to review the budget, and most members agreed that the library needed new shelves before winter.' },
  { lang: 'en', text: 'When the train finally arrived, the platform was crowded with travellers carrying bags, umbrellas and cups of coffee.' },
  { lang: 'code', text: 'function clamp(value, low, high) {\n  if (value < low) return low;\n  if (value > high) return high;\n  return value;\n}\n' },
  { lang: 'code', text: 'def mean(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total / len(xs)\n' },
];

export const GENERATION_PROMPTS = ['서울은', 'The weather', 'function '];

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

async function open(ckDir: string, ctx: SuiteContext) {
  const { openModel } = await import('../model/load.js');
  // The watched run's tokenizer first (the checkpoint may sit elsewhere), else the loader's rule.
  const runTok = runTokenizerPath(ctx.runDir);
  const o = openModel(ckDir, { tokenizer: existsSync(runTok) ? runTok : undefined });
  return { model: o.model, tok: o.tokenizer };
}

async function heldout(ckDir: string, ctx: SuiteContext): Promise<SuiteResult> {
  const { model, tok } = await open(ckDir, ctx);
  const { noGrad, tidy } = await import('../tensor/index.js');
  const per: Record<string, { nll: number; n: number }> = {};
  let nll = 0, n = 0;
  for (const item of HELDOUT_ITEMS) {
    ctx.alive?.();
    const ids = tok.encode(item.text).slice(0, model.config.maxSeqLen + 1);
    const T = ids.length - 1;
    if (T < 1) continue;
    const loss = tidy(() => noGrad(() => model.loss(Int32Array.from(ids.slice(0, T)), Int32Array.from(ids.slice(1)), 1, T).item()));
    nll += loss * T; n += T;
    const p = (per[item.lang] ??= { nll: 0, n: 0 });
    p.nll += loss * T; p.n += T;
    await tick();
  }
  const metrics: Record<string, number> = { loss: nll / n, perplexity: Math.exp(nll / n), tokens: n };
  for (const [lang, p] of Object.entries(per)) metrics[`loss_${lang}`] = p.nll / p.n;
  return { metrics };
}

async function generation(ckDir: string, ctx: SuiteContext): Promise<SuiteResult> {
  const { model, tok } = await open(ckDir, ctx);
  const { generate } = await import('../model/generate.js');
  const samples: { prompt: string; text: string }[] = [];
  let newTokens = 0, distinct = 0, valid = 0;
  for (const prompt of GENERATION_PROMPTS) {
    ctx.alive?.();
    const g = generate(model, tok.encode(prompt), { maxNewTokens: 24, temperature: 0, stopTokens: tok.specialIds.eos !== null ? [tok.specialIds.eos] : [...tok.specialIds.stop], decode: (ids) => tok.decode(ids) });
    const text = g.text ?? tok.decode(g.ids);
    samples.push({ prompt, text });
    newTokens += g.ids.length;
    const pairs = g.ids.slice(1).map((t, i) => `${g.ids[i]},${t}`);
    distinct += pairs.length ? new Set(pairs).size / pairs.length : 0;
    if (text.trim().length > 0 && !text.includes('\uFFFD')) valid++;
    await tick();
  }
  const k = GENERATION_PROMPTS.length;
  return { metrics: { new_tokens: newTokens / k, distinct_2: distinct / k, valid_share: valid / k }, samples };
}

/**
 * Chat prompts for the `chat` suite, phrased unlike the built-in SFT set (src/data/corpus/chat.ts) asks
 * its questions, one turn each, half Korean and half English.
 */
export const CHAT_PROMPTS: { lang: 'ko' | 'en'; prompt: string }[] = [
  { lang: 'ko', prompt: '안녕하세요! 오늘 기분이 어때요?' },
  { lang: 'ko', prompt: '독일의 수도가 어느 도시인지 궁금해요.' },
  { lang: 'ko', prompt: '화성에 대해 짧게 설명해 주세요.' },
  { lang: 'en', prompt: 'Hello! How are you today?' },
  { lang: 'en', prompt: 'Could you tell me which city is the capital of Germany?' },
  { lang: 'en', prompt: 'Say something short about Mars.' },
];

/** The reply's language by script: Hangul syllables against Latin letters. */
export function replyLanguage(text: string): 'ko' | 'en' | 'none' {
  const ko = (text.match(/[\uac00-\ud7a3]/g) ?? []).length, en = (text.match(/[A-Za-z]/g) ?? []).length;
  return ko + en === 0 ? 'none' : ko >= en ? 'ko' : 'en';
}

export interface ChatReply { prompt: string; text: string; tokens: number; stopped: boolean }

/**
 * A greedy one-turn reply in the model's chat template (hcx's, or an imported model's own); `stopped`: it
 * ended with the end-of-turn token (<|endofturn|> for hcx; any stop token where the model has no such role).
 */
export async function chatReply(model: import('../model/transformer.js').Transformer, tok: import('../tokenizer/index.js').TextTokenizer, prompt: string, maxNewTokens = 64): Promise<ChatReply> {
  const { generate } = await import('../model/generate.js');
  const ids = tok.encodeChat([{ role: 'user', content: prompt }], { addGenerationPrompt: true }).ids;
  const stop = tok.specialIds.eot !== null ? [tok.specialIds.eot] : [...tok.specialIds.stop];
  const g = generate(model, ids, { maxNewTokens, temperature: 0, stopTokens: stop, decode: (x) => tok.decode(x) });
  return { prompt, text: g.text ?? tok.decode(g.ids), tokens: g.ids.length, stopped: g.finishReason === 'stop' };
}

/** Does a chat model answer, in the prompt's language, and stop at the end of its turn? */
async function chat(ckDir: string, ctx: SuiteContext): Promise<SuiteResult> {
  const { model, tok } = await open(ckDir, ctx);
  const samples: (ChatReply & { lang: string; reply_lang: string })[] = [];
  for (const p of CHAT_PROMPTS) {
    ctx.alive?.();
    const r = await chatReply(model, tok, p.prompt);
    samples.push({ ...r, lang: p.lang, reply_lang: replyLanguage(r.text) });
    await tick();
  }
  const share = (f: (s: (typeof samples)[number]) => boolean) => samples.filter(f).length / samples.length;
  return {
    metrics: {
      stop_share: share((s) => s.stopped), same_language_share: share((s) => s.reply_lang === s.lang),
      reply_tokens: samples.reduce((a, s) => a + s.tokens, 0) / samples.length,
    },
    samples: samples as unknown as Json,
  };
}

/** By name; `pairs` (reward models) and `ppo` (PPO policies) are in align_suites.ts. */
export const SUITES: Record<string, (ckDir: string, ctx: SuiteContext) => Promise<SuiteResult>> = { heldout, generate: generation, chat, pairs, ppo };

export async function runSuite(name: string, ckDir: string, ctx: SuiteContext): Promise<SuiteResult> {
  const s = SUITES[name];
  if (!s) throw new Error(`unknown evaluation suite "${name}" (have: ${Object.keys(SUITES).join(', ')})`);
  return s(ckDir, ctx);
}

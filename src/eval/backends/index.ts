// Model specs on the command line:
//   openai:<base url>#<model>[,chat][,concurrency=N][,batch=N]   any OpenAI-compatible server (key: $OPENAI_API_KEY)
//   gguf:<path>[#sequences=N,ctx=N,threads=N,cpu]                a local GGUF through node-llama-cpp
//   hcx:<model>[#tokenizer=FILE,batch=N,threads=N,dtype=D]        hcx's own engine on anything openModel opens (registered by
//                                                                 the engine module)
import type { EvalModel, TokenLM } from '../model.js';
import { TokenLMAdapter } from '../model.js';
import { OpenAIModel } from './openai.js';

/** hcx's engine registers a loader here once it can produce a TokenLM (see TokenLM in model.ts). */
const engines: Record<string, (ref: string, opts: Record<string, string>) => Promise<TokenLM>> = {};
export function registerEngine(scheme: string, load: (ref: string, opts: Record<string, string>) => Promise<TokenLM>): void {
  engines[scheme] = load;
}

function parseOpts(s: string | undefined): Record<string, string> {
  const o: Record<string, string> = {};
  for (const part of (s ?? '').split(',').filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq < 0) o[part] = 'true'; else o[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return o;
}

export async function loadModel(spec: string): Promise<EvalModel> {
  const colon = spec.indexOf(':');
  if (colon < 0) throw new Error(`model spec "${spec}" needs a scheme: openai:URL#MODEL, gguf:PATH or hcx:CHECKPOINT`);
  const scheme = spec.slice(0, colon);
  const [ref, optStr] = spec.slice(colon + 1).split('#');
  if (scheme === 'openai') {
    const [model, ...rest] = (optStr ?? '').split(',');
    const o = parseOpts(rest.join(','));
    if (!model) throw new Error('openai spec: give the model name after #, e.g. openai:http://localhost:8000#my-model');
    return new OpenAIModel({
      baseUrl: ref, model, apiKey: process.env.OPENAI_API_KEY, chat: o.chat === 'true',
      concurrency: o.concurrency ? Number(o.concurrency) : undefined, batchSize: o.batch ? Number(o.batch) : undefined,
    });
  }
  const o = parseOpts(optStr);
  if (scheme === 'gguf') {
    const { LlamaCppLM } = await import('./llamacpp.js');
    const lm = await LlamaCppLM.load(ref, {
      sequences: o.sequences ? Number(o.sequences) : undefined, contextSize: o.ctx ? Number(o.ctx) : undefined,
      threads: o.threads ? Number(o.threads) : undefined, gpu: o.cpu === 'true' ? false : 'auto',
    });
    return new TokenLMAdapter(lm);
  }
  // hcx's own engine registers itself when its backend module loads.
  if (scheme === 'hcx' && !engines.hcx) await import('./hcx.js');
  const engine = engines[scheme];
  if (engine) return new TokenLMAdapter(await engine(ref, o));
  throw new Error(scheme === 'hcx' ? 'hcx models cannot be evaluated yet: the engine has not registered a TokenLM loader (registerEngine("hcx", ...))' : `unknown model scheme "${scheme}"`);
}

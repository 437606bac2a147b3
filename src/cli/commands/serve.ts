import { defineCommand } from '../args.js';
import type { RequestLimits } from '../../serve/limits.js';

/** --api-key, else $HCX_API_KEY; an empty key (either way) is an error, never "no authentication". */
export function apiKeyFrom(flag: string | undefined, who: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (flag !== undefined) return flag;
  const k = env.HCX_API_KEY;
  if (k === undefined) return undefined;
  if (k.trim() === '') throw new Error(`${who}: HCX_API_KEY is set but empty; unset it to run without a key, or give a key`);
  return k;
}

export const command = defineCommand({
  summary: 'serve a model: OpenAI-compatible API, continuous batching, web chat at /',
  options: {
    model: { type: 'string', placeholder: 'DIR|FILE', required: true, description: 'a checkpoint, run folder, HF folder or GGUF file' },
    tokenizer: { type: 'string', placeholder: 'FILE', description: 'the tokenizer (default: the model\'s own)' },
    dtype: { type: 'string', choices: ['auto', 'f32', 'bf16'], description: 'compute dtype (default: auto, bf16 where the CPU has bf16 dot products)' },
    port: { type: 'number', integer: true, min: 0, max: 65535, default: 8000, description: 'TCP port (0: any free port)' },
    host: { type: 'string', placeholder: 'ADDR', default: '127.0.0.1', description: 'address to listen on' },
    'api-key': { type: 'string', placeholder: 'KEY', description: 'require "Authorization: Bearer KEY" (default: $HCX_API_KEY)' },
    'served-model-name': { type: 'string', placeholder: 'NAME', description: 'model name in the API (default: the run\'s name: runs/demo/checkpoints/step-600 -> demo)' },
    name: { type: 'string', placeholder: 'NAME', description: 'alias of --served-model-name' },
    'max-body': { type: 'number', integer: true, min: 1, default: 1 << 20, placeholder: 'BYTES', description: 'largest request body' },
    'rate-limit': { type: 'number', integer: true, min: 0, default: 0, placeholder: 'PER_MIN', description: 'requests per minute per client (0: no limit)' },
    'max-queue': { type: 'number', integer: true, min: 1, default: 4096, description: 'waiting requests at most; more get 503' },
    'max-choices': { type: 'number', integer: true, min: 1, default: 64, description: 'choices per request at most (prompts x n)' },
    'max-tokens-limit': { type: 'number', integer: true, min: 1, placeholder: 'TOKENS', description: 'max_tokens of one choice at most (default: the context)' },
    'max-logprobs': { type: 'number', integer: true, min: 0, default: 20, description: 'logprobs / top_logprobs alternatives at most' },
    'max-echo-tokens': { type: 'number', integer: true, min: 0, default: 8192, description: 'prompt tokens scored for echo per request at most' },
    'max-request-tokens': { type: 'number', integer: true, min: 1, default: 262_144, description: 'sum over choices of prompt + max_tokens at most' },
    'drain-ms': { type: 'number', min: 0, default: 10_000, description: 'on SIGINT/SIGTERM, how long in-flight requests may finish' },
    'block-size': { type: 'number', integer: true, min: 1, default: 16, description: 'tokens per KV-cache block' },
    'kv-memory-mb': { type: 'number', min: 1, default: 512, description: 'KV-cache memory' },
    'max-running': { type: 'number', integer: true, min: 1, default: 256, description: 'sequences decoded together at most' },
    'max-batch-tokens': { type: 'number', integer: true, min: 1, default: 512, description: 'tokens per engine step at most' },
    'no-prefix-cache': { type: 'boolean', description: 'do not share KV blocks between requests with the same prefix' },
  },
  notes: 'A request over a per-request limit gets a 400 naming it. Routes: / (chat page), /v1/chat/completions, /v1/completions, /v1/infill, ' +
    '/v1/models, /v1/models/{id}, /tokenize, /detokenize, /tokenizer_info, /v1/stats, /health, /metrics.',
  async run(o) {
    const apiKey = apiKeyFrom(o.apiKey, 'hcx serve');
    const { openModel } = await import('../../model/load.js');
    const { Engine } = await import('../../serve/engine.js');
    const { startServer } = await import('../../serve/server.js');
    const served = openModel(o.model, { tokenizer: o.tokenizer, dtype: o.dtype ?? 'auto' });
    const tok = served.tokenizer;
    const engine = new Engine(served.model, {
      blockSize: o.blockSize,
      kvMemoryBytes: o.kvMemoryMb * 2 ** 20,
      maxRunning: o.maxRunning,
      maxTokensPerStep: o.maxBatchTokens,
      prefixCaching: !o.noPrefixCache,
      decode: (ids) => tok.decode(ids, { skipSpecial: true }),
    });
    const server = await startServer(engine, tok, {
      port: o.port, host: o.host, apiKey, modelName: o.servedModelName ?? o.name ?? served.displayName,
      maxBodyBytes: o.maxBody, rateLimitPerMinute: o.rateLimit, maxQueue: o.maxQueue,
      limits: {
        maxChoices: o.maxChoices, maxLogprobs: o.maxLogprobs, maxEchoTokens: o.maxEchoTokens, maxRequestTokens: o.maxRequestTokens,
        ...(o.maxTokensLimit !== undefined ? { maxTokens: o.maxTokensLimit } : {}),
      } satisfies Partial<RequestLimits>,
    });
    const c = served.model.config;
    console.error(`hcx serve: ${server.ctx.modelName} (${(served.model.numParameters / 1e6).toFixed(1)}M parameters, ${served.model.computeDtype}, context ${c.maxSeqLen}, ` +
      `${engine.blocks.numBlocks} KV blocks of ${engine.blocks.blockSize} = ${(engine.pool.bytes / 2 ** 20).toFixed(0)} MiB) at ${server.url}` +
      (apiKey ? '' : '; no API key: anyone who can reach the port can use it'));
    const drainMs = o.drainMs;
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) { console.error('hcx serve: forced exit'); process.exit(1); }
      stopping = true;
      console.error(`hcx serve: ${sig}: finishing in-flight requests (up to ${drainMs} ms), then exiting`);
      void server.close(drainMs).then(() => process.exit(0));
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    await new Promise<never>(() => {});
  },
});

import type { Command } from '../main.js';
import { flagBool, flagNumber, flagString, parseArgs } from '../args.js';
import { LIMIT_FLAGS, type RequestLimits } from '../../serve/limits.js';

export const command: Command = {
  summary: 'serve a model: OpenAI-compatible API, continuous batching, web chat at /',
  usage: [
    'hcx serve --model DIR|FILE [--tokenizer FILE] [--dtype auto|f32|bf16] [--port 8000] [--host 127.0.0.1] [--api-key KEY]',
    '          [--served-model-name NAME] [--max-body BYTES] [--rate-limit PER_MIN] [--max-queue N] [--drain-ms 10000]',
    '          [--max-choices 64] [--max-tokens-limit CONTEXT] [--max-logprobs 20] [--max-echo-tokens 8192] [--max-request-tokens 262144]',
    '          [--block-size 16] [--kv-memory-mb 512] [--max-running 256] [--max-batch-tokens 512] [--no-prefix-cache]',
    'The served name defaults to the run\'s (runs/demo/checkpoints/step-600 -> demo); --name is an alias.',
    'Per-request limits: prompts x n, max_tokens, logprobs alternatives, echoed prompt tokens scored, and the',
    'sum over choices of prompt + max_tokens; a request over one gets a 400 naming it.',
    'The API key may also come from HCX_API_KEY. Routes: / (chat page), /v1/chat/completions, /v1/completions,',
    '/v1/infill, /v1/models, /v1/models/{id}, /tokenize, /detokenize, /tokenizer_info, /v1/stats, /health, /metrics.',
  ].join('\n'),
  async run(argv) {
    const a = parseArgs(argv);
    const modelPath = flagString(a, 'model');
    if (!modelPath) throw new Error('hcx serve: needs --model DIR|FILE');
    const { loadServedModel } = await import('../../serve/load.js');
    const { Engine } = await import('../../serve/engine.js');
    const { startServer } = await import('../../serve/server.js');
    const served = loadServedModel(modelPath, flagString(a, 'tokenizer'), flagString(a, 'dtype'));
    const tok = served.tok;
    const engine = new Engine(served.model, {
      blockSize: flagNumber(a, 'block-size', 16),
      kvMemoryBytes: flagNumber(a, 'kv-memory-mb', 512) * 2 ** 20,
      maxRunning: flagNumber(a, 'max-running', 256),
      maxTokensPerStep: flagNumber(a, 'max-batch-tokens', 512),
      prefixCaching: !flagBool(a, 'no-prefix-cache'),
      decode: (ids) => tok.decode(ids, { skipSpecial: true }),
    });
    const server = await startServer(engine, tok, {
      port: flagNumber(a, 'port', 8000), host: flagString(a, 'host', '127.0.0.1'),
      apiKey: flagString(a, 'api-key') ?? process.env.HCX_API_KEY, modelName: flagString(a, 'served-model-name') ?? flagString(a, 'name', served.name),
      maxBodyBytes: flagNumber(a, 'max-body', 1 << 20), rateLimitPerMinute: flagNumber(a, 'rate-limit', 0),
      maxQueue: flagNumber(a, 'max-queue', 4096),
      limits: Object.fromEntries((Object.entries(LIMIT_FLAGS) as [keyof RequestLimits, string][])
        .filter(([, f]) => a.flags.has(f)).map(([k, f]) => [k, flagNumber(a, f, 0)])),
    });
    const c = served.model.config;
    console.error(`hcx serve: ${server.ctx.modelName} (${(served.model.numParameters / 1e6).toFixed(1)}M parameters, ${served.model.computeDtype}, context ${c.maxSeqLen}, ` +
      `${engine.blocks.numBlocks} KV blocks of ${engine.blocks.blockSize} = ${(engine.pool.bytes / 2 ** 20).toFixed(0)} MiB) at ${server.url}`);
    const drainMs = flagNumber(a, 'drain-ms', 10_000);
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
};

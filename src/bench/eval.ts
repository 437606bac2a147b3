// `hcx bench eval`: requests per second for loglikelihood and generation through each backend (llama.cpp
// in-process, and the OpenAI-compatible client against a local server over the same model) on a small
// GGUF model, with batching on and off. Default model: the tiny random llama of src/eval/tiny-gguf.ts;
// --model PATH benchmarks another GGUF.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defineCommand, type OptionTable, type Values } from '../cli/args.js';
import type { EvalModel } from '../eval/model.js';
import { TokenLMAdapter } from '../eval/model.js';

interface Row { backend: string; batching: 'on' | 'off'; kind: 'loglikelihood' | 'generate'; requests: number; seconds: number; rps: number }

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

const options = {
  json: { type: 'boolean', description: 'print one JSON document' },
  model: { type: 'string', placeholder: 'GGUF', description: 'benchmark this GGUF (default: a tiny random llama)' },
  requests: { type: 'number', integer: true, min: 1, default: 64, description: 'loglikelihood requests' },
  'gen-requests': { type: 'number', integer: true, min: 1, default: 16, description: 'generation requests' },
  'gen-tokens': { type: 'number', integer: true, min: 1, default: 16, description: 'tokens per generation request' },
  threads: { type: 'number', integer: true, min: 1, default: 1, description: 'llama.cpp threads' },
  embd: { type: 'number', integer: true, min: 4, default: 256, description: 'the tiny model\'s width' },
  layers: { type: 'number', integer: true, min: 1, default: 4, description: 'the tiny model\'s layers' },
  gpu: { type: 'boolean', description: 'let llama.cpp use a GPU' },
} as const satisfies OptionTable;

export const command = defineCommand({ summary: 'eval backends: requests/s of llama.cpp in-process and the OpenAI client over HTTP, batching on and off', options, run });

async function run(o: Values<typeof options>): Promise<void> {
  const { json, requests: nLL, genRequests: nGen, genTokens } = o;
  const threads = o.threads; // llama.cpp threads spin: more than the free cores slows everything down
  const { writeTinyLlamaGguf } = await import('../eval/tiny-gguf.js');
  const { LlamaCppLM } = await import('../eval/backends/llamacpp.js');
  const { OpenAIModel } = await import('../eval/backends/openai.js');
  const { serve } = await import('../eval/serve.js');
  let dir: string | undefined;
  let modelPath = o.model;
  if (!modelPath) {
    dir = mkdtempSync(path.join(os.tmpdir(), 'hcx-bench-eval-'));
    modelPath = path.join(dir, 'tiny.gguf');
    writeTinyLlamaGguf(modelPath, { embd: o.embd, layers: o.layers, ff: 4 * o.embd, heads: 4, ctx: 1024 });
  }
  const ctx = 'Question: Which of these is the best answer to the question that follows this long preamble about nothing in particular?\nAnswer:';
  const llReqs = Array.from({ length: nLL }, (_, i) => ({ context: ctx + ` (${i % 8})`, continuation: [' A', ' B', ' C', ' D'][i % 4] + ' is the answer' }));
  const genReqs = Array.from({ length: nGen }, (_, i) => ({ context: `${ctx} ${i}`, until: [] as string[], maxTokens: genTokens, temperature: 0 }));
  const rows: Row[] = [];
  const measure = async (backend: string, batching: 'on' | 'off', m: EvalModel): Promise<void> => {
    await m.loglikelihood(llReqs.slice(0, 2)); // warm-up
    const s1 = await timeIt(() => m.loglikelihood(llReqs));
    rows.push({ backend, batching, kind: 'loglikelihood', requests: nLL, seconds: s1, rps: nLL / s1 });
    const s2 = await timeIt(() => m.generateUntil(genReqs));
    rows.push({ backend, batching, kind: 'generate', requests: nGen, seconds: s2, rps: nGen / s2 });
  };
  for (const batching of ['off', 'on'] as const) {
    const seqs = batching === 'on' ? 8 : 1;
    const lm = await LlamaCppLM.load(modelPath, { sequences: seqs, contextSize: 512 * seqs, threads, gpu: o.gpu ? 'auto' : false });
    await measure('llama.cpp', batching, new TokenLMAdapter(lm));
    const server = await serve(lm, { modelName: 'bench' });
    const client = new OpenAIModel({ baseUrl: server.url, model: 'bench', concurrency: batching === 'on' ? 8 : 1, batchSize: batching === 'on' ? 8 : 1, retries: 0 });
    await measure('openai-http', batching, client);
    await server.close();
    await lm.close();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
  const meta = { model: o.model ?? 'tiny random llama (hcx tiny-gguf)', threads, genTokens, cpus: os.cpus().length, cpu: os.cpus()[0]?.model };
  if (json) { console.log(JSON.stringify({ suite: 'eval', ...meta, rows }, null, 2)); return; }
  console.log(`hcx bench eval — ${meta.model}, ${threads} threads, ${meta.cpus} CPUs (${meta.cpu})`);
  console.log('backend      batching  kind            requests  seconds   req/s');
  for (const r of rows) console.log(`${r.backend.padEnd(12)} ${r.batching.padEnd(9)} ${r.kind.padEnd(15)} ${String(r.requests).padStart(8)} ${r.seconds.toFixed(3).padStart(8)} ${r.rps.toFixed(1).padStart(7)}`);
}

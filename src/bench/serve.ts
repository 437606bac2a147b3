// `hcx bench serve`: the serving stack under load. A server child process runs `hcx serve`'s engine and
// HTTP server on a small hcx model with random weights (seed 1): by default the `mini` preset (d 512,
// 8 layers, 8 heads / 2 KV heads, SwiGLU 1408, 25M parameters, 50 MB in bf16: bigger than the caches, so
// one sequence's decode step is bound by reading the weights, as in real serving), `--shape peer` for the
// 5M-parameter PyTorch-peer shape; vocabulary 8192 from a tokenizer trained on the built-in corpus; bf16
// where the CPU has it (`--dtype`). This process drives it over loopback (node:http, one keep-alive
// connection per client) with 1, 8, 32 and 128 concurrent streaming clients, each sending a fixed 32-token
// prompt (fresh for every round) for 64 greedy new tokens (ignore_eos, logprobs 0 so every token is one
// SSE event). Rows:
//   hcx             the clients all at once (continuous batching)
//   hcx-sequential  the same number of requests one at a time on the same server
//   llama.cpp       node-llama-cpp decoding the same number of sequences together in one context on the
//                   GGUF hcx exports from the same weights (F16; best of --llama-threads)
// Each system gets a warm-up round, then --repeat rounds (default 3; hcx and hcx-sequential alternate, so
// a change in the shared machine's load hits both); rows are the median round, and hcx_over_sequential is
// the median of the per-round ratios. tokens_per_s = generated tokens / wall time of the round;
// TTFT = first token event - request sent; ITL = gaps between a request's token events.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { defineCommand, type OptionTable, type Values } from '../cli/args.js';
import { table } from './stats.js';

export interface ServeRow {
  system: string;
  clients: number;
  tokens_per_s: number;
  ttft_ms_p50: number;
  ttft_ms_p99: number;
  itl_ms_p50: number;
  itl_ms_p99: number;
  threads?: number;
  wall_s: number;
}

const PROMPT = 32;

const median = (xs: number[]): number => quantile(xs, 0.5);

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

async function benchModel(shape = 'mini') {
  const { PRESETS } = await import('../model/config.js');
  const { Transformer } = await import('../model/transformer.js');
  const { trainTokenizer } = await import('../tokenizer/index.js');
  const { defaultCorpusTexts } = await import('../data/corpus/index.js');
  const parts = defaultCorpusTexts({ koreanBytes: 300_000, englishBytes: 300_000, codeBytes: 300_000 });
  const preset = PRESETS[shape];
  if (!preset) throw new Error(`bench serve: unknown --shape ${shape} (presets: ${Object.keys(PRESETS).join(', ')})`);
  const tok = await trainTokenizer({ texts: Object.values(parts).flat(), vocabSize: Math.min(preset.vocabSize, 8192), split: 'rules' });
  const model = new Transformer({ ...preset, vocabSize: tok.vocabSize }, 1);
  // Prompts: consecutive 32-token windows of the corpus, one per client; each round (warm-up, repeats) takes
  // fresh windows, so no round finds its prompts in the prefix cache.
  const ids = tok.encode(parts.english.slice(0, 3000).join('\n'));
  const prompts = (n: number, round = 0) => Array.from({ length: n }, (_, i) => {
    const at = ((round * n + i) * PROMPT) % (ids.length - PROMPT);
    return ids.slice(at, at + PROMPT);
  });
  return { tok, model, prompts };
}

/** Child: serve the bench model, print the URL, run until stdin closes. */
async function serverWorker(dtype: string | undefined, shape: string): Promise<void> {
  const { Engine } = await import('../serve/engine.js');
  const { startServer } = await import('../serve/server.js');
  const { resolveComputeDtype } = await import('../model/load.js');
  const { tok, model } = await benchModel(shape);
  model.computeDtype = resolveComputeDtype(dtype);
  const engine = new Engine(model, { decode: (ids) => tok.decode(ids, { skipSpecial: true }) });
  const server = await startServer(engine, tok, { modelName: 'bench' });
  process.stdout.write(JSON.stringify({ url: server.url }) + '\n');
  process.stdin.resume();
  await new Promise<void>((r) => process.stdin.on('end', () => r()));
  await server.close(0);
  process.exit(0);
}

interface Timing { sent: number; events: { t: number; n: number }[] }

// The load generator shares the machine with the server, so it is kept light: node:http rather than fetch
// (whose web streams cost several times more CPU per event), one keep-alive connection per client.
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

function streamOne(url: string, prompt: number[], newTokens: number): Promise<Timing> {
  const sent = performance.now();
  const body = JSON.stringify({ prompt, max_tokens: newTokens, temperature: 0, ignore_eos: true, logprobs: 0, stream: true });
  return new Promise((resolve, reject) => {
    const req = http.request(url + '/v1/completions', { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const events: Timing['events'] = [];
      let buf = '';
      res.setEncoding('utf8');
      if (res.statusCode !== 200) {
        res.on('data', (c: string) => (buf += c));
        res.on('end', () => reject(new Error(`bench serve: HTTP ${res.statusCode}: ${buf}`)));
        return;
      }
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const data = buf.slice(0, i).replace(/^data: ?/, '');
          buf = buf.slice(i + 2);
          if (data === '[DONE]') continue;
          const ev = JSON.parse(data) as { error?: unknown; choices: { logprobs?: { tokens: string[] } | null }[] };
          if (ev.error) { reject(new Error(`bench serve: ${JSON.stringify(ev.error)}`)); return; }
          const n = ev.choices[0]?.logprobs?.tokens.length ?? 0;
          if (n > 0) events.push({ t: performance.now(), n });
        }
      });
      res.on('end', () => resolve({ sent, events }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function summarise(system: string, clients: number, timings: Timing[], wallMs: number): ServeRow {
  const ttft: number[] = [], itl: number[] = [];
  let tokens = 0;
  for (const t of timings) {
    if (t.events.length === 0) continue;
    ttft.push(t.events[0].t - t.sent);
    for (let i = 1; i < t.events.length; i++) itl.push((t.events[i].t - t.events[i - 1].t) / t.events[i].n);
    tokens += t.events.reduce((a, e) => a + e.n, 0);
  }
  return {
    system, clients, tokens_per_s: tokens / (wallMs / 1000), ttft_ms_p50: quantile(ttft, 0.5), ttft_ms_p99: quantile(ttft, 0.99),
    itl_ms_p50: quantile(itl, 0.5), itl_ms_p99: quantile(itl, 0.99), wall_s: wallMs / 1000,
  };
}

/** Child: node-llama-cpp decoding `clients` sequences together, per level; one JSON row per level. */
async function llamaWorker(file: string, threads: number, levels: number[], newTokens: number, shape: string, repeat: number): Promise<void> {
  const { getLlama } = await import('node-llama-cpp');
  type Tok = import('node-llama-cpp').Token;
  const { prompts } = await benchModel(shape);
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never, progressLogs: false });
  const model = await llama.loadModel({ modelPath: file });
  for (const clients of levels) {
    const ctx = await model.createContext({ sequences: clients, contextSize: clients * (PROMPT + newTokens + 16), threads: { ideal: threads, min: threads } });
    const seqs = Array.from({ length: clients }, () => ctx.getSequence());
    const ps = prompts(clients);
    const once = async (): Promise<{ timings: Timing[]; ms: number }> => {
      const t0 = performance.now();
      const timings = await Promise.all(seqs.map(async (seq, b) => {
        await seq.clearHistory();
        const t: Timing = { sent: performance.now(), events: [] };
        for await (const _tok of seq.evaluate(ps[b] as Tok[], { temperature: 0, yieldEogToken: true })) {
          t.events.push({ t: performance.now(), n: 1 });
          if (t.events.length >= newTokens) break;
        }
        return t;
      }));
      return { timings, ms: performance.now() - t0 };
    };
    await once(); // warm-up
    const runs: ServeRow[] = [];
    for (let r = 0; r < repeat; r++) {
      const { timings, ms } = await once();
      runs.push(summarise('llama.cpp', clients, timings, ms));
    }
    runs.sort((a, b) => a.tokens_per_s - b.tokens_per_s);
    process.stdout.write(JSON.stringify({ ...runs[runs.length >> 1], threads }) + '\n');
    await ctx.dispose();
  }
  await model.dispose();
}

function startServerChild(self: string, threads: number | undefined, dtype: string, shape: string): Promise<{ child: ChildProcess; url: string }> {
  const env = { ...process.env, ...(threads ? { HCX_THREADS: String(threads) } : {}) };
  const child = spawn(process.execPath, ['-e', `import(${JSON.stringify(self)}).then(m => m.main(process.argv.slice(1)))`, 'bench', 'serve', '--worker', 'server', '--dtype', dtype, '--shape', shape],
    { stdio: ['pipe', 'pipe', 'inherit'], env });
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (line) => resolve({ child, url: (JSON.parse(line) as { url: string }).url }));
    child.once('exit', (code) => reject(new Error(`bench serve: server child exited with ${code}`)));
  });
}

const SYSTEMS = ['hcx', 'hcx-sequential', 'llama.cpp'];
const options = {
  json: { type: 'boolean', description: 'print one JSON document' },
  clients: { type: 'numbers', integer: true, min: 1, default: [1, 8, 32, 128], description: 'concurrent client counts' },
  new: { type: 'number', integer: true, min: 1, default: 64, description: 'new tokens per request' },
  repeat: { type: 'number', integer: true, min: 1, default: 3, description: 'timed rounds per system (median)' },
  shape: { type: 'string', placeholder: 'PRESET', default: 'mini', description: 'model preset (mini, peer, ...)' },
  dtype: { type: 'string', choices: ['auto', 'f32', 'bf16'], default: 'auto', description: 'the server\'s compute dtype' },
  systems: { type: 'string', placeholder: 'LIST', default: SYSTEMS.join(','), description: `which of ${SYSTEMS.join(', ')} to run` },
  threads: { type: 'number', integer: true, min: 1, description: 'the server\'s threads (default: HCX_THREADS or all)' },
  'llama-threads': { type: 'numbers', integer: true, min: 1, default: [1, 2], description: 'llama.cpp thread counts (the best is kept)' },
  worker: { type: 'string', choices: ['server', 'llama'], hidden: true, description: 'internal: run the server or the llama.cpp side' },
  file: { type: 'string', hidden: true, description: 'internal: the llama.cpp worker\'s GGUF' },
} as const satisfies OptionTable;

export const command = defineCommand({ summary: 'the serving stack under concurrent streaming clients: hcx batching, one at a time, llama.cpp', options, run });

async function run(o: Values<typeof options>): Promise<void> {
  const { worker, new: newTokens, clients: levels, shape } = o;
  if (worker === 'server') return serverWorker(o.dtype, shape);
  if (worker === 'llama') return llamaWorker(o.file!, o.threads ?? 1, levels, newTokens, shape, o.repeat);
  const json = o.json;
  const systems = o.systems.split(',');
  for (const s of systems) if (!SYSTEMS.includes(s)) throw new Error(`hcx bench serve: --systems: unknown system "${s}" (${SYSTEMS.join(', ')})`);
  const { threads, llamaThreads, dtype, repeat } = o;
  const self = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  const log = (s: string) => { if (!json) process.stderr.write(s + '\n'); };
  const rows: ServeRow[] = [];
  const pairedRatios = new Map<number, number>();
  const loadBefore = os.loadavg()[0];
  const { prompts, model, tok } = await benchModel(shape);
  if (systems.includes('hcx') || systems.includes('hcx-sequential')) {
    const { child, url } = await startServerChild(self, threads, dtype, shape);
    try {
      const together = async (ps: number[][]) => Promise.all(ps.map((q) => streamOne(url, q, newTokens)));
      const oneAtATime = async (ps: number[][]) => {
        const timings: Timing[] = [];
        for (const q of ps) timings.push(await streamOne(url, q, newTokens));
        return timings;
      };
      const drivers = ([['hcx', together], ['hcx-sequential', oneAtATime]] as const).filter(([s]) => systems.includes(s));
      for (const clients of levels) {
        // A warm-up round of each (as the llama.cpp worker gets), then `repeat` rounds that alternate the
        // systems, so a change in the machine's load hits both; the median round of each is reported, and
        // the ratio is the median of the per-round ratios. Every round has fresh prompts.
        const runs = drivers.map(() => [] as ServeRow[]);
        for (let r = 0; r <= repeat; r++) {
          for (const [si, [system, drive]] of drivers.entries()) {
            const t0 = performance.now();
            const timings = await drive(prompts(clients, r * drivers.length + si));
            if (r > 0) runs[si].push(summarise(system, clients, timings, performance.now() - t0));
          }
        }
        if (runs.length === 2) pairedRatios.set(clients, median(runs[0].map((x, r) => x.tokens_per_s / runs[1][r].tokens_per_s)));
        for (const [si, [system]] of drivers.entries()) {
          const sorted = runs[si].slice().sort((a, b) => a.tokens_per_s - b.tokens_per_s);
          rows.push(sorted[sorted.length >> 1]);
          log(`  ${system} clients=${clients}: ${runs[si].map((x) => x.tokens_per_s.toFixed(0)).join(' / ')} tokens/s`);
        }
      }
    } finally {
      agent.destroy();
      child.stdin!.end();
      await new Promise((r) => child.once('exit', r));
    }
  }
  let llamaNote = '';
  if (systems.includes('llama.cpp')) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hcx-bench-serve-'));
    try {
      const { exportGguf } = await import('../model/gguf.js');
      const file = path.join(dir, 'bench-f16.gguf');
      exportGguf(model, tok, file, { dtype: 'F16', name: 'hcx-bench-serve' });
      const best = new Map<number, ServeRow>();
      for (const t of llamaThreads) {
        const r = spawnSync(process.execPath, ['-e', `import(${JSON.stringify(self)}).then(m => m.main(process.argv.slice(1)))`,
          'bench', 'serve', '--worker', 'llama', '--file', file, '--threads', String(t), '--clients', levels.join(','), '--new', String(newTokens), '--shape', shape, '--repeat', String(repeat)],
        { encoding: 'utf8', maxBuffer: 1 << 24 });
        if (r.status !== 0) throw new Error(`bench serve: llama.cpp worker failed: ${r.stderr}`);
        for (const line of r.stdout.split('\n').filter((l) => l.startsWith('{'))) {
          const row = JSON.parse(line) as ServeRow;
          log(`  llama.cpp threads=${t} clients=${row.clients}: ${row.tokens_per_s.toFixed(0)} tokens/s`);
          if (!best.has(row.clients) || best.get(row.clients)!.tokens_per_s < row.tokens_per_s) best.set(row.clients, row);
        }
      }
      rows.push(...best.values());
    } catch (e) {
      llamaNote = `llama.cpp row left out: ${(e as Error).message.split('\n')[0]}`;
      log(llamaNote);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const at = (s: string, n: number) => rows.find((r) => r.system === s && r.clients === n)?.tokens_per_s;
  const ratios: Record<string, number> = {};
  for (const n of levels) {
    const h = at('hcx', n), s = at('hcx-sequential', n), l = at('llama.cpp', n);
    if (h && s) ratios[`hcx_over_sequential_${n}`] = pairedRatios.get(n) ?? h / s;
    if (h && l) ratios[`hcx_over_llamacpp_${n}`] = h / l;
  }
  const load = { before: loadBefore, after: os.loadavg()[0], cpus: os.cpus().length };
  const dims = { model: `${shape} preset, random weights`, vocab: model.config.vocabSize, d_model: model.config.dModel, layers: model.config.nLayers,
    heads: model.config.nHeads, kv_heads: model.config.nKvHeads, prompt_tokens: PROMPT, new_tokens: newTokens, server_threads: threads ?? os.availableParallelism() };
  if (json) {
    console.log(JSON.stringify({ shape: dims, load, ratios, ...(llamaNote ? { note: llamaNote } : {}), rows }, null, 2));
    return;
  }
  console.log(`serving over loopback, ${PROMPT}-token prompts + ${newTokens} greedy tokens per client (model ${dims.model}, vocab ${dims.vocab}, d ${dims.d_model}, ${dims.layers} layers)`);
  console.log(table(['system', 'clients', 'tokens/s', 'TTFT p50 ms', 'TTFT p99 ms', 'ITL p50 ms', 'ITL p99 ms', 'wall s'],
    rows.map((r) => [r.system + (r.threads ? ` (${r.threads}t)` : ''), r.clients, r.tokens_per_s, r.ttft_ms_p50, r.ttft_ms_p99, r.itl_ms_p50, r.itl_ms_p99, r.wall_s])));
  for (const [k, v] of Object.entries(ratios)) console.log(`${k}: ${v.toFixed(2)}x`);
  if (llamaNote) console.log(llamaNote);
  console.log(`load average ${load.before.toFixed(1)} before, ${load.after.toFixed(1)} after, on ${load.cpus} CPUs (other jobs share them).`);
}

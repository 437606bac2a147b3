// `hcx bench decode`: greedy decoding tokens/s of the peer model (PRESETS.peer: vocab 8192, d 256, 4 layers,
// 4 heads / 2 KV heads, SwiGLU 688; random weights) in hcx (generateBatch, fp32) and in llama.cpp through
// node-llama-cpp on the GGUF that hcx exports from the same weights (F32 and F16), at batch 1 and 8.
// A case = a fixed 16-token prompt per sequence (prefill) + 128 greedy new tokens per sequence; tokens_per_s =
// batch * 128 / wall time of the case, median of --repeat runs after one warm-up. llama.cpp's batch 8 is one
// context with 8 sequences decoded together (node-llama-cpp puts the sequences' pending tokens in one batch per
// decode call). llama.cpp runs with its defaults otherwise (KV cache F16, flash attention auto).
// Every (system, dtype, threads) case runs in its own child process so thread pools do not interfere.
// `--shape seed-0.5b`: a HyperCLOVA X SEED 0.5B-shaped model (0.57B parameters, tied embeddings, random weights)
// written as a Hugging Face directory in bf16, which hcx opens through the one loader with bf16-only weights
// (the row reports load seconds and peak RSS), against llama.cpp on the same weights as GGUF F16.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineCommand, type OptionTable, type Values } from '../cli/args.js';
import { median, procStatusMb, table } from './stats.js';

interface Row {
  system: string; threads: number; dtype: string; batch: number; tokens_per_s: number; ms: number; ratio_hcx_over_llamacpp?: number;
  load_s?: number; peak_rss_mb?: number;
}

const PROMPT_LEN = 16;
const SEED_VOCAB = 110592;

/** Fixed prompts: sequence b is 16 ids derived from b (same length, different content). */
function prompts(batch: number, vocab: number): number[][] {
  return Array.from({ length: batch }, (_, b) => Array.from({ length: PROMPT_LEN }, (_, i) => (1 + 37 * i + 101 * b) % vocab));
}

async function peerModel() {
  const { PRESETS } = await import('../model/config.js');
  const { Transformer } = await import('../model/transformer.js');
  return new Transformer({ ...PRESETS.peer }, 1);
}

async function hcxWorker(threads: number, batches: number[], newTokens: number, repeat: number, dtype: 'f32' | 'bf16', modelDir?: string): Promise<void> {
  const { setThreads } = await import('../native/index.js');
  const { generateBatch } = await import('../model/generate.js');
  setThreads(threads);
  let loaded: Pick<Row, 'load_s' | 'peak_rss_mb'> = {};
  let model;
  if (modelDir) {
    const { openModel } = await import('../model/load.js');
    const t0 = process.hrtime.bigint();
    model = openModel(modelDir, { weights: 'bf16', dtype: 'bf16' }).model;
    loaded = { load_s: Number(process.hrtime.bigint() - t0) / 1e9, peak_rss_mb: procStatusMb('VmHWM') };
  } else {
    model = await peerModel();
    model.computeDtype = dtype;
  }
  for (const batch of batches) {
    const ps = prompts(batch, model.config.vocabSize);
    const once = (): number => {
      const t0 = process.hrtime.bigint();
      const g = generateBatch(model, ps, { maxNewTokens: newTokens });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (g.some((x) => x.ids.length !== newTokens)) throw new Error('hcx decode: a sequence stopped early');
      return ms;
    };
    once();
    const ms = median(Array.from({ length: repeat }, once));
    const row: Row = { system: 'hcx', threads, dtype, batch, tokens_per_s: (batch * newTokens) / (ms / 1000), ms, ...loaded };
    process.stdout.write(JSON.stringify(row) + '\n');
  }
}

async function llamaWorker(file: string, dtype: string, threads: number, batches: number[], newTokens: number, repeat: number, vocab: number): Promise<void> {
  const { getLlama } = await import('node-llama-cpp');
  type Tok = import('node-llama-cpp').Token;
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never, progressLogs: false });
  const model = await llama.loadModel({ modelPath: file });
  for (const batch of batches) {
    const ctx = await model.createContext({ sequences: batch, contextSize: batch * (PROMPT_LEN + newTokens + 16), threads: { ideal: threads, min: threads } });
    const seqs = Array.from({ length: batch }, () => ctx.getSequence());
    const ps = prompts(batch, vocab);
    const decodeOne = async (seq: (typeof seqs)[number], p: number[]): Promise<number> => {
      await seq.clearHistory();
      let n = 0;
      for await (const _t of seq.evaluate(p as Tok[], { temperature: 0, yieldEogToken: true })) if (++n >= newTokens) break;
      return n;
    };
    const once = async (): Promise<number> => {
      const t0 = process.hrtime.bigint();
      const counts = await Promise.all(seqs.map((s, b) => decodeOne(s, ps[b])));
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (counts.some((c) => c !== newTokens)) throw new Error('llama.cpp decode: a sequence stopped early');
      return ms;
    };
    await once();
    const times: number[] = [];
    for (let i = 0; i < repeat; i++) times.push(await once());
    const ms = median(times);
    const row: Row = { system: 'llama.cpp', threads, dtype, batch, tokens_per_s: (batch * newTokens) / (ms / 1000), ms };
    process.stdout.write(JSON.stringify(row) + '\n');
    await ctx.dispose();
  }
  await model.dispose();
}

const benchTokenizer = async () => (await import('../tokenizer/index.js')).trainTokenizer({ texts: ['hcx decode benchmark: the quick brown fox, 한국어 문장입니다.'], vocabSize: 300, split: 'rules' });

/** Writes the peer model (random weights, seed 1) as GGUF f32 and f16 with a small tokenizer (vocab padded). */
async function writeGgufs(dir: string): Promise<Record<string, string>> {
  const { exportGguf } = await import('../model/gguf.js');
  const tok = await benchTokenizer();
  const model = await peerModel();
  const files: Record<string, string> = {};
  for (const dt of ['f32', 'f16'] as const) {
    files[dt] = path.join(dir, `peer-${dt}.gguf`);
    exportGguf(model, tok, files[dt], { dtype: dt === 'f32' ? 'F32' : 'F16', name: 'hcx-peer-random' });
  }
  return files;
}

/** The SEED 0.5B-shaped model (random weights, seed 1) as a bf16 Hugging Face directory and a GGUF F16. */
async function writeSeed(dir: string): Promise<{ hfDir: string; gguf: string }> {
  const [{ Transformer }, { exportHfModel }, { exportGguf }, { SEED_05B }] = await Promise.all([
    import('../model/transformer.js'), import('../model/export_hf.js'), import('../model/gguf.js'), import('./sft_workers.js')]);
  const tok = await benchTokenizer();
  const model = new Transformer(SEED_05B, 1);
  const hfDir = path.join(dir, 'seed-0.5b'), gguf = path.join(dir, 'seed-0.5b-f16.gguf');
  exportHfModel(model, tok, hfDir, { dtype: 'bf16' });
  exportGguf(model, tok, gguf, { dtype: 'F16', name: 'hcx-seed-0.5b-random' });
  return { hfDir, gguf };
}

const options = {
  json: { type: 'boolean', description: 'print one JSON document' },
  threads: { type: 'numbers', integer: true, min: 1, default: [1, 2], description: 'thread counts to measure' },
  batch: { type: 'numbers', integer: true, min: 1, default: [1, 8], description: 'batch sizes (sequences decoded together)' },
  new: { type: 'number', integer: true, min: 1, default: 128, description: 'new tokens per sequence' },
  repeat: { type: 'number', integer: true, min: 1, default: 3, description: 'timed runs per case (median)' },
  systems: { type: 'string', placeholder: 'LIST', default: 'hcx,llama.cpp', description: 'which of hcx, llama.cpp to run' },
  shape: { type: 'string', choices: ['peer', 'seed-0.5b'], default: 'peer', description: 'the peer model, or a HyperCLOVA X SEED 0.5B-shaped one (bf16 vs llama.cpp f16)' },
  model: { type: 'string', hidden: true, description: 'internal: the hcx worker\'s model directory' },
  vocab: { type: 'number', integer: true, min: 2, default: 8192, hidden: true, description: 'internal: the llama.cpp worker\'s vocabulary size' },
  worker: { type: 'string', choices: ['hcx', 'llama.cpp'], hidden: true, description: 'internal: measure one system in this process' },
  dtype: { type: 'string', choices: ['f32', 'bf16', 'f16'], hidden: true, description: 'internal: the worker\'s dtype' },
  file: { type: 'string', hidden: true, description: 'internal: the llama.cpp worker\'s GGUF' },
} as const satisfies OptionTable;

export const command = defineCommand({ summary: 'greedy decoding tokens/s: hcx and llama.cpp on the same weights', options, run });

async function run(o: Values<typeof options>): Promise<void> {
  const { new: newTokens, repeat, batch: batches } = o;
  if (o.worker) {
    const threads = o.threads[0];
    if (o.worker === 'hcx') return hcxWorker(threads, batches, newTokens, repeat, o.dtype === 'bf16' ? 'bf16' : 'f32', o.model);
    return llamaWorker(o.file!, o.dtype!, threads, batches, newTokens, repeat, o.vocab);
  }
  const json = o.json;
  const threadList = o.threads;
  const systems = o.systems.split(',');
  for (const s of systems) if (s !== 'hcx' && s !== 'llama.cpp') throw new Error(`hcx bench decode: --systems: unknown system "${s}" (hcx, llama.cpp)`);
  const self = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hcx-bench-decode-'));
  const rows: Row[] = [];
  const loadBefore = os.loadavg()[0];
  try {
    const seed = o.shape === 'seed-0.5b' ? await writeSeed(dir) : null;
    const files: Record<string, string> = seed ? (systems.includes('llama.cpp') ? { f16: seed.gguf } : {}) : systems.includes('llama.cpp') ? await writeGgufs(dir) : {};
    const vocab = seed ? SEED_VOCAB : 8192;
    const cases: { args: string[]; label: string }[] = [];
    for (const threads of threadList) {
      if (systems.includes('hcx')) {
        for (const dt of seed ? ['bf16'] : ['f32', 'bf16']) {
          cases.push({ args: ['--worker', 'hcx', '--threads', String(threads), '--dtype', dt, ...(seed ? ['--model', seed.hfDir] : [])], label: `hcx ${dt} threads=${threads}` });
        }
      }
      for (const [dt, f] of Object.entries(files)) {
        cases.push({ args: ['--worker', 'llama.cpp', '--threads', String(threads), '--file', f, '--dtype', dt, '--vocab', String(vocab)], label: `llama.cpp ${dt} threads=${threads}` });
      }
    }
    for (const c of cases) {
      const r = spawnSync(process.execPath, ['-e', `import(${JSON.stringify(self)}).then(m => m.main(process.argv.slice(1)))`,
        'bench', 'decode', '--new', String(newTokens), '--repeat', String(repeat), '--batch', batches.join(','), ...c.args],
      { encoding: 'utf8', maxBuffer: 1 << 24 });
      if (r.status !== 0) throw new Error(`decode bench worker failed (${c.label}): ${r.stderr}`);
      const got = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Row);
      rows.push(...got);
      if (!json) for (const g of got) process.stderr.write(`  ${c.label} batch=${g.batch}: ${g.tokens_per_s.toFixed(0)} tokens/s\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // hcx over llama.cpp at the same threads and batch and equal precision: f32 with f32, bf16 with f16
  // (both 16-bit weights).
  for (const r of rows) {
    if (r.system !== 'hcx') continue;
    const peerDtype = r.dtype === 'bf16' ? 'f16' : 'f32';
    const peer = rows.find((x) => x.system === 'llama.cpp' && x.dtype === peerDtype && x.threads === r.threads && x.batch === r.batch);
    if (peer) r.ratio_hcx_over_llamacpp = r.tokens_per_s / peer.tokens_per_s;
  }
  // The machine is shared: the 1-minute load average before and after says how much the figures can be trusted.
  const load = { before: loadBefore, after: os.loadavg()[0], cpus: os.cpus().length };
  const shape = o.shape === 'seed-0.5b'
    ? { model: 'seed-0.5b', vocab: SEED_VOCAB, d_model: 1024, layers: 24, heads: 16, kv_heads: 8, ffn: 5120, prompt_tokens: PROMPT_LEN, new_tokens: newTokens, repeat }
    : { model: 'peer', vocab: 8192, d_model: 256, layers: 4, heads: 4, kv_heads: 2, ffn: 688, prompt_tokens: PROMPT_LEN, new_tokens: newTokens, repeat };
  if (json) {
    console.log(JSON.stringify({ shape, load, rows }, null, 2));
    return;
  }
  console.log(`greedy decode, ${shape.model} model (random weights), ${PROMPT_LEN}-token prompt + ${newTokens} new tokens per sequence, median of ${repeat}`);
  console.log(table(['system', 'dtype', 'threads', 'batch', 'tokens/s', 'ms', 'hcx/llama.cpp (f32|f16)', 'load s', 'peak RSS MB'],
    rows.map((r) => [r.system, r.dtype, r.threads, r.batch, r.tokens_per_s, r.ms, r.ratio_hcx_over_llamacpp ?? '', r.load_s ?? '', r.peak_rss_mb ?? ''])));
  console.log('llama.cpp: node-llama-cpp 3.21.1, CPU, its defaults (KV cache F16, flash attention auto); batch 8 = 8 sequences of one context.');
  console.log(`load average ${load.before.toFixed(1)} before, ${load.after.toFixed(1)} after, on ${load.cpus} CPUs (other jobs share them).`);
}

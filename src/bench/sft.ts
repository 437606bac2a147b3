// `hcx bench sft`: SFT training throughput (non-padding tokens per second) on a length-skewed real chat set
// (src/bench/sft_data.ts), hcx with conversations packed into 1,024-token rows (best-fit decreasing,
// block-diagonal attention) against hcx padded to the longest of each batch, and against TRL's SFTTrainer
// (trl 1.13, torch 2.13 CPU, in the /tmp/hcx-py venv) on the same weights and conversations, each at 1 and 2
// threads, fp32 and bf16 (TRL: bf16 autocast), every case in its own process. Then memory and speed of LoRA
// against full fine-tuning on a HyperCLOVA X SEED 0.5B-shaped model.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineCommand, type OptionTable, type Values } from '../cli/args.js';
import { PRESETS, parameterCount, type ModelConfig } from '../model/config.js';
import { median, table } from './stats.js';
import { benchSet } from './sft_data.js';

/**
 * HyperCLOVA X SEED Text Instruct 0.5B as published: 0.57 B parameters, 0.45 B without the (tied) token
 * embeddings, 4K context. The layer count and widths below are a Llama shape with those totals
 * (d 1024, 24 layers, 16 query / 8 KV heads, SwiGLU 5120, vocabulary 110,592: 0.566 B / 0.453 B); the
 * model's config.json was not available offline to confirm them.
 */
export const SEED_05B: ModelConfig = { ...PRESETS.peer, vocabSize: 110592, dModel: 1024, nLayers: 24, nHeads: 16, nKvHeads: 8, ffnHidden: 5120, maxSeqLen: 4096, tieEmbeddings: true, ropeBase: 10000 };

const SHAPE = { ...PRESETS.peer, maxSeqLen: 1024 };
const ROW = 1024, PACKED_ROWS = 4, PADDED_BATCH = 16;

interface Row { system: string; case: string; threads: number; dtype: string; tokens_per_s: number; step_s: number; tokens_per_step?: number; padding_share?: number; peak_rss_mb?: number; trained_params?: number; note?: string }

const options = {
  json: { type: 'boolean', description: 'print one JSON document' },
  threads: { type: 'numbers', integer: true, min: 1, default: [1, 2], description: 'thread counts to measure' },
  steps: { type: 'number', integer: true, min: 2, default: 8, description: 'timed optimizer steps per case (after 2 warm-up steps)' },
  'data-root': { type: 'string', placeholder: 'DIR', description: 'the shared data folder (default ../shared/data, else ../../shared/data)' },
  dir: { type: 'string', placeholder: 'DIR', description: 'work folder (default: a folder under the system temp)' },
  systems: { type: 'string', default: 'hcx,trl,lora', description: 'comma list of hcx, trl, lora (the SEED 0.5B memory/speed case)' },
  worker: { type: 'string', choices: ['hcx', 'seed-full', 'seed-lora'], hidden: true, description: 'internal: measure one case in this process' },
  packing: { type: 'string', choices: ['bfd', 'none'], default: 'bfd', hidden: true, description: 'internal' },
  dtype: { type: 'string', choices: ['f32', 'bf16'], default: 'f32', hidden: true, description: 'internal' },
} as const satisfies OptionTable;

export const command = defineCommand({ summary: 'SFT tokens/s: packed vs padded vs TRL SFTTrainer; LoRA vs full fine-tuning memory', options, run });

function vmHwmMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** One hcx case: `hcx sft` itself on the bench set, median tokens/s of the steps after two warm-up steps. */
async function hcxWorker(dir: string, packing: 'bfd' | 'none', dtype: 'f32' | 'bf16', steps: number): Promise<void> {
  const { sft } = await import('../train/sft.js');
  const { parseSftConfig } = await import('../train/sft_config.js');
  const batchSize = packing === 'bfd' ? PACKED_ROWS : PADDED_BATCH;
  const cfg = parseSftConfig({
    from: path.join(dir, 'source'), data: [path.join(dir, 'chat.jsonl')], runDir: path.join(dir, `run-${packing}-${dtype}-${process.pid}`), seqLen: ROW, packing,
    steps: steps + 2, batchSize, lr: 1e-4, warmupSteps: 0, heldout: 0, evalEvery: 0, saveEvery: 0, keepCheckpoints: 1, computeDtype: dtype, seed: 1,
  }, 'bench', undefined, 'none', { maxSeqLen: ROW }).cfg;
  const r = await sft(cfg, { quiet: true });
  const m = r.metrics;
  const stepTokens = m.map((x, i) => x.tokens - (i ? m[i - 1].tokens : 0)).slice(2);
  const timed = m.slice(2);
  const tokens = stepTokens.reduce((a, b) => a + b, 0), padding = timed.reduce((a, x) => a + x.padding, 0);
  process.stdout.write(JSON.stringify({
    tokens_per_s: median(timed.map((x) => x.tokens_per_s)), step_s: median(timed.map((x, i) => stepTokens[i] / x.tokens_per_s)),
    tokens_per_step: tokens / timed.length, padding_share: padding / (padding + tokens),
  }) + '\n');
}

/** One SEED 0.5B case: steps on batch 1 x 256 random tokens, full fine-tuning or LoRA; peak RSS. */
async function seedWorker(lora: boolean, steps: number): Promise<void> {
  const { Transformer } = await import('../model/transformer.js');
  const { Lora } = await import('../model/lora.js');
  const { AdamW, backward, tidy, Rng } = await import('../tensor/index.js');
  const { optimizerStep } = await import('../train/step.js');
  const model = new Transformer(SEED_05B, 1);
  const adapters = lora ? new Lora(model, { rank: 16, alpha: 32, dropout: 0, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] }) : null;
  const params = adapters ? adapters.parameters() : model.parameters();
  const opt = new AdamW(params, { weightDecay: 0 });
  const T = 256, rng = new Rng(2);
  const ids = Int32Array.from({ length: T }, () => rng.int(SEED_05B.vocabSize));
  const tgt = Int32Array.from({ length: T }, () => rng.int(SEED_05B.vocabSize));
  const times: number[] = [];
  for (let s = 0; s < steps + 1; s++) {
    const t0 = process.hrtime.bigint();
    tidy(() => { backward(model.loss(ids, tgt, 1, T)); });
    optimizerStep(opt, { clip: 1, lr: 1e-5, step: s + 1, lastGood: '' });
    if (s > 0) times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  const step = median(times);
  process.stdout.write(JSON.stringify({ tokens_per_s: T / step, step_s: step, peak_rss_mb: vmHwmMb(), trained_params: params.reduce((a, p) => a + p.size, 0) }) + '\n');
}

function child(args: string[], threads: number): Record<string, number> | { error: string } {
  const self = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  const r = spawnSync(process.execPath, ['-e', `import(${JSON.stringify(self)}).then(m => m.main(process.argv.slice(1)))`, 'bench', 'sft', ...args],
    { encoding: 'utf8', env: { ...process.env, HCX_THREADS: String(threads) }, maxBuffer: 1 << 24 });
  if (r.status !== 0) return { error: (r.stderr || `exit ${r.status ?? r.signal}`).trim().split('\n').slice(-3).join(' ') };
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

export function venvPython(): string {
  return process.env.HCX_PYTHON ?? path.join(process.env.HCX_PY_VENV ?? '/tmp/hcx-py', 'bin', 'python');
}

function trl(dir: string, hf: string, data: string, threads: number, bf16: boolean, steps: number): Record<string, number> | { error: string } {
  const py = venvPython();
  if (!existsSync(py)) return { error: `no Python venv at ${py} (sh scripts/python-venv.sh)` };
  const script = fileURLToPath(new URL('../../../scripts/bench/trl_sft_bench.py', import.meta.url));
  const settings = path.join(dir, `trl-${threads}-${bf16}.json`);
  writeFileSync(settings, JSON.stringify({ threads, bf16, batch_size: PADDED_BATCH, max_length: ROW, steps: steps + 2, warmup: 2, out_dir: path.join(dir, 'trl-out') }));
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(threads), TOKENIZERS_PARALLELISM: 'false', OMP_WAIT_POLICY: 'PASSIVE' };
  delete env.OPENBLAS_CORETYPE; // this machine pins old OpenBLAS settings that slow torch
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync(py, [script, hf, data, settings], { encoding: 'utf8', env, maxBuffer: 1 << 24, timeout: 1_800_000 });
  if (r.status !== 0) return { error: (r.stderr || `exit ${r.status ?? r.signal}`).trim().split('\n').slice(-2).join(' ') };
  return JSON.parse(r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop()!);
}

async function run(o: Values<typeof options>): Promise<void> {
  if (o.worker === 'hcx') return hcxWorker(o.dir!, o.packing as 'bfd' | 'none', o.dtype as 'f32' | 'bf16', o.steps);
  if (o.worker) return seedWorker(o.worker === 'seed-lora', Math.min(o.steps, 3));
  const systems = new Set(o.systems.split(','));
  const log = (s: string) => { if (!o.json) process.stderr.write(s + '\n'); };
  const dir = path.resolve(o.dir ?? path.join(tmpdir(), 'hcx-bench-sft'));
  const root = o.dataRoot ?? ['../shared/data', '../../shared/data'].find((d) => existsSync(d)) ?? '../shared/data';
  const set = await benchSet(path.resolve(root), dir, SHAPE);
  const sorted = set.lengths.slice().sort((a, b) => a - b);
  log(`bench set: ${set.conversations} conversations, tokens per conversation median ${median(sorted)}, p90 ${sorted[Math.floor(sorted.length * 0.9)]}, max ${sorted[sorted.length - 1]} (rows of ${ROW}; longer ones cut)`);
  const rows: Row[] = [];
  const add = (base: Omit<Row, 'tokens_per_s' | 'step_s'>, r: Record<string, number> | { error: string }) => {
    const row: Row = 'error' in r ? { ...base, tokens_per_s: NaN, step_s: NaN, note: String(r.error).slice(0, 160) } : { ...base, ...(r as Record<string, number>) } as Row;
    rows.push(row);
    log(`  ${row.system} ${row.case} ${row.threads} thread(s) ${row.dtype}: ${Number.isFinite(row.tokens_per_s) ? Math.round(row.tokens_per_s) + ' tokens/s' : row.note}`);
  };
  for (const th of o.threads) {
    if (systems.has('hcx')) for (const dtype of ['f32', 'bf16'] as const) for (const packing of ['bfd', 'none'] as const) {
      add({ system: packing === 'bfd' ? 'hcx-packed' : 'hcx-padded', case: 'chat', threads: th, dtype }, child(['--worker', 'hcx', '--dir', dir, '--packing', packing, '--dtype', dtype, '--steps', String(o.steps)], th));
    }
    if (systems.has('trl')) for (const bf16 of [false, true]) add({ system: 'trl', case: 'chat', threads: th, dtype: bf16 ? 'bf16' : 'f32' }, trl(dir, set.hf, set.data, th, bf16, Math.max(2, Math.round(o.steps / 2))));
  }
  if (systems.has('lora')) {
    const th = Math.max(...o.threads);
    for (const mode of ['full', 'lora'] as const) add({ system: `hcx-${mode}`, case: 'seed-0.5b', threads: th, dtype: 'f32' }, child(['--worker', `seed-${mode}`, '--steps', '3'], th));
  }
  const best = (sys: string) => Math.max(0, ...rows.filter((r) => r.system === sys && Number.isFinite(r.tokens_per_s)).map((r) => r.tokens_per_s));
  const ratios = {
    packed_vs_padded: best('hcx-padded') ? best('hcx-packed') / best('hcx-padded') : null,
    hcx_vs_trl: best('trl') ? Math.max(best('hcx-packed'), best('hcx-padded')) / best('trl') : null,
    hcx_padded_vs_trl: best('trl') ? best('hcx-padded') / best('trl') : null,
    lora_vs_full_memory: best('hcx-full') ? (rows.find((r) => r.system === 'hcx-lora')?.peak_rss_mb ?? NaN) / (rows.find((r) => r.system === 'hcx-full')?.peak_rss_mb ?? NaN) : null,
    lora_vs_full_speed: best('hcx-full') ? best('hcx-lora') / best('hcx-full') : null,
  };
  const meta = { model: { ...SHAPE, vocabSize: set.config.vocabSize, params: parameterCount(set.config).total }, seed_05b: { ...SEED_05B, params: parameterCount(SEED_05B).total },
    conversations: set.conversations, row_tokens: ROW, packed_rows_per_step: PACKED_ROWS, padded_conversations_per_step: PADDED_BATCH };
  if (o.json) {
    console.log(JSON.stringify({ ...meta, rows, ...ratios }, null, 2));
    return;
  }
  console.log(`SFT throughput, ${set.conversations} chat conversations (chatbot Q/A, self-instruct, KoMT-Bench), peer-shaped model (${(meta.model.params / 1e6).toFixed(1)}M), non-padding tokens/s, median of ${o.steps} steps`);
  console.log(table(['system', 'case', 'threads', 'dtype', 'tokens/s', 's/step', 'tokens/step', 'padding %', 'peak RSS MB', 'trained params', 'note'], rows.map((r) => [
    r.system, r.case, r.threads, r.dtype, r.tokens_per_s, r.step_s, r.tokens_per_step ?? '', r.padding_share !== undefined ? r.padding_share * 100 : '', r.peak_rss_mb ?? '', r.trained_params ?? '', r.note ?? ''])));
  const f = (x: number | null) => (x === null || !Number.isFinite(x) ? 'n/a' : x.toFixed(2) + 'x');
  console.log(`packed / padded: ${f(ratios.packed_vs_padded)} (goal 1.5x); hcx best / TRL best: ${f(ratios.hcx_vs_trl)} (goal 3x); LoRA / full on SEED 0.5B: memory ${f(ratios.lora_vs_full_memory)}, speed ${f(ratios.lora_vs_full_speed)}`);
}

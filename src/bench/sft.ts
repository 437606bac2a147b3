// `hcx bench sft`: SFT training throughput (non-padding tokens per second) on a length-skewed real chat set
// (src/bench/sft_data.ts), hcx with conversations packed into 1,024-token rows (best-fit decreasing,
// block-diagonal attention) against hcx padded to the longest of each batch, and against TRL's SFTTrainer
// (trl 1.13, torch 2.13 CPU, in the /tmp/hcx-py venv) on the same weights and conversations, padded (the same
// batches as hcx padded) and packed (TRL's BFD packing, padding-free), at each thread count, every case in
// its own process. Then memory and speed of LoRA against full fine-tuning on a HyperCLOVA X SEED 0.5B-shaped
// model (src/bench/sft_workers.ts).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defineCommand, type OptionTable, type Values } from '../cli/args.js';
import { loadChatData, RowStream } from '../data/chat/dataset.js';
import { hcxTemplate } from '../data/chat/template.js';
import { PRESETS, parameterCount } from '../model/config.js';
import { Tokenizer } from '../tokenizer/index.js';
import { benchSet, SHARED_FILES } from './sft_data.js';
import { child, hcxWorker, SEED_05B, SEED_LORA, SEED_TOKENS, seedWorker, trlCase, type Measured } from './sft_workers.js';
import { median, table } from './stats.js';

const SHAPE = { ...PRESETS.peer, maxSeqLen: 1024 };
const ROW = 1024, PACKED_ROWS = 4, PADDED_BATCH = 16, WARMUP = 2;

export interface SftBenchRow {
  system: string; case: string; threads: number; dtype: string; tokens_per_s: number; step_s: number;
  tokens_per_step?: number; padding_share?: number; peak_rss_mb?: number; trained_params?: number; note?: string;
}

const options = {
  json: { type: 'boolean', description: 'print one JSON document' },
  threads: { type: 'numbers', integer: true, min: 1, default: [1, 2], description: 'thread counts to measure' },
  dtypes: { type: 'string', default: 'f32', description: 'comma list of f32, bf16 (TRL: bf16 autocast)' },
  steps: { type: 'number', integer: true, min: 1, default: 8, description: `timed optimizer steps per case (after ${WARMUP} warm-up steps)` },
  'data-root': { type: 'string', placeholder: 'DIR', description: 'the shared data folder (default ../shared/data, else ../../shared/data; the built-in stand-in where absent)' },
  dir: { type: 'string', placeholder: 'DIR', description: 'work folder (default: a folder under the system temp)' },
  systems: { type: 'string', default: 'hcx,trl,lora', description: 'comma list of hcx, trl, lora (the SEED 0.5B memory/speed case)' },
  'seed-steps': { type: 'number', integer: true, min: 1, default: 3, description: 'timed steps of the SEED 0.5B cases (after one warm-up step)' },
  worker: { type: 'string', choices: ['hcx', 'seed-full', 'seed-lora'], hidden: true, description: 'internal: measure one case in this process' },
  source: { type: 'string', hidden: true, description: 'internal' },
  data: { type: 'string', hidden: true, description: 'internal' },
  packing: { type: 'string', choices: ['bfd', 'none'], default: 'bfd', hidden: true, description: 'internal' },
  dtype: { type: 'string', choices: ['f32', 'bf16'], default: 'f32', hidden: true, description: 'internal' },
} as const satisfies OptionTable;

export const command = defineCommand({ summary: 'SFT tokens/s: hcx packed vs padded vs TRL SFTTrainer; LoRA vs full fine-tuning memory', options, run });

/** Best tokens/s of a system over its rows (threads, dtypes); 0 when it has none measured. */
function best(rows: SftBenchRow[], system: string): number {
  return Math.max(0, ...rows.filter((r) => r.system === system && Number.isFinite(r.tokens_per_s)).map((r) => r.tokens_per_s));
}

const ratio = (a: number, b: number) => (a > 0 && b > 0 ? a / b : null);

/** The goals' ratios, each of the best rows of its systems (null where a side was not measured). */
export function sftRatios(rows: SftBenchRow[]) {
  const hcx = Math.max(best(rows, 'hcx-packed'), best(rows, 'hcx-padded')), trl = Math.max(best(rows, 'trl-packed'), best(rows, 'trl-padded'));
  const rss = (s: string) => rows.find((r) => r.system === s && r.peak_rss_mb)?.peak_rss_mb ?? 0;
  return {
    packed_vs_padded: ratio(best(rows, 'hcx-packed'), best(rows, 'hcx-padded')),
    hcx_vs_trl: ratio(hcx, trl),
    packed_vs_trl_packed: ratio(best(rows, 'hcx-packed'), best(rows, 'trl-packed')),
    padded_vs_trl_padded: ratio(best(rows, 'hcx-padded'), best(rows, 'trl-padded')),
    lora_vs_full_memory: ratio(rss('hcx-lora'), rss('hcx-full')),
    lora_vs_full_speed: ratio(best(rows, 'hcx-lora'), best(rows, 'hcx-full')),
  };
}

/** The conversations in the order hcx's padded run batches them, as JSONL lines, for TRL's sequential sampler. */
async function paddedOrder(data: string, tokFile: string, n: number): Promise<string[]> {
  const lines = readFileSync(data, 'utf8').split('\n').filter(Boolean);
  const d = await loadChatData({ sources: [{ path: data }], template: hcxTemplate(Tokenizer.load(tokFile)), seqLen: ROW, truncation: 'cut', heldout: 0, seed: 1, onBadLine: 'fatal' });
  if (d.train.length !== lines.length) throw new Error(`bench sft: ${data} has ${lines.length} lines but ${d.train.length} conversations loaded`);
  const stream = new RowStream(d.train, 'none', ROW, 1);
  return Array.from({ length: n }, (_, k) => lines[stream.rowAt(k).row[0]]);
}

async function run(o: Values<typeof options>): Promise<void> {
  if (o.worker === 'hcx') {
    const packing = o.packing as 'bfd' | 'none';
    return hcxWorker({ dir: o.dir!, source: o.source!, data: o.data!, packing, dtype: o.dtype as 'f32' | 'bf16', steps: o.steps, warmup: WARMUP, seqLen: ROW, batchSize: packing === 'bfd' ? PACKED_ROWS : PADDED_BATCH });
  }
  if (o.worker) return seedWorker(o.worker === 'seed-lora', o.seedSteps);
  const systems = new Set(o.systems.split(','));
  for (const s of systems) if (!['hcx', 'trl', 'lora'].includes(s)) throw new Error(`--systems: unknown system "${s}" (hcx, trl, lora)`);
  const dtypes = o.dtypes.split(',') as ('f32' | 'bf16')[];
  for (const d of dtypes) if (d !== 'f32' && d !== 'bf16') throw new Error(`--dtypes: unknown dtype "${d}" (f32, bf16)`);
  const log = (s: string) => { if (!o.json) process.stderr.write(s + '\n'); };
  const dir = path.resolve(o.dir ?? path.join(tmpdir(), 'hcx-bench-sft'));
  const root = o.dataRoot ?? ['../shared/data', '../../shared/data'].find((d) => existsSync(d)) ?? null;
  const missing = o.dataRoot ? SHARED_FILES.filter((f) => !existsSync(path.join(o.dataRoot!, f))) : [];
  if (missing.length) throw new Error(`--data-root ${o.dataRoot}: missing ${missing.join(', ')} (leave --data-root out for the built-in stand-in where ../shared/data is absent)`);
  const set = await benchSet(root ? path.resolve(root) : null, dir, SHAPE);
  const sorted = set.lengths.slice().sort((a, b) => a - b);
  log(`bench set (${set.origin}): ${set.conversations} conversations, tokens per conversation median ${median(sorted)}, p90 ${sorted[Math.floor(sorted.length * 0.9)]}, max ${sorted[sorted.length - 1]} (rows of ${ROW}; longer ones cut)`);
  const ordered = path.join(dir, 'padded-order.jsonl');
  if (systems.has('trl')) writeFileSync(ordered, (await paddedOrder(set.data, path.join(set.source, 'tokenizer.json'), (o.steps + WARMUP) * PADDED_BATCH)).join('\n') + '\n');
  const rows: SftBenchRow[] = [];
  const add = (base: Omit<SftBenchRow, 'tokens_per_s' | 'step_s'>, r: Measured) => {
    const row: SftBenchRow = 'error' in r ? { ...base, tokens_per_s: NaN, step_s: NaN, note: String(r.error).slice(0, 160) } : { ...base, ...(r as Record<string, number>) } as SftBenchRow;
    rows.push(row);
    log(`  ${row.system} ${row.case} ${row.threads} thread(s) ${row.dtype}: ${Number.isFinite(row.tokens_per_s) ? Math.round(row.tokens_per_s) + ' tokens/s' : row.note}`);
  };
  for (const th of o.threads) for (const dtype of dtypes) {
    if (systems.has('hcx')) for (const packing of ['bfd', 'none'] as const) {
      add({ system: packing === 'bfd' ? 'hcx-packed' : 'hcx-padded', case: 'chat', threads: th, dtype },
        child(['--worker', 'hcx', '--dir', dir, '--source', set.source, '--data', set.data, '--packing', packing, '--dtype', dtype, '--steps', String(o.steps)], th));
    }
    if (systems.has('trl')) for (const mode of ['packed', 'padded'] as const) {
      add({ system: `trl-${mode}`, case: 'chat', threads: th, dtype }, trlCase({
        dir, hf: set.hf, data: mode === 'padded' ? ordered : set.data, mode, threads: th, bf16: dtype === 'bf16', steps: o.steps, warmup: WARMUP,
        batchSize: mode === 'padded' ? PADDED_BATCH : PACKED_ROWS, maxLength: ROW,
      }));
    }
  }
  if (systems.has('lora')) {
    const th = Math.max(...o.threads);
    for (const mode of ['full', 'lora'] as const) add({ system: `hcx-${mode}`, case: 'seed-0.5b', threads: th, dtype: 'f32' }, child(['--worker', `seed-${mode}`, '--seed-steps', String(o.seedSteps)], th));
  }
  const ratios = sftRatios(rows);
  const meta = {
    data: set.origin, model: { ...SHAPE, vocabSize: set.config.vocabSize, params: parameterCount(set.config).total },
    seed_05b: { ...SEED_05B, params: parameterCount(SEED_05B).total, tokens_per_step: SEED_TOKENS, lora: SEED_LORA },
    conversations: set.conversations, row_tokens: ROW, packed_rows_per_step: PACKED_ROWS, padded_conversations_per_step: PADDED_BATCH, timed_steps: o.steps, warmup_steps: WARMUP,
  };
  if (o.json) {
    console.log(JSON.stringify({ ...meta, rows, ...ratios }, null, 2));
    return;
  }
  console.log(`SFT throughput, ${set.conversations} chat conversations (${set.origin === 'built-in' ? 'built-in stand-in' : 'chatbot Q/A, self-instruct, KoMT-Bench'}), peer-shaped model (${(meta.model.params / 1e6).toFixed(1)}M), non-padding tokens/s over ${o.steps} steps after ${WARMUP} warm-up`);
  console.log(table(['system', 'case', 'threads', 'dtype', 'tokens/s', 's/step', 'tokens/step', 'padding %', 'peak RSS MB', 'trained params', 'note'], rows.map((r) => [
    r.system, r.case, r.threads, r.dtype, r.tokens_per_s, r.step_s, r.tokens_per_step ?? '', r.padding_share !== undefined ? r.padding_share * 100 : '', r.peak_rss_mb ?? '', r.trained_params ?? '', r.note ?? ''])));
  const f = (x: number | null) => (x === null || !Number.isFinite(x) ? 'n/a' : x.toFixed(2) + 'x');
  console.log(`hcx packed / hcx padded: ${f(ratios.packed_vs_padded)} (goal 1.5x); hcx best / TRL best: ${f(ratios.hcx_vs_trl)} (goal 3x); packed vs TRL packed ${f(ratios.packed_vs_trl_packed)}, padded vs TRL padded ${f(ratios.padded_vs_trl_padded)}`);
  console.log(`SEED 0.5B-shaped, LoRA rank ${SEED_LORA.rank} / full fine-tuning: peak RSS ${f(ratios.lora_vs_full_memory)}, tokens/s ${f(ratios.lora_vs_full_speed)}`);
}

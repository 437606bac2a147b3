// The measuring halves of `hcx bench sft`, each run in a child process of its own (so peak RSS and thread
// settings belong to one case): hcx SFT on the bench set, packed or padded; a few steps of full
// fine-tuning or LoRA on a HyperCLOVA X SEED 0.5B-shaped model; and TRL's SFTTrainer through
// scripts/bench/trl_sft_bench.py in the /tmp/hcx-py venv.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PRESETS, type ModelConfig } from '../model/config.js';
import { median, procStatusMb } from './stats.js';

/**
 * HyperCLOVA X SEED Text Instruct 0.5B as published: 0.57 B parameters, 0.45 B without the (tied) token
 * embeddings, 4K context. The layer count and widths below are a Llama shape with those totals
 * (d 1024, 24 layers, 16 query / 8 KV heads, SwiGLU 5120, vocabulary 110,592: 0.566 B / 0.453 B); the
 * model's config.json was not available offline to confirm them.
 */
export const SEED_05B: ModelConfig = { ...PRESETS.peer, vocabSize: 110592, dModel: 1024, nLayers: 24, nHeads: 16, nKvHeads: 8, ffnHidden: 5120, maxSeqLen: 4096, tieEmbeddings: true, ropeBase: 10000 };
/** SEED 0.5B steps: batch 1 x SEED_TOKENS random tokens. */
export const SEED_TOKENS = 256;
export const SEED_LORA = { rank: 16, alpha: 32, dropout: 0, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] };

export type Measured = Record<string, number> | { error: string };

const vmHwmMb = (): number => procStatusMb('VmHWM') || 0;

export interface HcxCase { dir: string; source: string; data: string; packing: 'bfd' | 'none'; dtype: 'f32' | 'bf16'; steps: number; warmup: number; seqLen: number; batchSize: number }

/**
 * One hcx case: `hcx sft` itself on the bench set; non-padding tokens over seconds of the timed steps
 * (those after the warm-up), and the padding share of the positions they computed.
 */
export async function hcxWorker(c: HcxCase): Promise<void> {
  const { sft } = await import('../train/sft.js');
  const { parseSftConfig } = await import('../train/sft_config.js');
  const cfg = parseSftConfig({
    from: c.source, data: [c.data], runDir: path.join(c.dir, `run-${c.packing}-${c.dtype}-${process.pid}`), seqLen: c.seqLen, packing: c.packing,
    steps: c.steps + c.warmup, batchSize: c.batchSize, lr: 1e-4, warmupSteps: 0, heldout: 0, evalEvery: 0, saveEvery: 0, keepCheckpoints: 1, computeDtype: c.dtype, seed: 1,
  }, 'bench', undefined, 'none', { maxSeqLen: c.seqLen }).cfg;
  const m = (await sft(cfg, { quiet: true })).metrics;
  const stepTokens = m.map((x, i) => x.tokens - (i ? m[i - 1].tokens : 0));
  const timed = m.slice(c.warmup).map((x, i) => ({ tokens: stepTokens[c.warmup + i], padding: x.padding, seconds: stepTokens[c.warmup + i] / x.tokens_per_s }));
  const tokens = timed.reduce((a, x) => a + x.tokens, 0), padding = timed.reduce((a, x) => a + x.padding, 0), seconds = timed.reduce((a, x) => a + x.seconds, 0);
  process.stdout.write(JSON.stringify({ tokens_per_s: tokens / seconds, step_s: median(timed.map((x) => x.seconds)), tokens_per_step: tokens / timed.length, padding_share: padding / (padding + tokens) }) + '\n');
}

/** One SEED 0.5B case: steps on batch 1 x SEED_TOKENS random tokens, full fine-tuning or LoRA; peak RSS. */
export async function seedWorker(lora: boolean, steps: number, config: ModelConfig = SEED_05B): Promise<void> {
  const { Transformer } = await import('../model/transformer.js');
  const { Lora } = await import('../model/lora.js');
  const { AdamW, backward, tidy, Rng } = await import('../tensor/index.js');
  const { optimizerStep } = await import('../train/step.js');
  const model = new Transformer(config, 1);
  const adapters = lora ? new Lora(model, SEED_LORA) : null;
  const params = adapters ? adapters.parameters() : model.parameters();
  const opt = new AdamW(params, { weightDecay: 0 });
  const T = SEED_TOKENS, rng = new Rng(2);
  const ids = Int32Array.from({ length: T }, () => rng.int(config.vocabSize));
  const tgt = Int32Array.from({ length: T }, () => rng.int(config.vocabSize));
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

/** Runs `hcx bench sft ARGS` in a child process with HCX_THREADS; its last stdout line is the result. */
export function child(args: string[], threads: number): Measured {
  const self = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  const r = spawnSync(process.execPath, ['-e', `import(${JSON.stringify(self)}).then(m => m.main(process.argv.slice(1)))`, 'bench', 'sft', ...args],
    { encoding: 'utf8', env: { ...process.env, HCX_THREADS: String(threads) }, maxBuffer: 1 << 24 });
  if (r.status !== 0) return { error: (r.stderr || `exit ${r.status ?? r.signal}`).trim().split('\n').slice(-3).join(' ') };
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

export function venvPython(): string {
  return process.env.HCX_PYTHON ?? path.join(process.env.HCX_PY_VENV ?? '/tmp/hcx-py', 'bin', 'python');
}

export interface TrlCase { dir: string; hf: string; data: string; mode: 'padded' | 'packed'; threads: number; bf16: boolean; steps: number; warmup: number; batchSize: number; maxLength: number }

/** TRL's SFTTrainer on the same Hugging Face export and conversations, in the venv. */
export function trlCase(c: TrlCase): Measured {
  const py = venvPython();
  if (!existsSync(py)) return { error: `no Python venv at ${py} (sh scripts/python-venv.sh)` };
  const script = fileURLToPath(new URL('../../../scripts/bench/trl_sft_bench.py', import.meta.url));
  const settings = path.join(c.dir, `trl-${c.mode}-${c.threads}-${c.bf16}.json`);
  writeFileSync(settings, JSON.stringify({ mode: c.mode, threads: c.threads, bf16: c.bf16, batch_size: c.batchSize, max_length: c.maxLength, steps: c.steps + c.warmup, warmup: c.warmup, out_dir: path.join(c.dir, 'trl-out') }));
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(c.threads), TOKENIZERS_PARALLELISM: 'false', OMP_WAIT_POLICY: 'PASSIVE' };
  // This machine pins old OpenBLAS settings that slow torch (as src/bench/torch_peer.ts explains).
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync(py, [script, c.hf, c.data, settings], { encoding: 'utf8', env, maxBuffer: 1 << 24, timeout: 1_800_000 });
  if (r.status !== 0) return { error: (r.stderr || `exit ${r.status ?? r.signal}`).trim().split('\n').slice(-2).join(' ') };
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  return line ? JSON.parse(line) : { error: 'TRL printed no result' };
}

// hcx dpo against TRL's DPOTrainer (scripts/bench/trl_dpo_bench.py) on the same tiny test-preset model,
// exported to Hugging Face format, and the same token rows in the same step order (built-in Korean pairs):
// seconds and non-padding tokens per second over the steps after warm-up. Rows for `hcx bench rlhf`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chatSamples } from '../data/corpus/chat.js';
import { hcxTemplate } from '../data/chat/template.js';
import { loadPreferenceData } from '../data/prefs/dataset.js';
import { buildKoreanPairs, builtinKoreanQA, koreanPairRecord } from '../data/prefs/korean.js';
import { saveCheckpoint } from '../model/checkpoint.js';
import { parseModelConfig } from '../model/config.js';
import { exportHfModel } from '../model/export_hf.js';
import { Transformer } from '../model/transformer.js';
import { native } from '../native/index.js';
import { trainTokenizer } from '../tokenizer/index.js';
import { dpo } from '../train/dpo.js';
import { DPO_SCHEMA, parsePrefConfig, type DpoConfig } from '../train/pref_config.js';
import { pairsAt } from '../train/reward.js';
import { venvPython } from './sft_workers.js';

/** reference_s: hcx, everything before the first step (data, model, reference log-probs); TRL, its reference precompute alone. */
export interface DpoPeerRow { system: string; seconds: number; tokens_per_s: number; step_s: number; steps: number; reference_s?: number; error?: string }
export interface DpoPeerOptions { dir: string; steps?: number; warmup?: number; batchSize?: number; pairs?: number }

export async function dpoPeer(o: DpoPeerOptions): Promise<DpoPeerRow[]> {
  const steps = o.steps ?? 10, warmup = o.warmup ?? 2, B = o.batchSize ?? 4, seed = 1, beta = 0.1, lr = 1e-4;
  mkdirSync(o.dir, { recursive: true });
  const tok = await trainTokenizer({ texts: chatSamples(120, 3).flatMap((s) => s.messages.map((m) => m.content)), vocabSize: 420, split: 'rules' });
  const config = parseModelConfig({ preset: 'test', vocabSize: tok.vocabSize, maxSeqLen: 256 });
  const model = new Transformer(config, 5);
  const src = path.join(o.dir, 'source');
  saveCheckpoint(src, { model, state: { step: 0, tokensSeen: 0 }, trainConfig: { model: config } });
  tok.save(path.join(src, 'tokenizer.json'));
  const pairsFile = path.join(o.dir, 'pairs.jsonl');
  writeFileSync(pairsFile, buildKoreanPairs(builtinKoreanQA(120), { limit: o.pairs ?? 40, seed: 4 }).map((p) => koreanPairRecord(p) + '\n').join(''));
  const total = steps + warmup;
  const cfg = parsePrefConfig<DpoConfig>({ from: src, data: [pairsFile], runDir: path.join(o.dir, 'hcx'), seqLen: 256, heldout: 0, steps: total, batchSize: B, lr, minLr: lr, warmupSteps: 0, beta, evalEvery: 0, saveEvery: 0, seed }, DPO_SCHEMA, 'dpo peer', config);
  const t0 = Date.now();
  const r = await dpo(cfg, { quiet: true });
  const refS = (Date.now() - t0) / 1000 - r.metrics[total - 1].elapsed_s;
  const timed = r.metrics.slice(warmup);
  const secs = timed[timed.length - 1].elapsed_s - r.metrics[warmup - 1 < 0 ? 0 : warmup - 1].elapsed_s;
  const toks = timed[timed.length - 1].tokens - (warmup ? r.metrics[warmup - 1].tokens : 0);
  const rows: DpoPeerRow[] = [{ system: 'hcx dpo', seconds: secs, tokens_per_s: toks / secs, step_s: secs / timed.length, steps: timed.length, reference_s: refS }];

  // TRL on the same rows in hcx's step order.
  const data = await loadPreferenceData({ files: [pairsFile], format: 'auto', template: hcxTemplate(tok), seqLen: 256, heldout: 0, seed, onBadLine: 'fatal' });
  const ordered = pairsAt(data.train, seed, 0, total * B).pairs.map((p) => JSON.stringify({
    prompt_ids: [...p.chosen.ids.subarray(0, p.chosen.start)], chosen_ids: [...p.chosen.ids.subarray(p.chosen.start)], rejected_ids: [...p.rejected.ids.subarray(p.rejected.start)],
  }));
  const rowsFile = path.join(o.dir, 'trl-rows.jsonl');
  writeFileSync(rowsFile, ordered.join('\n') + '\n');
  const hf = path.join(o.dir, 'hf');
  exportHfModel(model, tok, hf);
  const py = venvPython();
  if (!existsSync(py)) return [...rows, { system: 'TRL DPOTrainer', seconds: 0, tokens_per_s: 0, step_s: 0, steps: 0, error: `no Python venv at ${py}` }];
  const settings = path.join(o.dir, 'trl-settings.json');
  writeFileSync(settings, JSON.stringify({ threads: native.numThreads(), batch_size: B, steps: total, warmup, lr, beta, out_dir: path.join(o.dir, 'trl-out') }));
  const script = fileURLToPath(new URL('../../../scripts/bench/trl_dpo_bench.py', import.meta.url));
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(native.numThreads()), TOKENIZERS_PARALLELISM: 'false' };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const p = spawnSync(py, [script, hf, rowsFile, settings], { encoding: 'utf8', env, maxBuffer: 1 << 24, timeout: 900_000 });
  const line = p.stdout?.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (p.status !== 0 || !line) return [...rows, { system: 'TRL DPOTrainer', seconds: 0, tokens_per_s: 0, step_s: 0, steps: 0, error: (p.stderr || `exit ${p.status}`).trim().split('\n').slice(-2).join(' ') }];
  const t = JSON.parse(line) as { tokens_per_s: number; step_s: number; steps: number; seconds: number; reference_s: number };
  rows.push({ system: 'TRL DPOTrainer', seconds: t.seconds, tokens_per_s: t.tokens_per_s, step_s: t.step_s, steps: t.steps, reference_s: t.reference_s });
  return rows;
}

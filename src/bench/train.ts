// `hcx bench train`: training throughput of the PyTorch peer's model (vocab 8192, d 256, 4 layers,
// 4 heads / 2 KV heads, SwiGLU 688, batch 8 x 256, AdamW) in hcx and, in the same run, in PyTorch
// through ../shared/peers/run_torch_llama.sh, at 1 and 2 threads. MFU uses the peer's FLOP count
// (6 N_matmul + 12 L d T per token) against the peak measured on the spot (bf16 rows: the bf16 peak).
import { defineCommand, type OptionTable, type Values } from '../cli/args.js';
import { PRESETS, parameterCount } from '../model/config.js';
import { Transformer } from '../model/transformer.js';
import { setThreads } from '../native/index.js';
import { AdamW, Rng, backward, tidy } from '../tensor/index.js';
import { measurePeak } from './peak.js';
import { median, table } from './stats.js';
import { installTorchPeer, runTorchPeer } from './torch_peer.js';

interface Row { system: string; threads: number; dtype: string; tokens_per_s: number; mfu: number; step_ms: number; loss?: number; note?: string }

const BATCH = 8, SEQ = 256;

function flopsPerToken(): number {
  const c = PRESETS.peer;
  const matmul = parameterCount(c).total - c.vocabSize * c.dModel;
  return 6 * matmul + 12 * c.nLayers * c.dModel * SEQ;
}

function hcxTrain(threads: number, steps: number, repeats: number, dtype: 'f32' | 'bf16'): { stepMs: number; loss: number } {
  setThreads(threads);
  const model = new Transformer(PRESETS.peer, 0);
  model.computeDtype = dtype;
  const opt = new AdamW(model.parameters(), { weightDecay: 0.1 });
  const rng = new Rng(0);
  const x = Int32Array.from({ length: BATCH * (SEQ + 1) }, () => rng.int(PRESETS.peer.vocabSize));
  const ids = new Int32Array(BATCH * SEQ), tgt = new Int32Array(BATCH * SEQ);
  for (let b = 0; b < BATCH; b++) {
    ids.set(x.subarray(b * (SEQ + 1), b * (SEQ + 1) + SEQ), b * SEQ);
    tgt.set(x.subarray(b * (SEQ + 1) + 1, (b + 1) * (SEQ + 1)), b * SEQ);
  }
  let loss = 0;
  const step = () => {
    loss = tidy(() => {
      const l = model.loss(ids, tgt, BATCH, SEQ);
      backward(l);
      return l.item();
    });
    opt.update(3e-4);
    opt.zeroGrad();
  };
  step();
  step();
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = process.hrtime.bigint();
    for (let s = 0; s < steps; s++) step();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6 / steps);
  }
  return { stepMs: median(times), loss };
}

const options = {
  json: { type: 'boolean', description: 'print one JSON document' },
  threads: { type: 'numbers', integer: true, min: 1, default: [1, 2], description: 'thread counts to measure' },
  steps: { type: 'number', integer: true, min: 1, default: 3, description: 'timed optimizer steps per run' },
  repeat: { type: 'number', integer: true, min: 1, default: 3, description: 'runs per case (median)' },
  'install-peer': { type: 'boolean', description: 'install the PyTorch peer first' },
} as const satisfies OptionTable;

export const command = defineCommand({ summary: 'training tokens/s and MFU: hcx and PyTorch on the same model', options, run });

async function run(o: Values<typeof options>): Promise<void> {
  const { json, threads: threadList, steps, repeat: repeats } = o;
  if (o.installPeer) installTorchPeer();
  const peak = measurePeak(threadList);
  const fpt = flopsPerToken();
  const toks = BATCH * SEQ;
  const rows: Row[] = [];
  const log = (s: string) => { if (!json) process.stderr.write(s + '\n'); };
  for (const th of threadList) {
    for (const dtype of ['f32', 'bf16'] as const) {
      if (dtype === 'bf16' && !(peak.bf16[String(th)] > 0)) continue;
      log(`hcx ${dtype}, ${th} thread(s)...`);
      const r = hcxTrain(th, steps, repeats, dtype);
      const tps = toks / (r.stepMs / 1000);
      rows.push({ system: 'hcx', threads: th, dtype, tokens_per_s: Math.round(tps), mfu: (tps * fpt) / (peak[dtype][String(th)] * 1e9), step_ms: r.stepMs, loss: r.loss });
    }
    log(`PyTorch, ${th} thread(s)...`);
    const peer = runTorchPeer(['--threads', String(th), '--only', 'train', '--steps', String(steps), '--repeats', String(repeats)]);
    if (peer.ok) {
      const rec = peer.records.find((x) => x.what === 'train');
      if (rec) {
        const ptps = rec.tok_s_median as number;
        rows.push({ system: 'pytorch', threads: th, dtype: 'f32', tokens_per_s: Math.round(ptps), mfu: (ptps * fpt) / (peak.f32[String(th)] * 1e9), step_ms: (rec.step_s_median as number) * 1000, loss: rec.final_loss as number });
      }
    } else rows.push({ system: 'pytorch', threads: th, dtype: 'f32', tokens_per_s: NaN, mfu: NaN, step_ms: NaN, note: peer.reason });
  }
  const best = (sys: string) => Math.max(0, ...rows.filter((r) => r.system === sys && r.dtype === 'f32' && Number.isFinite(r.tokens_per_s)).map((r) => r.tokens_per_s));
  const ratio = best('pytorch') > 0 ? best('hcx') / best('pytorch') : null;
  if (json) {
    console.log(JSON.stringify({ model: 'peer', batch: BATCH, seq: SEQ, flops_per_token: fpt, peak_gflops: peak, rows, hcx_vs_pytorch_best: ratio }, null, 2));
    return;
  }
  console.log(`training throughput, peer model (${(parameterCount(PRESETS.peer).total / 1e6).toFixed(2)}M params), batch ${BATCH} x ${SEQ}, AdamW, median of ${repeats} x ${steps} steps`);
  console.log(table(['system', 'threads', 'dtype', 'tokens/s', 'MFU %', 'ms/step', 'note'],
    rows.map((r) => [r.system, r.threads, r.dtype, r.tokens_per_s, r.mfu * 100, r.step_ms, r.note ?? ''])));
  console.log(`peak fp32 GFLOPS: ${JSON.stringify(peak.f32)}; hcx best fp32 / PyTorch best: ${ratio === null ? 'n/a (no peer)' : ratio.toFixed(2) + 'x'}`);
}

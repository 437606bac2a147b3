// `hcx bench attention`: flash-style GQA attention forward+backward at growing sequence lengths,
// side by side with the naive composition (Q K^T, mask, softmax, P V) that materialises T x T scores.
// Each measurement runs in a fresh child process so its peak RSS (VmHWM) belongs to that case alone.
// hcx-packed is the same row holding T/256 sequences of 256 tokens with segment ids (SFT packing): the
// kernel skips the tiles across sequences, so it should cost about 256/T of the dense causal row.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defineCommand, type OptionTable, type Values } from '../cli/args.js';
import { median, procStatusMb, table } from './stats.js';

const HQ = 8, HKV = 2, D = 64;

interface Row { op: string; system: string; dtype: string; t: number; threads: number; ms: number; peak_bytes: number; gflops: number }

const vmHwmBytes = (): number => procStatusMb('VmHWM') * 1024 * 1024 || 0;

// Causal attention FLOPs: forward 2 GEMMs (QK^T, PV), backward 5 (recompute QK^T, dV, dP, dQ, dK), half of T^2 each.
const flops = (t: number) => 7 * 2 * HQ * D * t * t * 0.5;
const PACKED_LEN = 256;
const usefulFlops = (system: string, t: number) => (system === 'hcx-packed' ? Math.ceil(t / PACKED_LEN) * flops(Math.min(t, PACKED_LEN)) : flops(t));

async function worker(system: string, t: number, threads: number, repeat: number): Promise<void> {
  const { setThreads } = await import('../native/index.js');
  const { F, Tensor, backward, tidy, Rng } = await import('../tensor/index.js');
  setThreads(threads);
  const rng = new Rng(1);
  const mk = (h: number) => {
    const x = new Tensor([1, t, h, D], undefined, { requiresGrad: true, untracked: true });
    rng.fillNormal(x.data);
    return x;
  };
  const q = mk(HQ), k = mk(HKV), v = mk(HKV);
  const g = new Float32Array(q.size).map(() => rng.normal());
  const seg = Int32Array.from({ length: t }, (_, i) => Math.floor(i / PACKED_LEN));
  const base = vmHwmBytes();
  const step = () => tidy(() => {
    for (const x of [q, k, v]) x.grad = null;
    let o;
    if (system === 'hcx-flash') o = F.attention(q, k, v);
    else if (system === 'hcx-packed') o = F.attention(q, k, v, { segmentIds: seg });
    else {
      // Naive: expand KV heads, [1,T,H,D] -> [H,T,D], scores [H,T,T], causal mask, softmax, P V.
      const rep = (x: InstanceType<typeof Tensor>) => F.reshape(F.concat(Array.from({ length: HQ / HKV }, () => F.reshape(x, [1, t, HKV, 1, D])), 3), [1, t, HQ, D]);
      const qh = F.permute(q, [0, 2, 1, 3]), kh = F.permute(rep(k), [0, 2, 1, 3]), vh = F.permute(rep(v), [0, 2, 1, 3]);
      const s = F.scale(F.matmul(F.reshape(qh, [HQ, t, D]), F.reshape(kh, [HQ, t, D]), { transB: true }), 1 / Math.sqrt(D));
      const mask = new Uint8Array(HQ * t * t);
      for (let h = 0; h < HQ; h++) for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) mask[(h * t + i) * t + j] = 1;
      const p = F.softmax(F.maskedFill(s, mask, -Infinity));
      o = F.permute(F.reshape(F.matmul(p, F.reshape(vh, [HQ, t, D])), [1, HQ, t, D]), [0, 2, 1, 3]);
    }
    backward(o, g);
    return 0;
  });
  const times: number[] = [];
  step();
  for (let i = 0; i < repeat; i++) {
    const t0 = process.hrtime.bigint();
    step();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const ms = median(times);
  const row: Row = { op: 'attention_fwd_bwd', system, dtype: 'f32', t, threads, ms, peak_bytes: vmHwmBytes() - base, gflops: usefulFlops(system, t) / ms / 1e6 };
  process.stdout.write(JSON.stringify(row) + '\n');
}

const options = {
  json: { type: 'boolean', description: 'print one JSON document' },
  threads: { type: 'numbers', integer: true, min: 1, default: [1, 2], description: 'thread counts to measure' },
  t: { type: 'numbers', integer: true, min: 1, default: [512, 1024, 2048, 4096], description: 'sequence lengths' },
  repeat: { type: 'number', integer: true, min: 1, default: 3, description: 'timed runs per case (median)' },
  'naive-max-t': { type: 'number', integer: true, min: 0, default: 2048, description: 'longest T for the naive composition (its T x T scores grow fast)' },
  worker: { type: 'string', choices: ['hcx-flash', 'hcx-packed', 'naive'], hidden: true, description: 'internal: measure one case in this process' },
} as const satisfies OptionTable;

export const command = defineCommand({ summary: 'flash-style GQA attention forward+backward vs the naive composition (time, peak memory)', options, run });

async function run(o: Values<typeof options>): Promise<void> {
  if (o.worker) return worker(o.worker, o.t[0], o.threads[0], o.repeat);
  const { json, threads: threadList, t: lengths, repeat, naiveMaxT: naiveMax } = o;
  const self = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  const rows: Row[] = [];
  for (const t of lengths) for (const threads of threadList) for (const system of ['hcx-flash', 'hcx-packed', 'naive']) {
    if (system === 'naive' && t > naiveMax) continue;
    const r = spawnSync(process.execPath, ['-e', `import(${JSON.stringify(self)}).then(m => m.main(process.argv.slice(1)))`,
      'bench', 'attention', '--worker', system, '--t', String(t), '--threads', String(threads), '--repeat', String(repeat)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`attention bench worker failed (${system}, T=${t}): ${r.stderr}`);
    const row = JSON.parse(r.stdout.trim().split('\n').pop()!) as Row;
    rows.push(row);
    if (!json) process.stderr.write(`  ${system} T=${t} threads=${threads}: ${row.ms.toFixed(1)} ms\n`);
  }
  if (json) {
    console.log(JSON.stringify({ shape: { hq: HQ, hkv: HKV, head_dim: D, batch: 1, causal: true }, rows }, null, 2));
    return;
  }
  const flash = (t: number, th: number) => rows.find((r) => r.system === 'hcx-flash' && r.t === t && r.threads === th);
  console.log(`attention forward+backward, causal GQA (${HQ} query heads, ${HKV} KV heads, head dim ${D}), fp32, median of ${repeat}`);
  console.log(table(['system', 'T', 'threads', 'ms', 'GFLOP/s', 'peak MiB', 'flash speedup'], rows.map((r) => {
    const f = flash(r.t, r.threads);
    return [r.system, r.t, r.threads, r.ms, r.gflops, r.peak_bytes / 2 ** 20, f ? r.ms / f.ms : NaN];
  })));
  console.log(`hcx-packed: the row holds sequences of ${PACKED_LEN} tokens (segment ids); its GFLOP/s counts only the attention within them.`);
  console.log('peak MiB is the growth of the process peak RSS during the case: linear in T for flash, quadratic for naive.');
}

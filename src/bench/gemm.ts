// `hcx bench gemm`: fp32/bf16 GEMM throughput against the machine's measured peak and numpy (OpenBLAS).
// Rows: square products 512^3, 1024^3, 2048^3 and decode shapes M = 1, 8, 64 x N = 1024 x K = 1024 with
// the weight stored [K,N] ("kn") and transposed [N,K] ("nk", y = x W^T as in nn.Linear), fp32 and bf16,
// each at every requested thread count. numpy runs in a subprocess with OPENBLAS_CORETYPE=SkylakeX
// (Debian's OpenBLAS misdetects Zen 5 and falls back to AVX2) and OPENBLAS_NUM_THREADS set per row.
import { spawnSync } from 'node:child_process';
import { native, setThreads, numThreads } from '../native/index.js';
import { defineCommand, type OptionTable, type Values } from '../cli/args.js';
import { median, table } from './stats.js';
import { measurePeak } from './peak.js';
import { measureCeiling, type CeilingResult } from './gemm_ceiling.js';

type DType = 'f32' | 'bf16';
interface Shape { op: 'gemm' | 'decode'; m: number; n: number; k: number; weight: 'kn' | 'nk' }
interface Row extends Shape {
  dtype: DType; threads: number; ms: number; gflops: number; pct_peak: number;
  peer_gflops: number | null; ratio: number | null;
}

const SHAPES: Shape[] = [
  { op: 'gemm', m: 512, n: 512, k: 512, weight: 'kn' },
  { op: 'gemm', m: 1024, n: 1024, k: 1024, weight: 'kn' },
  { op: 'gemm', m: 2048, n: 2048, k: 2048, weight: 'kn' },
  ...[1, 8, 64].flatMap((m) => (['kn', 'nk'] as const).map((weight) => ({ op: 'decode' as const, m, n: 1024, k: 1024, weight }))),
];

function fill(a: Float32Array, seed: number): Float32Array {
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 4294967296) * 2 - 1;
  }
  return a;
}

/** Median milliseconds per call: each repeat times enough calls to last >= 30 ms. */
function timeCall(fn: () => void, repeat: number): number {
  fn();
  const t0 = performance.now();
  fn();
  const once = Math.max(performance.now() - t0, 1e-3);
  const inner = Math.max(1, Math.min(1000, Math.ceil(30 / once)));
  const ts: number[] = [];
  for (let r = 0; r < repeat; r++) {
    const s = process.hrtime.bigint();
    for (let i = 0; i < inner; i++) fn();
    ts.push(Number(process.hrtime.bigint() - s) / 1e6 / inner);
  }
  return median(ts);
}

function hcxRow(sh: Shape, dtype: DType, repeat: number): { ms: number; gflops: number } {
  const { m, n, k } = sh;
  const a = fill(new Float32Array(m * k), 1), c = new Float32Array(m * n);
  const w = fill(new Float32Array(k * n), 2);
  const tW = sh.weight === 'nk' ? 1 : 0;
  let fn: () => void;
  if (dtype === 'f32') fn = () => native.sgemm(a, w, c, 1, m, n, k, 0, tW, 1, 0, 0, 0, 0);
  else {
    const wb = new Uint16Array(k * n);
    native.f32ToBf16(w, wb);
    fn = () => native.gemmBf16(a, wb, c, 1, m, n, k, 0, tW, 1, 0, 0, 0, 0);
  }
  const flops = 2 * m * n * k;
  const ms = timeCall(fn, repeat);
  return { ms, gflops: flops / ms / 1e6 };
}

const PY = String.raw`
import json, sys, time
import numpy as np
shapes, repeat = json.loads(sys.argv[1]), int(sys.argv[2])
out = []
rng = np.random.default_rng(0)
for s in shapes:
    m, n, k = s['m'], s['n'], s['k']
    a = rng.standard_normal((m, k), dtype=np.float32)
    w = rng.standard_normal((n, k) if s['weight'] == 'nk' else (k, n), dtype=np.float32)
    f = (lambda: a @ w.T) if s['weight'] == 'nk' else (lambda: a @ w)
    f()
    t0 = time.perf_counter(); f(); once = max(time.perf_counter() - t0, 1e-6)
    inner = max(1, min(1000, int(0.03 / once) + 1))
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(inner): f()
        ts.append((time.perf_counter() - t0) / inner)
    ts.sort()
    med = ts[len(ts) // 2] if len(ts) % 2 else (ts[len(ts) // 2 - 1] + ts[len(ts) // 2]) / 2
    out.append(2 * m * n * k / med / 1e9)
print(json.dumps({'version': np.__version__, 'gflops': out}))
`;

function peerAvailable(): boolean {
  const r = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
  return r.status === 0;
}

/** numpy GFLOPS per shape at `threads` OpenBLAS threads, or null if the run fails. */
function numpyRun(shapes: Shape[], threads: number, repeat: number): { version: string; gflops: number[] } | null {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_CORETYPE: 'SkylakeX', OPENBLAS_NUM_THREADS: String(threads) };
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync('python3', ['-c', PY, JSON.stringify(shapes), String(repeat)], { env, encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) return null;
  try { return JSON.parse(r.stdout.trim().split('\n').pop() ?? ''); } catch { return null; }
}

const options = {
  json: { type: 'boolean', description: 'print one JSON document' },
  threads: { type: 'numbers', integer: true, min: 1, default: [1, 2], description: 'thread counts to measure' },
  repeat: { type: 'number', integer: true, min: 1, default: 5, description: 'timed runs per shape (median)' },
  ceiling: { type: 'boolean', description: 'also run two 1-thread GEMM processes at once (what 2 cores allow a 2-thread GEMM)' },
} as const satisfies OptionTable;

export const command = defineCommand({ summary: 'fp32/bf16 GEMM GFLOPS against the measured peak and numpy (OpenBLAS)', options, run });

async function run(o: Values<typeof options>): Promise<void> {
  const { json, threads: threadList, repeat } = o;
  const dtypes: DType[] = ['f32', 'bf16'];
  const log = (s: string) => { if (!json) process.stderr.write(s + '\n'); };
  const before = numThreads();

  // Peak measured before and after the rows, the better of the two kept (a shared machine's
  // neighbours only ever lower it).
  const peak = measurePeak(threadList);
  const havePeer = peerAvailable();
  let peerName: string | null = null;
  const rows: Row[] = [];
  for (const threads of threadList) {
    setThreads(threads);
    const peer = havePeer ? numpyRun(SHAPES, threads, repeat) : null;
    if (peer) peerName = `numpy ${peer.version} (OpenBLAS, OPENBLAS_CORETYPE=SkylakeX)`;
    for (const dtype of dtypes) {
      SHAPES.forEach((sh, i) => {
        const { ms, gflops } = hcxRow(sh, dtype, repeat);
        const pk = peak[dtype][String(threads)] || 0;
        // numpy has no bf16 GEMM: bf16 rows are compared with numpy's fp32 on the same shape.
        const peerG = peer ? peer.gflops[i] : null;
        rows.push({ ...sh, dtype, threads, ms, gflops, pct_peak: pk > 0 ? (100 * gflops) / pk : 0, peer_gflops: peerG, ratio: peerG ? gflops / peerG : null });
        log(`  ${dtype} ${sh.op} ${sh.m}x${sh.n}x${sh.k} ${sh.weight} threads=${threads}: ${gflops.toFixed(1)} GFLOPS`);
      });
    }
  }
  const peak2 = measurePeak(threadList);
  for (const d of ['f32', 'bf16'] as const) {
    for (const t of threadList) {
      const k = String(t);
      if (peak2[d][k] > peak[d][k]) {
        peak[d][k] = peak2[d][k];
        for (const r of rows) if (r.dtype === d && r.threads === t) r.pct_peak = (100 * r.gflops) / peak[d][k];
      }
    }
  }
  setThreads(before);
  let ceiling: CeilingResult | null = null;
  if (o.ceiling) {
    log('  ceiling: 1-thread GEMM processes alone and in pairs, peak loop beside a GEMM (about 1 minute)');
    ceiling = await measureCeiling(1024, peak.f32['2'] ?? measurePeak([2]).f32['2']);
  }

  if (json) {
    console.log(JSON.stringify({
      suite: 'gemm', isa: native.isaName(), bf16_dot: native.hasBf16Dot(), repeat,
      peak_gflops: peak, peer: peerName, rows, ...(ceiling ? { ceiling } : {}),
    }, null, 2));
    return;
  }
  console.log(`hcx bench gemm: isa ${native.isaName()}, median of ${repeat}; peak = best of 3 register-only FMA runs`);
  console.log('peak GFLOPS: ' + (['f32', 'bf16'] as const).map((d) => `${d} ` + threadList.map((t) => `${t}T ${peak[d][String(t)].toFixed(0)}`).join(' / ')).join(', '));
  console.log(peerName ? `peer: ${peerName} (fp32; numpy has no bf16 GEMM, so bf16 rows compare with its fp32)` : 'peer: numpy not found, hcx only');
  console.log(table(
    ['dtype', 'op', 'M', 'N', 'K', 'weight', 'threads', 'ms', 'GFLOPS', '% peak', 'numpy', 'hcx/numpy'],
    rows.map((r) => [r.dtype, r.op, r.m, r.n, r.k, r.weight, r.threads, r.ms, r.gflops, r.pct_peak,
      r.peer_gflops ?? '-', r.ratio === null ? '-' : r.ratio.toFixed(2)]),
  ));
  if (ceiling) {
    const c = ceiling;
    console.log(`\nceiling at ${c.n}^3 fp32 (each line its own process(es), medians of 3 rounds of 2 s):`);
    console.log(table(['measurement', 'GFLOPS', 'note'], [
      ['1-thread GEMM, other core idle', c.alone_gflops, ''],
      ['two 1-thread GEMM processes at once', c.pair_gflops[0] + c.pair_gflops[1], `${c.pair_gflops[0].toFixed(0)} + ${c.pair_gflops[1].toFixed(0)} = ${c.pair_pct_peak.toFixed(1)}% of the 2-thread peak`],
      ['hcx 2-thread GEMM, one process', c.two_thread_gflops, `${c.two_thread_pct_peak.toFixed(1)}% of the 2-thread peak`],
      ['1-thread peak loop, other core idle', c.peak1_alone, ''],
      ['1-thread peak loop beside a GEMM process', c.peak1_beside_gemm, 'equal: the clock does not drop; lower: it does'],
    ]));
  }
}

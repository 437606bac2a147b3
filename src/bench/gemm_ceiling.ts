// `hcx bench gemm --ceiling`: what two cores of this machine allow a 2-thread GEMM, measured rather than assumed.
// Two separate processes each run hcx's 1-thread fp32 GEMM at the same moment: they share no data, no threads
// and no synchronisation, only the caches, memory and clock of the machine, so the sum of their rates is the
// most a 2-thread GEMM built from the same kernel can reach. The same rounds time hcx's own 2-thread GEMM in one
// process, so the two compare directly; and put the register-only peak loop beside one GEMM process, to tell
// a clock that drops under load from contention in the memory hierarchy.
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { median } from './stats.js';

export interface CeilingResult {
  n: number;
  /** 1-thread GEMM GFLOPS in one process, with the other core idle. */
  alone_gflops: number;
  /** The two 1-thread GEMM processes running at once, and their sum as % of the 2-thread peak. */
  pair_gflops: [number, number];
  pair_pct_peak: number;
  /** hcx's 2-thread GEMM in one process, in the same rounds, and as % of the 2-thread peak. */
  two_thread_gflops: number;
  two_thread_pct_peak: number;
  /** The 1-thread peak loop alone and beside a 1-thread GEMM process. */
  peak1_alone: number;
  peak1_beside_gemm: number;
}

// A child: waits for "go" on stdin, then runs `mode` for `ms` milliseconds in 200 ms windows and prints the
// median rate in GFLOPS as JSON.
const CHILD = String.raw`
const [url, mode, n, ms] = process.argv.slice(1);
const { native, setThreads } = await import(url);
setThreads(mode === 'gemm2' ? 2 : 1);
const N = Number(n);
const a = new Float32Array(N * N).fill(0.5), w = new Float32Array(N * N).fill(0.25), c = new Float32Array(N * N);
const gemm = () => native.sgemm(a, w, c, 1, N, N, N, 0, 0, 1, 0, 0, 0, 0);
gemm(); gemm();
process.stdout.write('ready\n');
process.stdin.once('data', () => {
  const rates = [], end = Date.now() + Number(ms);
  while (Date.now() < end) {
    if (mode === 'peak') { rates.push(native.peakFlops('f32', 1, 200)); continue; }
    const t0 = process.hrtime.bigint(); let it = 0;
    while (Number(process.hrtime.bigint() - t0) < 200e6) { gemm(); it++; }
    rates.push((2 * N * N * N * it) / Number(process.hrtime.bigint() - t0));
  }
  rates.sort((x, y) => x - y);
  process.stdout.write(JSON.stringify({ gflops: rates[rates.length >> 1] }) + '\n');
  process.exit(0);
});
`;

/** Runs the given children at once (each started, then released together); resolves to their GFLOPS. */
function together(modes: Array<'gemm' | 'gemm2' | 'peak'>, n: number, ms: number): Promise<number[]> {
  const url = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'native', 'index.js')).href;
  return new Promise((resolve, reject) => {
    let ready = 0, done = 0;
    const out: number[] = new Array(modes.length).fill(NaN);
    // A child that fails would leave the others waiting for "go" forever: stop them all.
    const fail = (e: Error) => { for (const k of kids) k.kill(); reject(e); };
    const kids = modes.map((mode, i) => {
      const kid = spawn(process.execPath, ['--input-type=module', '-e', CHILD, url, mode, String(n), String(ms)], { stdio: ['pipe', 'pipe', 'inherit'] });
      let buf = '';
      kid.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl); buf = buf.slice(nl + 1);
          if (line === 'ready') { if (++ready === modes.length) for (const k of kids) k.stdin.write('go\n'); }
          else out[i] = (JSON.parse(line) as { gflops: number }).gflops;
        }
      });
      kid.on('error', fail);
      kid.on('exit', (code) => {
        if (code !== 0) { fail(new Error(`bench gemm --ceiling: child ${mode} exited with ${code}`)); return; }
        if (!Number.isFinite(out[i])) { fail(new Error(`bench gemm --ceiling: child ${mode} reported no rate`)); return; }
        if (++done === modes.length) resolve(out);
      });
      return kid;
    });
  });
}

/** The median over `rounds` of each measurement; peak2 is the 2-thread fp32 peak measured by the caller. */
export async function measureCeiling(n: number, peak2: number, rounds = 3, ms = 2000): Promise<CeilingResult> {
  const alone: number[] = [], pa: number[] = [], pb: number[] = [], two: number[] = [], pkAlone: number[] = [], pkBeside: number[] = [];
  for (let r = 0; r < rounds; r++) {
    alone.push((await together(['gemm'], n, ms))[0]);
    two.push((await together(['gemm2'], n, ms))[0]);
    const [x, y] = await together(['gemm', 'gemm'], n, ms);
    pa.push(Math.max(x, y)); pb.push(Math.min(x, y));
    pkAlone.push((await together(['peak'], n, ms))[0]);
    pkBeside.push((await together(['peak', 'gemm'], n, ms))[0]);
  }
  const pair: [number, number] = [median(pa), median(pb)], pct = (g: number) => (peak2 > 0 ? (100 * g) / peak2 : 0);
  return {
    n, alone_gflops: median(alone), pair_gflops: pair, pair_pct_peak: pct(pair[0] + pair[1]),
    two_thread_gflops: median(two), two_thread_pct_peak: pct(median(two)),
    peak1_alone: median(pkAlone), peak1_beside_gemm: median(pkBeside),
  };
}

// `hcx bench load`: how fast hcx reads model weights, against `cat FILE > /dev/null` on the same file in the
// same run (the floor: reading the bytes from the page cache) and, where the Python venv has them, the
// safetensors library's load_file into PyTorch tensors.
// The bench writes a llama-shaped model with random weights (about --size-mb, default 1024 MB in bf16) into
// os.tmpdir(): a Hugging Face directory (config.json + model.safetensors, bf16) and a GGUF F16 of the same
// weights (values chosen exactly representable in both). Every file is read once before timing, so the page
// cache is warm for every system alike. Each load runs in its own child process, which reports the load's
// seconds (the read call alone, not node's start-up) and its peak RSS (VmHWM) and RSS before the load; cat and
// Python are timed the same way (cat: the whole process, a few ms of fork/exec included). Median of --repeat.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineCommand, type OptionTable, type Values } from '../cli/args.js';
import { median, procStatusMb, table } from './stats.js';
import { parseModelConfig, type ModelConfig } from '../model/config.js';

interface Row {
  system: string; format: string; stored: string; as: string; file_mb: number;
  seconds: number; ratio_over_cat?: number; peak_rss_mb?: number; base_rss_mb?: number; process_seconds?: number;
}
interface WorkerResult { seconds: number; peak_rss_mb: number; base_rss_mb: number; values: number }


/**
 * Child: one load, reported as one JSON line. format 'safetensors-touched' reads into arrays allocated and
 * written before the clock starts: the reader's own cost, without the kernel faulting in fresh memory.
 */
async function worker(format: string, file: string, as: string): Promise<void> {
  const { readHfWeights, openHfWeights } = await import('../model/hf_weights.js');
  const { readGgufModel } = await import('../model/gguf/hf_import.js');
  const base = procStatusMb('VmRSS');
  let into: Map<string, Uint16Array> | null = null;
  if (format === 'safetensors-touched') {
    const ck = openHfWeights(file);
    into = new Map([...ck.entries.values()].map((e) => [e.name, new Uint16Array(e.shape.reduce((a, b) => a * b, 1)).fill(1)]));
    ck.close();
  }
  const t0 = process.hrtime.bigint();
  let tensors: Map<string, { data: ArrayBufferView & { length: number } }>;
  if (into) {
    const ck = openHfWeights(file);
    for (const [name, dst] of into) ck.read(name, 'stored', dst);
    ck.close();
    tensors = new Map([...into].map(([k, v]) => [k, { data: v }]));
  } else if (format === 'safetensors') tensors = readHfWeights(file, { as: as as 'stored' | 'f32' | 'bf16' }).tensors;
  else tensors = readGgufModel(file, { as: as as 'f32' | 'bf16' }).tensors;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  let values = 0;
  for (const t of tensors.values()) values += t.data.length;
  const r: WorkerResult = { seconds, peak_rss_mb: procStatusMb('VmHWM'), base_rss_mb: base, values };
  process.stdout.write(JSON.stringify(r) + '\n');
}

/** Llama shape near `mb` megabytes of bf16 weights: d 2048 (d 512 below 512 MB), as many layers as fit. */
function benchConfig(mb: number): ModelConfig {
  const big = mb >= 512;
  const d = big ? 2048 : 512, heads = big ? 16 : 8, kv = big ? 8 : 4, ffn = big ? 5632 : 1408, vocab = big ? 32000 : 8192;
  const hd = d / heads;
  const perLayer = d * hd * (2 * heads + 2 * kv) + 3 * d * ffn + 2 * d;
  const layers = Math.max(1, Math.round((mb * 1e6 / 2 - 2 * vocab * d) / perLayer));
  return parseModelConfig({ vocabSize: vocab, dModel: d, nLayers: layers, nHeads: heads, nKvHeads: kv, ffnHidden: ffn, maxSeqLen: 4096, tieEmbeddings: false }, 'bench load');
}

/**
 * Random weights as bf16 and f16 bits of the same values: sign, exponent 2^-9..2^0, 7 mantissa bits (exact in
 * both formats). A xorshift32 stream, so writing 500M values takes about a second.
 */
function randomPair(n: number, seed: number): { bf16: Uint16Array; f16: Uint16Array } {
  const bf16 = new Uint16Array(n), f16 = new Uint16Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    const s = x & 0x8000, e = ((x >>> 7) % 10) - 9, m = x & 0x7f;
    bf16[i] = s | ((e + 127) << 7) | m;
    f16[i] = s | ((e + 15) << 10) | (m << 3);
  }
  return { bf16, f16 };
}

async function writeModel(dir: string, mb: number): Promise<{ hfDir: string; gguf: string; params: number }> {
  const { saveSafetensors } = await import('../model/safetensors.js');
  const { writeFileAtomic } = await import('../util/atomic.js');
  const { hfConfig } = await import('../model/export_hf.js');
  const { ggufTensorName, llamaHparams, permuteRopeRows, writeGguf, gv } = await import('../model/gguf.js');
  const { parameterSpecs } = await import('../model/transformer.js');
  const cfg = benchConfig(mb);
  const hfDir = path.join(dir, 'hf');
  mkdirSync(hfDir, { recursive: true });
  const st: [string, { dtype: 'BF16'; shape: number[]; data: Uint16Array }][] = [];
  const gg: { name: string; dims: number[]; dtype: 'F16' | 'F32'; data: Uint16Array | Float32Array }[] = [];
  let seed = 1, params = 0;
  const hd = cfg.dModel / cfg.nHeads;
  for (const { name, shape } of parameterSpecs(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    params += n;
    const { bf16, f16 } = randomPair(n, seed++);
    st.push([name, { dtype: 'BF16', shape: [...shape], data: bf16 }]);
    const gname = ggufTensorName(name)!;
    const dims = [...shape].reverse();
    if (shape.length === 1) {
      gg.push({ name: gname, dims, dtype: 'F32', data: new Float32Array(Uint32Array.from(bf16, (b) => (b << 16) >>> 0).buffer) });
      continue;
    }
    const heads = name.endsWith('q_proj.weight') ? cfg.nHeads : name.endsWith('k_proj.weight') ? cfg.nKvHeads : 0;
    gg.push({ name: gname, dims, dtype: 'F16', data: heads ? permuteRopeRows(f16, heads, hd, cfg.dModel) : f16 });
  }
  saveSafetensors(path.join(hfDir, 'model.safetensors'), st, { format: 'pt' });
  writeFileAtomic(path.join(hfDir, 'config.json'), JSON.stringify(hfConfig(cfg, { bos: null, eos: [], pad: null }, 'bf16'), null, 2) + '\n');
  const gguf = path.join(dir, 'model-f16.gguf');
  writeGguf(gguf, [['general.architecture', gv.str('llama')], ['general.name', gv.str('hcx-bench-load')], ['general.file_type', gv.u32(1)], ...llamaHparams(cfg)], gg);
  return { hfDir, gguf, params };
}

function pythonBin(): string | null {
  const py = process.env.HCX_PYTHON ?? path.join(process.env.HCX_PY_VENV ?? '/tmp/hcx-py', 'bin', 'python');
  if (!existsSync(py)) return null;
  return spawnSync(py, ['-c', 'import safetensors.torch, torch'], { stdio: 'ignore' }).status === 0 ? py : null;
}

const PY_LOAD = `
import json, re, sys, time
import torch
from safetensors.torch import load_file
mb = lambda key: int(re.search(key + r':\\s+(\\d+) kB', open('/proc/self/status').read()).group(1)) / 1024
base = mb('VmRSS')
t0 = time.perf_counter()
t = {k: v.clone() for k, v in load_file(sys.argv[1]).items()}  # load_file maps the file lazily: clone owns the memory, as hcx's arrays do
s = time.perf_counter() - t0
print(json.dumps({'seconds': s, 'peak_rss_mb': mb('VmHWM'), 'base_rss_mb': base, 'values': sum(v.numel() for v in t.values())}))
`;

/** Seconds of `cat FILE > /dev/null`, timed by the shell around cat (this process's fork is not counted). */
function timeCat(file: string): number {
  const r = spawnSync('sh', ['-c', 's=$(date +%s%N); cat "$0" > /dev/null || exit 1; e=$(date +%s%N); echo $((e - s))', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cat ${file} failed: ${r.stderr}`);
  return Number(r.stdout.trim()) / 1e9;
}

const options = {
  json: { type: 'boolean', description: 'print one JSON document' },
  repeat: { type: 'number', integer: true, min: 1, default: 5, description: 'timed rounds (median)' },
  'size-mb': { type: 'number', min: 1, default: 1024, placeholder: 'MB', description: 'model size in bf16' },
  dir: { type: 'string', placeholder: 'DIR', description: 'where to write the model (default: the OS temp folder)' },
  keep: { type: 'boolean', description: 'keep the written model files' },
  'no-python': { type: 'boolean', description: 'skip the Python safetensors peer' },
  worker: { type: 'string', choices: ['write', 'safetensors', 'safetensors-touched', 'gguf'], hidden: true, description: 'internal: one load (or the model write) in this process' },
  file: { type: 'string', hidden: true, description: 'internal: the worker\'s model file or folder' },
  as: { type: 'string', choices: ['stored', 'f32', 'bf16'], hidden: true, description: 'internal: the worker\'s output dtype' },
} as const satisfies OptionTable;

export const command = defineCommand({ summary: 'weights load time and peak RSS: safetensors and GGUF against cat on the same file', options, run });

async function run(o: Values<typeof options>): Promise<void> {
  if (o.worker === 'write') {
    process.stdout.write(JSON.stringify(await writeModel(o.file!, o.sizeMb)) + '\n');
    return;
  }
  if (o.worker) return worker(o.worker, o.file!, o.as ?? 'stored');
  const { json, repeat, sizeMb: mb } = o;
  const root = o.dir ?? os.tmpdir();
  const dir = mkdtempSync(path.join(root, 'hcx-bench-load-'));
  const self = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  const log = (s: string): void => { if (!json) process.stderr.write(s + '\n'); };
  const loadBefore = os.loadavg()[0];
  const rows: Row[] = [];
  let params = 0;
  try {
    log(`writing a ~${mb} MB bf16 model (safetensors) and its GGUF F16 into ${dir} ...`);
    // Written by a child, so this process (which forks every case) stays small.
    const w = spawnSync(process.execPath, ['-e', `import(${JSON.stringify(self)}).then(m => m.main(process.argv.slice(1)))`, 'bench', 'load', '--worker', 'write', '--file', dir, '--size-mb', String(mb)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (w.status !== 0) throw new Error('load bench: writing the model failed');
    const m = JSON.parse(w.stdout.trim().split('\n').pop()!) as Awaited<ReturnType<typeof writeModel>>;
    params = m.params;
    const stFile = path.join(m.hfDir, 'model.safetensors');
    const sizeMb = (f: string): number => statSync(f).size / 1e6;
    const py = o.noPython ? null : pythonBin();
    for (const f of [stFile, m.gguf]) timeCat(f); // warm the page cache
    type Case = { row: Omit<Row, 'seconds'>; once: () => WorkerResult & { process_seconds?: number } };
    const child = (format: string, file: string, as: string) => (): WorkerResult & { process_seconds: number } => {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, ['-e', `import(${JSON.stringify(self)}).then(m => m.main(process.argv.slice(1)))`, 'bench', 'load', '--worker', format, '--file', file, '--as', as],
        { encoding: 'utf8', maxBuffer: 1 << 20 });
      if (r.status !== 0) throw new Error(`load bench worker failed (${format} as ${as}): ${r.stderr}`);
      const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as WorkerResult;
      if (res.values !== params) throw new Error(`load bench worker read ${res.values} values, the model has ${params}`);
      return { ...res, process_seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
    };
    const cases: Case[] = [
      { row: { system: 'cat', format: 'safetensors', stored: 'bf16', as: 'bytes', file_mb: sizeMb(stFile) }, once: () => ({ seconds: timeCat(stFile), peak_rss_mb: NaN, base_rss_mb: NaN, values: params }) },
      { row: { system: 'hcx', format: 'safetensors', stored: 'bf16', as: 'bf16', file_mb: sizeMb(stFile) }, once: child('safetensors', m.hfDir, 'stored') },
      { row: { system: 'hcx', format: 'safetensors', stored: 'bf16', as: 'bf16, into touched arrays', file_mb: sizeMb(stFile) }, once: child('safetensors-touched', m.hfDir, 'stored') },
      { row: { system: 'hcx', format: 'safetensors', stored: 'bf16', as: 'f32', file_mb: sizeMb(stFile) }, once: child('safetensors', m.hfDir, 'f32') },
      { row: { system: 'cat', format: 'gguf', stored: 'f16', as: 'bytes', file_mb: sizeMb(m.gguf) }, once: () => ({ seconds: timeCat(m.gguf), peak_rss_mb: NaN, base_rss_mb: NaN, values: params }) },
      { row: { system: 'hcx', format: 'gguf', stored: 'f16', as: 'bf16', file_mb: sizeMb(m.gguf) }, once: child('gguf', m.gguf, 'bf16') },
      { row: { system: 'hcx', format: 'gguf', stored: 'f16', as: 'f32', file_mb: sizeMb(m.gguf) }, once: child('gguf', m.gguf, 'f32') },
    ];
    if (py) {
      cases.splice(4, 0, {
        row: { system: 'safetensors load_file+clone (python)', format: 'safetensors', stored: 'bf16', as: 'bf16', file_mb: sizeMb(stFile) },
        once: () => {
          const t0 = process.hrtime.bigint();
          const r = spawnSync(py, ['-c', PY_LOAD, stFile], { encoding: 'utf8' });
          if (r.status !== 0) throw new Error(`python safetensors load failed: ${r.stderr}`);
          return { ...(JSON.parse(r.stdout.trim().split('\n').pop()!) as WorkerResult), process_seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
        },
      });
    } else log('python safetensors peer skipped: no venv with safetensors and torch (sh scripts/python-venv.sh), or --no-python');
    // Rounds interleave the cases, so a burst of load on the shared machine hits all of them alike.
    const samples = cases.map(() => [] as (WorkerResult & { process_seconds?: number })[]);
    for (let round = 0; round < repeat; round++) {
      cases.forEach((c, i) => samples[i].push(c.once()));
      log(`round ${round + 1}/${repeat} done`);
    }
    cases.forEach((c, i) => {
      const s = samples[i];
      const row: Row = { ...c.row, seconds: median(s.map((x) => x.seconds)) };
      if (c.row.system !== 'cat') {
        row.peak_rss_mb = median(s.map((x) => x.peak_rss_mb));
        row.base_rss_mb = median(s.map((x) => x.base_rss_mb));
        row.process_seconds = median(s.map((x) => x.process_seconds ?? NaN));
      }
      rows.push(row);
    });
    for (const r of rows) {
      const cat = rows.find((x) => x.system === 'cat' && x.format === r.format);
      if (cat && r.system !== 'cat') r.ratio_over_cat = r.seconds / cat.seconds;
    }
  } finally {
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  }
  const load = { before: loadBefore, after: os.loadavg()[0], cpus: os.cpus().length };
  const shape = { ...benchConfig(mb), params, repeat, page_cache: 'warm: every file read once before timing, then rounds interleave all cases' };
  if (json) {
    console.log(JSON.stringify({ shape, load, rows }, null, 2));
    return;
  }
  console.log(`weights load, ${(params / 1e6).toFixed(0)}M random parameters (d ${shape.dModel}, ${shape.nLayers} layers, vocab ${shape.vocabSize}), page cache warm, median of ${repeat}`);
  console.log(table(['system', 'format', 'stored', 'as', 'file MB', 'seconds', 'x cat', 'peak RSS MB', 'RSS before MB', 'process s'],
    rows.map((r) => [r.system, r.format, r.stored, r.as, r.file_mb, r.seconds, r.ratio_over_cat ?? '', r.peak_rss_mb ?? '', r.base_rss_mb ?? '', r.process_seconds ?? ''])));
  console.log('seconds: the load call alone (child process; node start-up is in "process s"); cat: `cat FILE > /dev/null`, the whole process.');
  console.log(`load average ${load.before.toFixed(1)} before, ${load.after.toFixed(1)} after, on ${load.cpus} CPUs (other jobs share them).`);
}

// `hcx bench tokenizer-import`: encoding speed of imported Hugging Face tokenizers (Llama 3, Qwen 3, Gemma 3
// tokenizer.json) in hcx, side by side with tokenizers.js (@huggingface/tokenizers, the JavaScript peer) and, when
// the Python venv is there, Hugging Face's Rust tokenizers, on the same mixed corpus (Korean, English, code, hard
// cases from ../shared/data), one document at a time on one thread. Each system encodes the corpus once (the
// first pass: caches empty), then `repeat` more times, rounds alternating between systems; the table gives the
// median. The first pass also checks that hcx's ids equal tokenizers.js's.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { defineCommand, type OptionTable, type Values } from '../cli/args.js';
import { packageRoot } from '../tokenizer/default-segmenter.js';
import { openTokenizer } from '../tokenizer/open.js';
import { mixedCorpus } from './tokenizer_corpus.js';
import { median, table } from './stats.js';
import { spawnSync } from 'node:child_process';

const options = {
  dir: { type: 'string', placeholder: 'DIR', description: 'folder with llama3/, qwen3/, gemma3/ tokenizer.json (default: $HCX_HF_TOKENIZERS, else /tmp/hcx-hf-tokenizers; sh scripts/fetch-hf-tokenizers.sh fills it)' },
  models: { type: 'string', default: 'llama3,qwen3,gemma3', description: 'comma-separated subfolders of --dir' },
  mb: { type: 'number', min: 0.001, default: 1, description: 'MB of mixed corpus' },
  repeat: { type: 'number', integer: true, min: 1, default: 3, description: 'warm passes per system (the median is reported)' },
  json: { type: 'boolean', description: 'print one JSON document' },
  'no-python': { type: 'boolean', description: 'skip the Rust tokenizers peer (Python venv)' },
} as const satisfies OptionTable;

export const command = defineCommand({ summary: 'imported tokenizer.json (llama3, qwen3, gemma3) encoding speed: hcx against tokenizers.js and Rust tokenizers', options, run });

interface Encoder { encode(s: string): number[] }

// The Rust peer runs in the cross-check venv (scripts/python-venv.sh), as the tests' references do.
const PYTHON = process.env.HCX_PYTHON ?? path.join(process.env.HCX_PY_VENV ?? '/tmp/hcx-py', 'bin', 'python');
const hasRustPeer = (): boolean => existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import tokenizers'], { encoding: 'utf8' }).status === 0;
function rustPeer(input: string): string {
  const r = spawnSync(PYTHON, [path.join(packageRoot(), 'scripts/tokenizer_rust_peer.py')], { input, encoding: 'utf8', maxBuffer: 1 << 28, timeout: 1_800_000 });
  if (r.status !== 0) throw new Error(`the Rust tokenizers peer failed: ${(r.stderr ?? '').trim().split('\n').pop()}`);
  return r.stdout;
}

interface Row {
  system: string; model: string; MBps: number; seconds: number; tokens_per_s: number; first_pass_MBps: number; load_seconds: number; tokens: number;
}

function pass(enc: Encoder, docs: string[]): { seconds: number; tokens: number } {
  const t0 = performance.now();
  let n = 0;
  for (const d of docs) n += enc.encode(d).length;
  return { seconds: (performance.now() - t0) / 1000, tokens: n };
}

async function run(o: Values<typeof options>): Promise<void> {
  const dir = o.dir ?? process.env.HCX_HF_TOKENIZERS ?? '/tmp/hcx-hf-tokenizers';
  const models = o.models.split(',');
  const repeat = o.repeat, mb = o.mb;
  for (const m of models) {
    if (!existsSync(path.join(dir, m, 'tokenizer.json'))) throw new Error(`hcx bench tokenizer-import: ${path.join(dir, m, 'tokenizer.json')} is missing; fetch them with: sh scripts/fetch-hf-tokenizers.sh ${dir}`);
  }
  let Tjs: new (json: object, config: object) => { encode(s: string, o: object): { ids: number[] } };
  try { ({ Tokenizer: Tjs } = (await import('@huggingface/tokenizers')) as never); } catch (e) { throw new Error(`hcx bench tokenizer-import: the peer @huggingface/tokenizers (a devDependency) is not installed: ${(e as Error).message}`); }
  const docs = mixedCorpus(mb * 1e6).map((d) => d.text).filter((d) => d.length > 0);
  const bytes = docs.reduce((s, d) => s + Buffer.byteLength(d), 0);
  const python = !o.noPython && hasRustPeer();
  if (!python && !o.noPython) console.error(`no ${PYTHON} with tokenizers (sh scripts/python-venv.sh): the Rust peer is skipped`);
  const rows: Row[] = [];
  const checks: { model: string; identical: boolean }[] = [];
  for (const model of models) {
    const mdir = path.join(dir, model);
    let t0 = performance.now();
    const hcx = openTokenizer(mdir);
    const hcxLoad = (performance.now() - t0) / 1000;
    t0 = performance.now();
    const tj = new Tjs(JSON.parse(readFileSync(path.join(mdir, 'tokenizer.json'), 'utf8')), JSON.parse(readFileSync(path.join(mdir, 'tokenizer_config.json'), 'utf8')));
    const tjLoad = (performance.now() - t0) / 1000;
    const systems: { name: string; enc: Encoder; load: number }[] = [
      { name: 'hcx', enc: { encode: (s) => hcx.encode(s, { allowSpecial: true }) }, load: hcxLoad },
      { name: 'tokenizers.js', enc: { encode: (s) => tj.encode(s, { add_special_tokens: false }).ids }, load: tjLoad },
    ];
    const first = systems.map((s) => pass(s.enc, docs));
    const identical = docs.every((d) => { const x = systems[0].enc.encode(d), y = systems[1].enc.encode(d); return x.length === y.length && x.every((v, i) => v === y[i]); });
    checks.push({ model, identical });
    const times: number[][] = systems.map(() => []);
    for (let r = 0; r < repeat; r++) systems.forEach((s, i) => times[i].push(pass(s.enc, docs).seconds));
    systems.forEach((s, i) => {
      const sec = median(times[i]);
      rows.push({ system: s.name, model, MBps: bytes / 1e6 / sec, seconds: sec, tokens_per_s: first[i].tokens / sec, first_pass_MBps: bytes / 1e6 / first[i].seconds, load_seconds: s.load, tokens: first[i].tokens });
    });
    if (python) {
      const out = JSON.parse(rustPeer(JSON.stringify({ dir: mdir, texts: docs, repeat }))) as { load_s: number; first_s: number; seconds: number[]; tokens: number };
      const sec = median(out.seconds);
      rows.push({ system: 'tokenizers (Rust)', model, MBps: bytes / 1e6 / sec, seconds: sec, tokens_per_s: out.tokens / sec, first_pass_MBps: bytes / 1e6 / out.first_s, load_seconds: out.load_s, tokens: out.tokens });
    }
  }
  const ratio = models.map((m) => {
    const h = rows.find((r) => r.model === m && r.system === 'hcx')!, t = rows.find((r) => r.model === m && r.system === 'tokenizers.js')!;
    const rust = rows.find((r) => r.model === m && r.system === 'tokenizers (Rust)');
    return { model: m, hcx_vs_tokenizers_js: h.MBps / t.MBps, ...(rust ? { hcx_vs_rust: h.MBps / rust.MBps } : {}) };
  });
  const info = { corpusMB: bytes / 1e6, documents: docs.length, repeat };
  if (o.json) { console.log(JSON.stringify({ ...info, rows, ratio, checks })); return; }
  console.log(`corpus: ${(bytes / 1e6).toFixed(2)} MB in ${docs.length} documents (Korean, English, code, hard cases); median of ${repeat} warm passes, one thread`);
  console.log(table(['model', 'system', 'MB/s', 'tokens/s', 'first pass MB/s', 'load s'],
    rows.map((r) => [r.model, r.system, r.MBps, Math.round(r.tokens_per_s), r.first_pass_MBps, r.load_seconds])));
  for (const r of ratio) console.log(`${r.model}: hcx ${r.hcx_vs_tokenizers_js.toFixed(1)}x tokenizers.js${r.hcx_vs_rust !== undefined ? `, ${r.hcx_vs_rust.toFixed(2)}x Rust tokenizers` : ''}; ids identical to tokenizers.js: ${checks.find((c) => c.model === r.model)!.identical}`);
}

// `hcx data`: build pretraining shards from a JSON config, write the built-in corpus or a starter
// config, and verify a built dataset.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { defineCommand, defineGroup } from '../args.js';

async function loadTokenizer(spec: string | undefined): Promise<import('../../data/types.js').TextEncoder> {
  const { ByteEncoder } = await import('../../data/byte-encoder.js');
  if (!spec || spec === 'byte') return new ByteEncoder();
  // resolved at run time so the data pipeline does not depend on the tokenizer module at compile time
  const modPath = '../../tokenizer/index.js';
  const mod = (await import(modPath)) as { Tokenizer?: { load(p: string): import('../../data/types.js').TextEncoder } };
  if (!mod.Tokenizer?.load) throw new Error('hcx data: this build has no Tokenizer.load; use --tokenizer byte');
  return mod.Tokenizer.load(path.resolve(spec));
}

const build = defineCommand({
  summary: 'run the pipeline; a killed build rerun with the same config resumes',
  options: {
    config: { type: 'string', placeholder: 'FILE', required: true, description: 'the JSON build config (hcx data demo-config prints one)' },
    tokenizer: { type: 'string', placeholder: 'byte|FILE', default: 'byte', description: 'byte-level ids, or an hcx tokenizer file' },
    fresh: { type: 'boolean', description: 'discard an earlier (partial) build in outDir instead of resuming it' },
    json: { type: 'boolean', description: 'print report.json instead of report.md' },
  },
  notes: 'Writes shards, index.json, report.md and report.json into the config\'s outDir.',
  async run(o) {
    let raw: unknown;
    try { raw = JSON.parse(readFileSync(o.config, 'utf8')); } catch (e) { throw new Error(`hcx data build: cannot read ${o.config}: ${(e as Error).message}`); }
    const { buildDataset } = await import('../../data/build.js');
    const { validateConfig } = await import('../../data/config.js');
    // config mistakes (an unknown field, a wrong type) name the file and the field before anything runs
    try { validateConfig(raw); } catch (e) { throw new Error(`hcx data build: ${o.config}: ${(e as Error).message}`); }
    const tokenizer = await loadTokenizer(o.tokenizer);
    const r = await buildDataset(raw, { tokenizer, baseDir: path.dirname(path.resolve(o.config)), fresh: o.fresh, log: o.json ? undefined : (m) => console.error(m) });
    if (o.json) console.log(JSON.stringify(r.report, null, 2));
    else console.log(readFileSync(path.join(r.outDir, 'report.md'), 'utf8'));
  },
});

const demoConfig = defineCommand({
  summary: 'print the default demo config (built-in corpus) as JSON',
  options: { out: { type: 'string', placeholder: 'DIR', default: 'runs/data', description: 'the outDir written into the config' } },
  async run(o) {
    const { defaultDemoConfig } = await import('../../data/demo.js');
    console.log(JSON.stringify(defaultDemoConfig(o.out), null, 2));
  },
});

const corpus = defineCommand({
  summary: 'write the built-in Korean/English/code corpus as JSONL',
  options: { out: { type: 'string', placeholder: 'DIR', required: true, description: 'the folder to write' } },
  async run(o) {
    const { writeDefaultCorpus } = await import('../../data/corpus/index.js');
    const m = writeDefaultCorpus(o.out);
    for (const [part, f] of Object.entries(m.files)) console.log(`${part.padEnd(18)} ${String(f.docs).padStart(5)} docs ${(f.bytes / 1e3).toFixed(0).padStart(6)} kB  ${path.join(o.out, f.file)}`);
  },
});

const verify = defineCommand({
  summary: 'check shard sizes and checksums against index.json',
  options: {},
  positionals: { name: 'DIR', min: 1, max: 1, description: 'the dataset folder' },
  async run(_o, [dir]) {
    const { verifyShards, readIndex } = await import('../../data/shards.js');
    const idx = readIndex(dir);
    const problems = verifyShards(dir, idx);
    if (problems.length) throw new Error(`hcx data verify: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
    console.log(`ok: ${idx.phases.map((p) => `${p.name} ${p.records} records x ${p.recordLen} in ${p.shards.length} shards`).join('; ')}${idx.complete ? '' : ' (build incomplete)'}`);
  },
});

export const command = defineGroup({
  summary: 'pretraining data pipeline: filters, PII scrubbing, dedup, mixture, FIM, packed shards',
  subcommands: { build, 'demo-config': demoConfig, corpus, verify },
});

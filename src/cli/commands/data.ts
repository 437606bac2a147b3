// `hcx data`: build pretraining shards from a JSON config, write the built-in corpus or a starter
// config, and verify a built dataset.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from '../main.js';
import { parseArgs, flagString, flagBool } from '../args.js';

async function loadTokenizer(spec: string | undefined): Promise<import('../../data/types.js').TextEncoder> {
  const { ByteEncoder } = await import('../../data/byte-encoder.js');
  if (!spec || spec === 'byte') return new ByteEncoder();
  // resolved at run time so the data pipeline does not depend on the tokenizer module at compile time
  const modPath = '../../tokenizer/index.js';
  const mod = (await import(modPath)) as { Tokenizer?: { load(p: string): import('../../data/types.js').TextEncoder } };
  if (!mod.Tokenizer?.load) throw new Error('hcx data: this build has no Tokenizer.load; use --tokenizer byte');
  return mod.Tokenizer.load(path.resolve(spec));
}

const USAGE = `hcx data build --config FILE [--tokenizer byte|FILE] [--fresh] [--json]
    run the pipeline; a killed build rerun with the same config resumes. Writes shards, index.json,
    report.md and report.json into the config's outDir.
hcx data demo-config [--out DIR]      print the default demo config (built-in corpus) as JSON
hcx data corpus --out DIR             write the built-in Korean/English/code corpus as JSONL
hcx data verify DIR                   check shard sizes and checksums against index.json`;

export const command: Command = {
  summary: 'pretraining data pipeline: filters, PII scrubbing, dedup, mixture, FIM, packed shards',
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    const args = parseArgs(rest);
    if (sub === 'build') {
      const file = flagString(args, 'config');
      if (!file) throw new Error('hcx data build: --config FILE is required');
      let raw: unknown;
      try { raw = JSON.parse(readFileSync(file, 'utf8')); } catch (e) { throw new Error(`hcx data build: cannot read ${file}: ${(e as Error).message}`); }
      const { buildDataset } = await import('../../data/build.js');
      const tokenizer = await loadTokenizer(flagString(args, 'tokenizer'));
      const json = flagBool(args, 'json');
      const r = await buildDataset(raw, { tokenizer, baseDir: path.dirname(path.resolve(file)), fresh: flagBool(args, 'fresh'), log: json ? undefined : (m) => console.error(m) });
      if (json) console.log(JSON.stringify(r.report, null, 2));
      else console.log(readFileSync(path.join(r.outDir, 'report.md'), 'utf8'));
      return;
    }
    if (sub === 'demo-config') {
      const { defaultDemoConfig } = await import('../../data/demo.js');
      console.log(JSON.stringify(defaultDemoConfig(flagString(args, 'out', 'runs/data')!), null, 2));
      return;
    }
    if (sub === 'corpus') {
      const out = flagString(args, 'out');
      if (!out) throw new Error('hcx data corpus: --out DIR is required');
      const { writeDefaultCorpus } = await import('../../data/corpus/index.js');
      const m = writeDefaultCorpus(out);
      for (const [part, f] of Object.entries(m.files)) console.log(`${part.padEnd(18)} ${String(f.docs).padStart(5)} docs ${(f.bytes / 1e3).toFixed(0).padStart(6)} kB  ${path.join(out, f.file)}`);
      return;
    }
    if (sub === 'verify') {
      const dir = args.positional[0];
      if (!dir) throw new Error('hcx data verify: give the dataset folder');
      const { verifyShards, readIndex } = await import('../../data/shards.js');
      const idx = readIndex(dir);
      const problems = verifyShards(dir, idx);
      if (problems.length) throw new Error(`hcx data verify: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
      console.log(`ok: ${idx.phases.map((p) => `${p.name} ${p.records} records x ${p.recordLen} in ${p.shards.length} shards`).join('; ')}${idx.complete ? '' : ' (build incomplete)'}`);
      return;
    }
    throw new Error(`hcx data: choose a subcommand\n${USAGE}`);
  },
};

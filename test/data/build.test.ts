// End to end on a small built-in corpus with a byte encoder: shards, index, report, loader, and a
// build killed in each pass that resumes to byte-identical shards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildDataset, BuildStopped } from '../../src/data/build.js';
import { koreanDoc } from '../../src/data/corpus/korean.js';
import { englishDoc } from '../../src/data/corpus/english.js';
import { Rng } from '../../src/data/hashing.js';
import { ByteEncoder } from '../../src/data/byte-encoder.js';
import { DataLoader } from '../../src/data/loader.js';
import { readIndex, verifyShards } from '../../src/data/shards.js';
import { DATASET_MARKER } from '../../src/data/outdir.js';
import { main } from '../../src/cli/main.js';

const enc = new ByteEncoder();
const dir = mkdtempSync(path.join(tmpdir(), 'hcx-build-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** a small mixed corpus of files (the built-in one is too big for a quick test) */
function smallConfig(out: string): Record<string, unknown> {
  const src = path.join(dir, 'src');
  mkdirSync(src, { recursive: true });
  const rng = new Rng(42);
  const lines: string[] = [];
  for (let i = 0; i < 60; i++) {
    lines.push(JSON.stringify({ text: koreanDoc(rng) + ` 연락처 010-1234-${String(1000 + i)}.` }));
  }
  lines.push(lines[0]); // an exact duplicate
  lines.push('{"text": broken');
  writeFileSync(path.join(src, 'ko.jsonl'), lines.join('\n') + '\n');
  const en = Array.from({ length: 40 }, () => englishDoc(rng).replace(/\n\n/g, '\n'));
  writeFileSync(path.join(src, 'en.txt'), en.join('\n\n'));
  const code = Array.from({ length: 30 }, (_, i) => `export function f${i}(x: number): number {\n  const y = x * ${i} + ${i * 3};\n  if (y > ${i * 10}) return y - ${i};\n  return y + ${i};\n}\n`);
  code.forEach((c, i) => writeFileSync(path.join(src, `m${i}.ts`), c.repeat(3).replace(/f(\d+)\(/g, (_m, d: string, off: number) => `f${d}_${off}(`)));
  return {
    outDir: out,
    sources: [
      { path: path.join(src, 'ko.jsonl') },
      { path: path.join(src, 'en.txt'), docMode: 'blankline', knowledgeRich: true },
      { path: path.join(src, '*.ts'), category: 'code' },
    ],
    packing: { seqLen: 64, longFactor: 4, longShare: 0.1, shardTokens: 4000 },
    fim: { psmRate: 0.5, spmRate: 0.5 },
    checkpointDocs: 10,
  };
}

test('build writes shards, index and report; the loader reads whole records', async () => {
  const out = path.join(dir, 'a');
  const cfg = smallConfig(out);
  const r = await buildDataset(cfg, { tokenizer: enc, fresh: true });
  const idx = readIndex(out);
  assert.equal(idx.complete, true);
  assert.equal(idx.dtype, 'uint16');
  assert.deepEqual(idx.phases.map((p) => [p.name, p.seqLen, p.recordLen]), [['short', 64, 65], ['long', 256, 257]]);
  assert.deepEqual(verifyShards(out), []);
  const s = r.report.stats;
  assert.equal(s.badInputCount, 1);
  assert.match(s.badInputs[0].reason, /broken JSON/);
  assert.equal(s.badInputs[0].line, 62);
  assert.equal(s.drops.exact_dup, 1);
  assert.ok((s.pii.mobile ?? 0) >= 50);
  assert.ok(s.perCategory.korean.docsOut > 0 && s.perCategory.multilingual.docsOut > 0 && s.perCategory.code.docsOut > 0, JSON.stringify([s.perCategory, s.drops]));
  // the long phase holds about longShare of the tokens
  const [short, long] = r.report.phases;
  const share = long.tokens / (short.tokens + long.tokens);
  assert.ok(share > 0.03 && share < 0.2, `long share ${share}`);
  const md = readFileSync(path.join(out, 'report.md'), 'utf8');
  for (const h of ['Drops by reason', 'PII scrubbed', 'Deduplication', 'Mixture', 'Phases']) assert.ok(md.includes(h), h);
  // no PII survives into the shards
  const loader = new DataLoader(out, { phase: 'short', batchSize: 4, seed: 5, verify: true });
  let text = '';
  for (let i = 0; i < loader.batchesPerEpoch; i++) text += enc.decode(loader.next().tokens);
  assert.ok(!/010-1234-\d{4}/.test(text));
  assert.ok(text.includes('[PHONE]'));
  loader.close();
});

test('loader state is JSON and resumes to the same batches', () => {
  const out = path.join(dir, 'a');
  const a = new DataLoader(out, { phase: 'short', batchSize: 3, seed: 9 });
  for (let i = 0; i < 5; i++) a.next();
  const saved = JSON.parse(JSON.stringify(a.state()));
  const want = [a.next().tokens, a.next().tokens];
  const b = new DataLoader(out, { state: saved });
  assert.deepEqual([b.next().tokens, b.next().tokens], want);
  // a full epoch visits every record exactly once
  const c = new DataLoader(out, { phase: 'short', batchSize: 1, seed: 1 });
  const seen = new Set<string>();
  for (let i = 0; i < c.recordsPerEpoch; i++) seen.add(c.next().tokens.join(','));
  assert.ok(seen.size >= c.recordsPerEpoch - 1);
  assert.equal(c.state().epoch, 0);
  c.next();
  assert.equal(c.state().epoch, 1);
  for (const l of [a, b, c]) l.close();
});

test('a build killed in either pass resumes to identical shards', async () => {
  const ref = path.join(dir, 'ref');
  const refCfg = smallConfig(ref);
  await buildDataset(refCfg, { tokenizer: enc, fresh: true });
  const refIdx = readIndex(ref);
  for (const stop of [{ docs: 25 }, { shards: 2 }]) {
    const out = path.join(dir, `killed-${Object.keys(stop)[0]}`);
    const cfg = { ...refCfg, outDir: out };
    await assert.rejects(buildDataset(cfg, { tokenizer: enc, fresh: true, stopAfter: stop }), BuildStopped);
    const r = await buildDataset(cfg, { tokenizer: enc });
    const idx = readIndex(out);
    assert.deepEqual(idx.phases.map((p) => p.shards.map((s) => s.sha256)), refIdx.phases.map((p) => p.shards.map((s) => s.sha256)), JSON.stringify(stop));
    assert.equal(r.report.stats.drops.exact_dup, 1);
  }
  // a different config in the same folder is refused rather than mixed
  await assert.rejects(buildDataset({ ...refCfg, seed: 99 }, { tokenizer: enc }), /different config/);
});

test('outDir: a non-empty folder that is not an hcx dataset is refused before anything is written, / included', async () => {
  const cfg = smallConfig(path.join(dir, 'unused'));
  await assert.rejects(buildDataset({ ...cfg, outDir: '/' }, { tokenizer: enc, fresh: true }), /outDir \/ is not empty and is not an hcx dataset folder/);
  const project = path.join(dir, 'project');
  mkdirSync(path.join(project, 'work'), { recursive: true });
  writeFileSync(path.join(project, 'index.json'), '{"mine": true}');
  writeFileSync(path.join(project, 'work', 'notes.txt'), 'keep');
  for (const fresh of [true, false]) {
    await assert.rejects(buildDataset({ ...cfg, outDir: project }, { tokenizer: enc, fresh }), (e: Error) => e.message.includes(`outDir ${project} is not empty`));
  }
  assert.deepEqual(readdirSync(project).sort(), ['index.json', 'work']);
  assert.equal(readFileSync(path.join(project, 'index.json'), 'utf8'), '{"mine": true}');
  assert.deepEqual(readdirSync(path.join(project, 'work')), ['notes.txt']);
  const file = path.join(dir, 'a-file');
  writeFileSync(file, 'x');
  await assert.rejects(buildDataset({ ...cfg, outDir: file }, { tokenizer: enc }), /is a file, not a folder/);
});

test('outDir: hcx marks the folders it makes; --fresh removes only its own files and leaves the rest alone', async () => {
  const out = path.join(dir, 'owned');
  const cfg = smallConfig(out);
  await buildDataset(cfg, { tokenizer: enc });
  assert.ok(existsSync(path.join(out, DATASET_MARKER)));
  const first = readIndex(out).phases.map((p) => p.shards.map((s) => s.sha256));
  // a user's files beside and inside the build, and names that only look like hcx's
  const foreign = ['notes.md', 'short-final.bin', 'index.json.bak', 'work/mine.txt', 'work/korean.text.orig', 'sub/short-00000.bin'];
  mkdirSync(path.join(out, 'sub'), { recursive: true });
  for (const f of foreign) writeFileSync(path.join(out, f), `user file ${f}`);
  const shards = readdirSync(out).filter((n) => /^(short|long)-\d+\.bin$/.test(n));
  assert.ok(shards.length >= 2);
  // a stale shard past the end of the new build must go too
  writeFileSync(path.join(out, 'long-00099.bin'), 'stale');
  const r = await buildDataset(cfg, { tokenizer: enc, fresh: true });
  for (const f of foreign) assert.equal(readFileSync(path.join(out, f), 'utf8'), `user file ${f}`, f);
  assert.equal(existsSync(path.join(out, 'long-00099.bin')), false);
  assert.deepEqual(r.index.phases.map((p) => p.shards.map((s) => s.sha256)), first);
  assert.deepEqual(verifyShards(out), []);
  // an earlier build without the marker (made before it existed) is still hcx's, and gets the marker
  const legacy = path.join(dir, 'legacy');
  await buildDataset({ ...cfg, outDir: legacy }, { tokenizer: enc });
  rmSync(path.join(legacy, DATASET_MARKER));
  await buildDataset({ ...cfg, outDir: legacy }, { tokenizer: enc, fresh: true });
  assert.ok(existsSync(path.join(legacy, DATASET_MARKER)));
  // an empty folder is claimed
  const empty = path.join(dir, 'empty');
  mkdirSync(empty);
  await buildDataset({ ...cfg, outDir: empty }, { tokenizer: enc });
  assert.ok(existsSync(path.join(empty, DATASET_MARKER)));
});

test('a source folder with symlink loops is read once per file; a source matching nothing is an error', async () => {
  const src = path.join(dir, 'looped');
  mkdirSync(path.join(src, 'a/b'), { recursive: true });
  const rng = new Rng(3);
  for (const f of ['one.txt', 'a/two.txt', 'a/b/three.txt']) writeFileSync(path.join(src, f), englishDoc(rng));
  symlinkSync('..', path.join(src, 'a/b/up'));
  symlinkSync('../..', path.join(src, 'a/b/up2'));
  const base = smallConfig(path.join(dir, 'unused'));
  const r = await buildDataset({ ...base, outDir: path.join(dir, 'looped-out'), sources: [{ path: src }] }, { tokenizer: enc });
  assert.equal(r.report.stats.files, 3);
  await assert.rejects(buildDataset({ ...base, outDir: path.join(dir, 'none-out'), sources: [{ path: path.join(src, '*.nothing') }] }, { tokenizer: enc }),
    /config\.sources\[0\]\.path: ".*\*\.nothing" matches no files/);
});

test('hcx data build: a config with an unknown field fails naming the file and the field', async () => {
  const f = path.join(dir, 'bad-config.json');
  const cfg = smallConfig(path.join(dir, 'bad-out'));
  for (const [bad, field] of [[{ ...cfg, outdir: 'x' }, 'config.outdir'], [{ ...cfg, packing: { seqLen: 64, seqLn: 3 } }, 'config.packing.seqLn'],
    [{ ...cfg, sources: [{ path: 'x', weigth: 2 }] }, 'config.sources[0].weigth']] as const) {
    writeFileSync(f, JSON.stringify(bad));
    await assert.rejects(main(['data', 'build', '--config', f]), (e: Error) => e.message.includes(`${f}: ${field}: unknown field`) || assert.fail(e.message));
  }
  assert.equal(existsSync(path.join(dir, 'bad-out')), false);
});

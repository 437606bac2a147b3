import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readDocs, detectFormat } from '../../src/data/readers.js';
import { expandPath } from '../../src/data/glob.js';
import { FatalInputError, type BadInput, type RawDoc } from '../../src/data/types.js';

async function all(file: string, opts: Parameters<typeof readDocs>[1] = {}): Promise<{ docs: RawDoc[]; bad: BadInput[] }> {
  const bad: BadInput[] = [];
  const docs: RawDoc[] = [];
  for await (const d of readDocs(file, opts, (b) => bad.push(b))) docs.push(d);
  return { docs, bad };
}

const dir = mkdtempSync(path.join(tmpdir(), 'hcx-readers-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('JSONL: chosen (nested) field, broken lines reported with file and line', async () => {
  const f = path.join(dir, 'a.jsonl');
  writeFileSync(f, '{"meta":{"body":"first"}}\n{broken\n\n{"meta":{"body":"third"}}\n{"meta":{}}\n');
  const { docs, bad } = await all(f, { field: 'meta.body' });
  assert.deepEqual(docs.map((d) => [d.text, d.line]), [['first', 1], ['third', 4]]);
  assert.equal(bad.length, 2);
  assert.equal(bad[0].line, 2);
  assert.match(bad[0].reason, /broken JSON/);
  assert.match(bad[1].reason, /missing/);
});

test('gzip and bz2 JSONL stream the same documents', async () => {
  const body = Array.from({ length: 500 }, (_, i) => JSON.stringify({ text: `문서 ${i} 내용` })).join('\n') + '\n';
  writeFileSync(path.join(dir, 'b.jsonl.gz'), gzipSync(body));
  writeFileSync(path.join(dir, 'b.jsonl'), body);
  // the same body compressed with bzip2 -9 (embedded so the test needs no bzip2 binary)
  writeFileSync(path.join(dir, 'b.jsonl.bz2'), Buffer.from(BZ2_BODY, 'base64'));
  const gz = await all(path.join(dir, 'b.jsonl.gz'));
  const bz = await all(path.join(dir, 'b.jsonl.bz2'));
  assert.equal(gz.docs.length, 500);
  assert.deepEqual(bz.docs.map((d) => d.text), gz.docs.map((d) => d.text));
  assert.equal(detectFormat('x/b.jsonl.bz2'), 'jsonl');
});

test('CSV with quoted multi-line cells and TSV by column name', async () => {
  const f = path.join(dir, 'c.csv');
  writeFileSync(f, 'id,text,label\n1,"hello, ""world""",0\n2,"line one\nline two",1\n3,plain,2\n');
  const { docs } = await all(f, { column: 'text' });
  assert.deepEqual(docs.map((d) => d.text), ['hello, "world"', 'line one\nline two', 'plain']);
  assert.deepEqual(docs.map((d) => d.line), [2, 3, 5]);
  const t = path.join(dir, 'd.tsv');
  writeFileSync(t, 'a\tbody\nx\t첫째\ny\t둘째\n');
  assert.deepEqual((await all(t, { column: 'body' })).docs.map((d) => d.text), ['첫째', '둘째']);
  const missing = await all(t, { column: 'nope' });
  assert.match(missing.bad[0].reason, /no column "nope"/);
});

test('text: per file with paragraph cuts, per blank-line block, per line', async () => {
  const f = path.join(dir, 'e.txt');
  writeFileSync(f, 'para one\nstill one\n\npara two\n\n\npara three\n');
  assert.equal((await all(f)).docs.length, 1);
  assert.deepEqual((await all(f, { docMode: 'blankline' })).docs.map((d) => [d.text, d.line]), [['para one\nstill one', 1], ['para two', 4], ['para three', 7]]);
  assert.equal((await all(f, { docMode: 'line' })).docs.length, 4);
  assert.equal((await all(f, { maxDocChars: 5 })).docs.length, 3);
});

test('binary files and invalid UTF-8 are reported; fatal mode throws', async () => {
  const bin = path.join(dir, 'f.txt');
  writeFileSync(bin, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 1, 2]));
  const r = await all(bin);
  assert.equal(r.docs.length, 0);
  assert.match(r.bad[0].reason, /binary/);
  const enc = path.join(dir, 'g.txt');
  writeFileSync(enc, Buffer.concat([Buffer.from('good line\n'), Buffer.from([0xc3, 0x28, 0x0a]), Buffer.from('another good line\n')]));
  const e = await all(enc, { docMode: 'line' });
  assert.deepEqual(e.docs.map((d) => d.text), ['good line', 'another good line']);
  assert.deepEqual(e.bad.map((b) => [b.line, b.reason]), [[2, 'invalid UTF-8']]);
  await assert.rejects(async () => {
    for await (const _ of readDocs(enc, {}, (b) => { throw new FatalInputError(b); })) void _;
  }, /g\.txt:2: invalid UTF-8/);
});

test('paths: directories and globs expand sorted', () => {
  mkdirSync(path.join(dir, 'tree/sub'), { recursive: true });
  for (const f of ['tree/a.txt', 'tree/b.md', 'tree/sub/c.txt', 'tree/sub/d.jsonl.gz']) writeFileSync(path.join(dir, f), 'x');
  const rel = (fs: string[]) => fs.map((f) => path.relative(dir, f));
  assert.deepEqual(rel(expandPath('tree', dir)), ['tree/a.txt', 'tree/b.md', 'tree/sub/c.txt', 'tree/sub/d.jsonl.gz']);
  assert.deepEqual(rel(expandPath('tree/**/*.txt', dir)), ['tree/a.txt', 'tree/sub/c.txt']);
  assert.deepEqual(rel(expandPath('tree/*.{txt,md}', dir)), ['tree/a.txt', 'tree/b.md']);
  assert.deepEqual(rel(expandPath('tree/**/*.gz', dir)), ['tree/sub/d.jsonl.gz']);
  assert.deepEqual(rel(expandPath('tree/**', dir)), ['tree/a.txt', 'tree/b.md', 'tree/sub/c.txt', 'tree/sub/d.jsonl.gz']);
  assert.deepEqual(rel(expandPath(path.join(dir, 'tree/sub/*'))), ['tree/sub/c.txt', 'tree/sub/d.jsonl.gz']);
  assert.throws(() => expandPath('nothing-here', dir), /no such file/);
});

test('paths: character classes [ab], [!a], ranges and ? match; hidden files never do', () => {
  const root = path.join(dir, 'classes');
  mkdirSync(path.join(root, '.git'), { recursive: true });
  for (const f of ['a1.txt', 'b1.txt', 'c1.txt', 'a2.txt', '[ab]1.txt', '.hidden.txt', '.git/x.txt']) writeFileSync(path.join(root, f), 'x');
  const names = (spec: string) => expandPath(spec, root).map((f) => path.relative(root, f));
  // picomatch's rule: a bracket expression also matches its own literal text, so a file named "[ab]1.txt"
  // can be given as itself
  assert.deepEqual(names('[ab]1.txt'), ['[ab]1.txt', 'a1.txt', 'b1.txt']);
  assert.deepEqual(names('[ab]2.txt'), ['a2.txt']);
  assert.deepEqual(names('[!a]1.txt'), ['b1.txt', 'c1.txt']);
  assert.deepEqual(names('[a-b]?.txt'), ['a1.txt', 'a2.txt', 'b1.txt']);
  assert.deepEqual(names('?1.txt'), ['a1.txt', 'b1.txt', 'c1.txt']);
  assert.deepEqual(names('**/*.txt'), ['[ab]1.txt', 'a1.txt', 'a2.txt', 'b1.txt', 'c1.txt']);
  assert.deepEqual(names('.'), ['[ab]1.txt', 'a1.txt', 'a2.txt', 'b1.txt', 'c1.txt']);
});

test('paths: symlinks back to parent folders end the walk, and every file is listed once', { timeout: 20_000 }, () => {
  const root = path.join(dir, 'loops');
  mkdirSync(path.join(root, 'x/y'), { recursive: true });
  for (const f of ['top.txt', 'x/mid.txt', 'x/y/deep.txt']) writeFileSync(path.join(root, f), f);
  symlinkSync('..', path.join(root, 'x/y/up'));
  symlinkSync('../..', path.join(root, 'x/y/up2'));
  symlinkSync('.', path.join(root, 'x/self'));
  symlinkSync(path.join(root, 'x'), path.join(root, 'x/y/abs'));
  symlinkSync(path.join(root, 'missing'), path.join(root, 'dangling.txt'));
  writeFileSync(path.join(dir, 'outside.txt'), 'o');
  symlinkSync(path.join(dir, 'outside.txt'), path.join(root, 'linked.txt'));
  const rel = (fs: string[]) => fs.map((f) => path.relative(root, f));
  assert.deepEqual(rel(expandPath(root)), ['linked.txt', 'top.txt', 'x/mid.txt', 'x/y/deep.txt']);
  assert.deepEqual(rel(expandPath('**/*.txt', root)), ['linked.txt', 'top.txt', 'x/mid.txt', 'x/y/deep.txt']);
  assert.deepEqual(rel(expandPath('x/**/deep.txt', root)), ['x/y/deep.txt']);
});

const BZ2_BODY = 'QlpoOTFBWSZTWbAxX5cADm9Z+QAQUAB/8AIABEoUAAAUACQEQAAMUATAB69eVSlVVVwIgyJ/6pVUf6lMEZMCgAGgAAGkP9VKp7eVUAAAMH/qlTPUjACGjBNVU0jR/qoNGNQeptT6RGIxjGP+iMRjGMfHMxnvi/6/v348ZAOmgHBsCgkEgoNgcGgHTIB4gAOoaAeMgHTQDg2BQSCQUGwODQDpkA8QAHEGwPGQDpoBwbAoJBIKDYHBoB0yAeIACkCQeMgHTQDg2BQSCQUGwODQDpkA8QAEgoNgcGgHTIzMzPPLMzMzMzOlIO1IPykHWljGMfP32Pfffffffh4yAdNAODYJiIiZmQAAAAALooiIBd3cXd3d2eMgHTQJmZmwmVGhyVGhyVGhyVGhyVGhyVGhyVGhyVGhyVGhyVM73Xe5mZl+XLAu7u4u7u7HjIJmZnyxuMROZmdxUNm5UNm5UNm5UNm5UNm5UNzOoxEzqZ1GImdTOoxF1Vaq7u7dMgHiXd3d5mZmTMzMB55l3uVDZuVDZuVBxqVBxqVBxqVBxqVBxqVBycxiJmdzmMRdVVbu7u3BoB0yAeXLu7vO973t3fl6lQcalQcalQcalQFVAVUBVQFVAVUBVTO1VXN3dqDYHBoB0yFXVVRd+AAAAAAADO1VXdXdpBIKDYHBoVV1VF36AAAAAAAGdqqu75dtgUEgkFBsqquqLv2AAAAAAADO1VXd322gHBsCgkEqqqui76AAAAAAAO6zfOc5d3fTQDg2BQSCZmZ7316wAAAAAANaH0kg+KQa0g0pBrSDWkGlIO9IN6kH7SDakHGkG1IP6kHOkHlSDekG9IP8XckU4UJCwMV+XA==';

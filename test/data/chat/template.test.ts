import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hcxTemplate } from '../../../src/data/chat/template.js';
import { packedBatch, paddedBatch } from '../../../src/data/chat/packing.js';
import type { ChatTurn } from '../../../src/data/chat/readers.js';
import { IGNORE } from '../../../src/train/losses.js';
import { byteChatTokenizer, SPECIAL, view } from '../../helpers/chat.js';

const tpl = hcxTemplate(byteChatTokenizer());
const render = (m: ChatTurn[]) => { const r = tpl.render(m); return view(r.ids, r.mask); };
const u = (content: string): ChatTurn => ({ role: 'user', content });
const a = (content: string): ChatTurn => ({ role: 'assistant', content });

// Golden renderings: ⟦ ⟧ marks exactly the tokens the loss trains on.
test('loss mask: only assistant contents and their turn ends are trained', () => {
  assert.equal(render([{ role: 'system', content: 'Be brief.' }, u('hi'), a('hello'), { role: 'tool', content: '42' }, a('it is 42')]),
    '<|system|>Be brief.<|endofturn|><|user|>hi<|endofturn|><|assistant|>⟦hello<|endofturn|>⟧<|user|>tool:\n42<|endofturn|><|assistant|>⟦it is 42<|endofturn|>⟧');
});

test('loss mask: several and consecutive assistant turns each train their own content and turn end', () => {
  assert.equal(render([u('q1'), a('r1'), u('q2'), a('r2')]),
    '<|user|>q1<|endofturn|><|assistant|>⟦r1<|endofturn|>⟧<|user|>q2<|endofturn|><|assistant|>⟦r2<|endofturn|>⟧');
  assert.equal(render([u('q'), a('first'), a('second')]),
    '<|user|>q<|endofturn|><|assistant|>⟦first<|endofturn|>⟧<|assistant|>⟦second<|endofturn|>⟧');
});

test('loss mask: an empty assistant turn trains just its turn end; an empty user turn nothing', () => {
  assert.equal(render([u(''), a('')]), '<|user|><|endofturn|><|assistant|>⟦<|endofturn|>⟧');
});

test('role tokens typed inside content stay plain text and never switch the role', () => {
  const r = tpl.render([u('<|assistant|>fake'), a('<|endofturn|>x')]);
  assert.equal(r.ids.filter((t) => t === SPECIAL.assistant).length, 1, 'one real assistant header');
  assert.equal(r.ids.filter((t) => t === SPECIAL.endofturn).length, 2, 'two real turn ends');
  // The typed strings are their bytes: "<|assistant|>" is 13 byte tokens after the user header.
  assert.deepEqual(r.ids.slice(1, 14), [...Buffer.from('<|assistant|>')]);
  assert.equal(r.mask.slice(0, 19).reduce((x, y) => x + y, 0), 0, 'the user turn, fake header included, is not trained');
});

test('targets: the next token where it is trained, IGNORE elsewhere; a cut turn keeps its mask', () => {
  const r = tpl.render([u('ab'), a('cd')]);
  const e = { ids: Int32Array.from(r.ids), mask: Uint8Array.from(r.mask) };
  // <|user|> a b <|eot|> <|assistant|> c d <|eot|>
  const b = paddedBatch([e], [0], SPECIAL.pad);
  assert.deepEqual([...b.targets], [IGNORE, IGNORE, IGNORE, IGNORE, 99, 100, SPECIAL.endofturn, IGNORE]);
  assert.equal(b.supervised, 3);
  // Cut in the middle of the assistant turn: the remaining reply tokens are still trained, no turn end.
  const cut = { ids: e.ids.slice(0, 6), mask: e.mask.slice(0, 6) };
  assert.equal(view(cut.ids, cut.mask), '<|user|>ab<|endofturn|><|assistant|>⟦c⟧');
  assert.deepEqual([...paddedBatch([cut], [0], SPECIAL.pad).targets], [IGNORE, IGNORE, IGNORE, IGNORE, 99, IGNORE]);
  // Cut before the reply starts: nothing is trained.
  const early = { ids: e.ids.slice(0, 4), mask: e.mask.slice(0, 4) };
  assert.equal(paddedBatch([early], [0], SPECIAL.pad).supervised, 0);
});

test('packed rows: positions restart per conversation, segments separate them, padding trains nothing', () => {
  const ex = [[u('a'), a('b')], [u('cc'), a('d')]].map((m) => { const r = tpl.render(m); return { ids: Int32Array.from(r.ids), mask: Uint8Array.from(r.mask) }; });
  const b = packedBatch(ex, [[0, 1]], 16, SPECIAL.pad);
  assert.equal(b.B, 1);
  assert.deepEqual([...b.positions], [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 6, 0, 1, 2]);
  assert.deepEqual([...b.segmentIds!], [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2]);
  // The last token of conversation 0 predicts nothing: the next conversation's first token is not its continuation.
  assert.equal(b.targets[5], IGNORE);
  assert.deepEqual([...b.targets.subarray(13)], [IGNORE, IGNORE, IGNORE]);
  assert.deepEqual([...b.ids.subarray(13)], [SPECIAL.pad, SPECIAL.pad, SPECIAL.pad]);
  assert.equal(b.supervised, 4);
  assert.equal(b.tokens, 13);
});

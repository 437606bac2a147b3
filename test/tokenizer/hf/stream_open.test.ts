// Streaming decode (correct across characters split over tokens and across SentencePiece's word-initial spaces),
// opening tokenizers from directories and files, and errors that name the file and field. Hermetic: small
// tokenizers built here, checked against tokenizers.js where ids are involved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Tokenizer as TjsTokenizer } from '@huggingface/tokenizers';
import { HARD_CASES } from '../../../src/bench/tokenizer_corpus.js';
import { encodeGguf, gv } from '../../../src/model/gguf.js';
import { buildHfTokenizer } from '../../../src/tokenizer/hf/load.js';
import { openTokenizer } from '../../../src/tokenizer/open.js';
import { trainTokenizer } from '../../../src/tokenizer/index.js';
import type { TextTokenizer } from '../../../src/tokenizer/types.js';
import { CORPUS } from '../corpus.js';
import { byteLevelJson } from './tiny.js';

const TEXTS = [...CORPUS.slice(0, 13), ...HARD_CASES];
const MERGES: [string, string][] = [['Ġ', 't'], ['h', 'e'], ['Ġt', 'he'], ['ì', 'Ħ'], ['ìĦ', 'ľ'], ['Ġ', 'a'], ['e', 'r']];

/** A SentencePiece-style tokenizer.json: characters of the texts as pieces, ▁ for spaces, byte fallback. */
function metaspaceJson(): Record<string, unknown> {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = Object.keys(vocab).length;
  for (const ch of new Set([...'▁abcdefghijklmnopqrstuvwxyzTHIW.,!?\'0123456789서울에친구를만났습니다'])) vocab[ch] ??= Object.keys(vocab).length;
  const merges = [['▁', 't'], ['h', 'e'], ['▁t', 'he'], ['▁', 'a'], ['서', '울']];
  for (const [a, b] of merges) vocab[a + b] ??= Object.keys(vocab).length;
  return {
    version: '1.0', normalizer: null,
    added_tokens: [{ id: 0, content: '<unk>', special: true, normalized: false, lstrip: false, rstrip: false, single_word: false },
      { id: 1, content: '<s>', special: true, normalized: false, lstrip: false, rstrip: false, single_word: false }, { id: 2, content: '</s>', special: true, normalized: false, lstrip: false, rstrip: false, single_word: false }],
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false },
    post_processor: { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }], pair: [], special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } } },
    decoder: { type: 'Sequence', decoders: [{ type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false }, { type: 'ByteFallback' }, { type: 'Fuse' }] },
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges: merges.map((m) => m.join(' ')) },
  };
}

test('small byte-level and SentencePiece-style tokenizer.json files give tokenizers.js ids and decodes', () => {
  for (const json of [byteLevelJson(['<|im_start|>', '<|im_end|>'], MERGES), metaspaceJson()]) {
    const ours = buildHfTokenizer({ tokenizer: json });
    const ref = new TjsTokenizer(json as never, {});
    for (const s of TEXTS) {
      const ids = ours.encode(s, { allowSpecial: true, addSpecialTokens: true });
      assert.deepEqual(ids, ref.encode(s).ids, JSON.stringify(s));
      if (ids.length) assert.equal(ours.decode(ids), ref.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }), JSON.stringify(s));
    }
  }
});

function streamed(tok: TextTokenizer, ids: number[]): { text: string; pieces: string[] } {
  const ds = tok.decodeStream();
  const pieces = ids.map((id) => ds.step(id));
  pieces.push(ds.flush());
  return { text: pieces.join(''), pieces };
}

test('decodeStream: the streamed text is the decoded text, without U+FFFD halves of split characters, with word-initial spaces', async () => {
  const hcx = await trainTokenizer({ texts: CORPUS, vocabSize: 300, split: 'rules' });
  const tokenizers: [string, TextTokenizer][] = [['hcx', hcx], ['byte-level', buildHfTokenizer({ tokenizer: byteLevelJson([], MERGES) })], ['metaspace', buildHfTokenizer({ tokenizer: metaspaceJson() })]];
  for (const [name, tok] of tokenizers) {
    for (const s of TEXTS) {
      const ids = tok.encode(s);
      const { text, pieces } = streamed(tok, ids);
      assert.equal(text, tok.decode(ids), `${name}: ${JSON.stringify(s)}`);
      if (!s.includes('\ufffd')) assert.ok(pieces.every((p) => !p.includes('\ufffd')), `${name}: no replacement characters while streaming ${JSON.stringify(s)}`);
    }
  }
  // Korean and emoji in byte tokens: single tokens are partial characters, the stream holds them back.
  const bl = tokenizers[1][1];
  const ids = bl.encode('서울 😀');
  assert.ok(ids.length > 4);
  assert.deepEqual(streamed(bl, ids).pieces.filter((p) => p), ['서', '울', ' ', '😀']);
  // SentencePiece: decoding each token alone would drop the spaces that start words.
  const ms = tokenizers[2][1];
  const words = ms.encode('the cat sat');
  assert.equal(words.map((id) => ms.decode([id])).join(''), 'thecatsat');
  assert.equal(streamed(ms, words).text, 'the cat sat');
});

test('openTokenizer: hcx files, Hugging Face directories with their side files, GGUF files', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'hcx-open-'));
  const hcx = await trainTokenizer({ texts: CORPUS, vocabSize: 300, split: 'rules' });
  mkdirSync(path.join(root, 'hcx'));
  hcx.save(path.join(root, 'hcx', 'tokenizer.json'));
  const a = openTokenizer(path.join(root, 'hcx'));
  assert.equal(a.kind, 'hcx');
  assert.deepEqual(a.encode('서울에서 친구를'), hcx.encode('서울에서 친구를'));

  const hf = path.join(root, 'hf');
  mkdirSync(hf);
  writeFileSync(path.join(hf, 'tokenizer.json'), JSON.stringify(byteLevelJson(['<|begin|>', '<|end|>', '<|eot|>', '<|pad|>'], MERGES)));
  writeFileSync(path.join(hf, 'tokenizer_config.json'), JSON.stringify({ bos_token: { content: '<|begin|>', __type: 'AddedToken' }, eos_token: '<|end|>', chat_template: 'config template' }));
  writeFileSync(path.join(hf, 'special_tokens_map.json'), JSON.stringify({ pad_token: '<|pad|>' }));
  writeFileSync(path.join(hf, 'generation_config.json'), JSON.stringify({ eos_token_id: [264, 265] }));
  writeFileSync(path.join(hf, 'chat_template.jinja'), '{% for m in messages %}{{ m.content }}<|eot|>{% endfor %}');
  const b = openTokenizer(path.join(hf, 'tokenizer.json'));
  assert.equal(b.kind, 'hf');
  // Ids: 256 bytes, 7 merges, then the special tokens (<|end|> is also the end-of-turn marker).
  assert.deepEqual([b.specialIds.bos, b.specialIds.eos, b.specialIds.pad, b.specialIds.eot], [263, 264, 266, 264]);
  assert.deepEqual(b.specialIds.stop, [264, 265], 'generation_config.json eos ids, eos and eot');
  assert.equal(b.chatTemplate, '{% for m in messages %}{{ m.content }}<|eot|>{% endfor %}', 'chat_template.jinja wins over the config');
  assert.deepEqual(b.encodeChat([{ role: 'assistant', content: 'the' }]).assistantMask, [1, 1, 1]);

  const gguf = path.join(root, 'tiny.gguf');
  writeFileSync(gguf, encodeGguf([
    ['general.architecture', gv.str('llama')], ['tokenizer.ggml.model', gv.str('gpt2')], ['tokenizer.ggml.pre', gv.str('qwen2')],
    ['tokenizer.ggml.tokens', gv.strs([...Object.keys((byteLevelJson([], MERGES).model as { vocab: object }).vocab), '<|im_end|>'])],
    ['tokenizer.ggml.token_type', gv.i32s([...new Array(256 + 7).fill(1), 3])], ['tokenizer.ggml.merges', gv.strs(MERGES.map((m) => m.join(' ')))],
    ['tokenizer.ggml.eos_token_id', gv.u32(263)], ['tokenizer.chat_template', gv.str('{{ messages[0].content }}')],
  ], []));
  const c = openTokenizer(gguf);
  assert.equal(c.kind, 'gguf');
  assert.equal(c.vocabSize, 264);
  assert.deepEqual(c.encode('the<|im_end|>', { allowSpecial: true }), [...b.encode('the'), 263]);
  assert.equal(c.renderChatText([{ role: 'user', content: 'x' }]), 'x');
});

test('bad tokenizer files are errors that name the file and the field', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'hcx-bad-'));
  const dir = (name: string, files: Record<string, unknown>) => {
    const d = path.join(root, name);
    mkdirSync(d);
    for (const [f, v] of Object.entries(files)) writeFileSync(path.join(d, f), typeof v === 'string' ? v : JSON.stringify(v));
    return d;
  };
  const good = byteLevelJson(['<|end|>']);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ 'tokenizer.json': '{not json' }, /tokenizer\.json: not valid JSON/],
    [{ 'tokenizer.json': { ...good, model: { ...(good.model as object), type: 'WordPiece' } } }, /tokenizer\.json: model: model type "WordPiece" is not supported/],
    [{ 'tokenizer.json': { ...good, pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Digits' }, { type: 'UnicodeScripts' }] } } }, /tokenizer\.json: pre_tokenizer\.pretokenizers\[1\]: pre-tokenizer type "UnicodeScripts" is not supported/],
    [{ 'tokenizer.json': { ...good, normalizer: { type: 'Precompiled', precompiled_charsmap: 'AAAA' } } }, /tokenizer\.json: normalizer: .*Precompiled/],
    [{ 'tokenizer.json': { ...good, decoder: { type: 'CTC' } } }, /tokenizer\.json: decoder: decoder type "CTC" is not supported/],
    [{ 'tokenizer.json': { ...good, model: { ...(good.model as object), dropout: 0.1 } } }, /tokenizer\.json: model\.dropout: BPE dropout/],
    [{ 'tokenizer.json': { ...good, model: { ...(good.model as object), merges: ['Ġ zz'] } } }, /tokenizer\.json: model\.merges\[0\]: token "zz" is not in the vocabulary/],
    [{ 'tokenizer.json': { ...good, pre_tokenizer: { type: 'Split', pattern: { Regex: '\\Gx' }, behavior: 'Isolated' } } }, /tokenizer\.json: pre_tokenizer\.pattern: .*\\G/],
    [{ 'tokenizer.json': good, 'tokenizer_config.json': { bos_token: '<|nope|>' } }, /tokenizer_config\.json: bos_token: "<\|nope\|>" is not a token/],
    [{ 'tokenizer.json': good, 'tokenizer_config.json': { chat_template: 5 } }, /tokenizer_config\.json: chat_template: expected a string or a list/],
    [{ 'tokenizer.json': good, 'generation_config.json': { eos_token_id: 'x' } }, /generation_config\.json: eos_token_id: expected token ids/],
    [{ 'tokenizer.model': 'x' }, /SentencePiece tokenizer\.model but no tokenizer\.json/],
  ];
  cases.forEach(([files, re], i) => assert.throws(() => openTokenizer(dir(`c${i}`, files)), (e: Error) => re.test(e.message), `case ${i}: ${re}`));
  assert.throws(() => openTokenizer(path.join(root, 'missing')), /no such file or directory/);
  const gguf = (meta: [string, ReturnType<typeof gv.str>][]) => { const f = path.join(root, `g${Math.random()}.gguf`); writeFileSync(f, encodeGguf(meta, [])); return f; };
  assert.throws(() => openTokenizer(gguf([['general.architecture', gv.str('llama')]])), /\.gguf: tokenizer\.ggml\.model: missing/);
  assert.throws(() => openTokenizer(gguf([['tokenizer.ggml.model', gv.str('gpt2')], ['tokenizer.ggml.pre', gv.str('no-such-pre')], ['tokenizer.ggml.tokens', gv.strs(['a'])], ['tokenizer.ggml.merges', gv.strs([])]])), /tokenizer\.ggml\.pre: pre-tokenizer "no-such-pre" is not supported/);
  assert.throws(() => openTokenizer(gguf([['tokenizer.ggml.model', gv.str('t5')]])), /tokenizer model "t5" is not supported/);
});

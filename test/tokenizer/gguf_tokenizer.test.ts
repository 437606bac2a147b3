// The tokenizer inside a GGUF against llama.cpp's own tokenization of the same file (node-llama-cpp 3.21.1,
// model.tokenize on a vocabulary-only load): the Llama 3 and Qwen 3 tokenizers written as "gpt2" vocabularies the
// way convert_hf_to_gguf.py does (test/tokenizer/gguf_vocab.py, pre llama-bpe / qwen2), Gemma 3's as a "llama"
// (SentencePiece-style) vocabulary, and hcx's own GGUF export (hermetic: no Python, no downloads).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { corpusAvailable, HARD_CASES, mixedCorpus } from '../../src/bench/tokenizer_corpus.js';
import { encodeGguf, gv, readGguf, tokenizerMetadata } from '../../src/model/gguf.js';
import { packageRoot } from '../../src/tokenizer/default-segmenter.js';
import { tokenizerFromGguf } from '../../src/tokenizer/gguf_tokenizer.js';
import { openTokenizer } from '../../src/tokenizer/open.js';
import { CHAT_TEMPLATE_JINJA_PLAIN, trainTokenizer } from '../../src/tokenizer/index.js';
import { CORPUS } from './corpus.js';
import { hfDir, hfMissing, type HfName } from '../helpers/hf_tokenizers.js';
import { pythonMissing, runPython } from '../helpers/python.js';

type LlamaModel = { tokenize(text: string, special: boolean): ArrayLike<number>; dispose(): Promise<void> };
let llamaPromise: Promise<{ loadModel(o: { modelPath: string; vocabOnly: boolean }): Promise<LlamaModel> }> | null = null;
async function llamaCpp(file: string): Promise<LlamaModel> {
  llamaPromise ??= import('node-llama-cpp').then((m) => m.getLlama({ gpu: false, build: 'never', logLevel: 'fatal' as never, progressLogs: false }) as never);
  return (await llamaPromise).loadModel({ modelPath: file, vocabOnly: true });
}

/** Texts node-llama-cpp can take (it passes UTF-8; an empty string gives no tokens either way). */
const usable = (texts: string[]) => texts.filter((t) => t.length > 0);

async function compareWithLlamaCpp(t: { diagnostic(s: string): void }, file: string, texts: string[]): Promise<void> {
  const ours = tokenizerFromGguf(readGguf(file).metadata, file);
  const model = await llamaCpp(file);
  try {
    for (const special of [false, true]) {
      let tokens = 0, bad = 0, first = '';
      for (const text of texts) {
        const a = ours.encode(text, { allowSpecial: special });
        const b = Array.from(model.tokenize(text, special));
        tokens += b.length;
        if (a.length === b.length && a.every((x, i) => x === b[i])) continue;
        bad++;
        if (!first) { let k = 0; while (a[k] === b[k]) k++; first = `${JSON.stringify(text.slice(0, 60))} at token ${k}: ours ${a.slice(k, k + 5)} llama.cpp ${b.slice(k, k + 5)}`; }
      }
      t.diagnostic(`${path.basename(file)} vs llama.cpp, special tokens ${special ? 'parsed' : 'as text'}: ${texts.length} texts, ${tokens} tokens compared, ${bad} mismatches`);
      assert.equal(bad, 0, first);
    }
  } finally {
    await model.dispose();
  }
}

test("hcx's own GGUF export: the embedded tokenizer gives llama.cpp's ids and round-trips text", async (t) => {
  const tok = await trainTokenizer({ texts: CORPUS, vocabSize: 400, split: 'rules' });
  const dir = mkdtempSync(path.join(tmpdir(), 'hcx-gguf-tok-'));
  const file = path.join(dir, 'vocab.gguf');
  const meta: [string, ReturnType<typeof gv.u32>][] = [
    ['general.architecture', gv.str('llama')], ['llama.context_length', gv.u32(256)], ['llama.embedding_length', gv.u32(16)],
    ['llama.block_count', gv.u32(1)], ['llama.feed_forward_length', gv.u32(32)], ['llama.attention.head_count', gv.u32(1)],
    ['llama.attention.head_count_kv', gv.u32(1)], ['llama.attention.layer_norm_rms_epsilon', gv.f32(1e-5)], ['llama.rope.dimension_count', gv.u32(16)],
    ...tokenizerMetadata(tok, tok.vocabSize),
  ];
  writeFileSync(file, encodeGguf(meta, []));
  const g = openTokenizer(file);
  assert.equal(g.kind, 'gguf');
  assert.equal(g.vocabSize, tok.vocabSize);
  assert.deepEqual(g.specialIds.stop, [tok.special.endofturn]);
  // The same template without {% generation %} markers (training-only, unknown to llama.cpp).
  assert.equal(g.chatTemplate, CHAT_TEMPLATE_JINJA_PLAIN);
  assert.equal(g.renderChatText([{ role: 'developer', content: 'Be brief.' }, { role: 'user', content: 'hi' }, { role: 'assistant', content: 'ok' }]), tok.renderChatText([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }, { role: 'assistant', content: 'ok' }]));
  // English and code split the same way under llama-bpe; the ids then equal hcx's own.
  for (const s of ['The quick brown fox.', 'for (let i = 0; i < n; i++) {\n  sum += x[i];\n}']) assert.deepEqual(g.encode(s), tok.encode(s));
  for (const s of [...CORPUS.slice(0, 13), ...HARD_CASES]) assert.equal(g.decode(g.encode(s)), s);
  assert.deepEqual(g.encode('<|user|>hi<|endofturn|>', { allowSpecial: true }).filter((x) => g.isSpecial(x)), [tok.special.user, tok.special.endofturn]);
  await compareWithLlamaCpp(t, file, usable([...CORPUS.slice(0, 13), ...HARD_CASES]));
});

const CASES: { name: HfName; pre: string; spm?: boolean }[] = [
  { name: 'llama3', pre: 'llama-bpe' }, { name: 'qwen3', pre: 'qwen2' }, { name: 'gemma3', pre: '', spm: true },
];
for (const c of CASES) {
  test(`${c.name} written to GGUF as convert_hf_to_gguf does (${c.spm ? 'llama/SPM' : `gpt2, pre ${c.pre}`}): ids equal llama.cpp's on the mixed corpus (reads ../shared/data)`,
    { skip: (corpusAvailable() ? false : 'needs ../shared/data') || hfMissing([c.name]) || pythonMissing(['gguf', 'transformers']) }, async (t) => {
      const dir = mkdtempSync(path.join(tmpdir(), 'hcx-gguf-hf-'));
      const file = path.join(dir, `${c.name}.gguf`);
      runPython([path.join(packageRoot(), 'test/tokenizer/gguf_vocab.py'), hfDir(c.name), file, c.pre || 'default', ...(c.spm ? ['--spm'] : [])]);
      const texts = usable(mixedCorpus(Number(process.env.HCX_PARITY_CHARS ?? 600_000)).map((d) => d.text));
      await compareWithLlamaCpp(t, file, texts);
      // The GGUF keeps the HF tokenizer's chat template and special ids.
      const g = openTokenizer(file), hf = openTokenizer(hfDir(c.name));
      assert.equal(g.chatTemplate, hf.chatTemplate);
      assert.equal(g.specialIds.eos, hf.specialIds.eos);
      // (Without a BOS in the file llama.cpp assumes id 11 for gpt2 vocabularies, as the GGUF tokenizer does.)
      if (hf.specialIds.bos !== null) assert.equal(g.specialIds.bos, hf.specialIds.bos);
      if (!c.spm) {
        // gpt2 vocabularies: llama.cpp's ids are the Hugging Face ids, except where llama.cpp made an ordinary
        // token a control token by its text (Qwen's "</s>" looks like an end-of-generation marker to it), and on
        // text that is not NFC (a GGUF vocabulary has no normalizer; Qwen's tokenizer.json applies NFC).
        let same = 0;
        const promoted = (s: string) => ['</s>', '<eos>'].some((x) => s.includes(x) && hf.tokenToId(x) !== undefined && !hf.isSpecial(hf.tokenToId(x)!));
        const differ = texts.filter((s) => JSON.stringify(g.encode(s, { allowSpecial: true })) !== JSON.stringify(hf.encode(s, { allowSpecial: true })));
        same = texts.length - differ.length;
        t.diagnostic(`${c.name}: GGUF ids equal tokenizer.json ids on ${same} of ${texts.length} texts; the others contain a token llama.cpp makes a control token, or non-NFC text`);
        assert.deepEqual(differ.filter((s) => !promoted(s) && s === s.normalize('NFC')), []);
      }
    });
}

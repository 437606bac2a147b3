// The one model loader: every kind of spec (hcx run, hcx checkpoint, .safetensors, Hugging Face directory, GGUF)
// opens through openModel with the tokenizer the one rule picks and that tokenizer's chat template, and the same
// logits as the model that was saved; describeModel reads no weights; the errors name the spec and where it looked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeModel, openModel } from '../../src/model/load.js';
import { parseModelConfig } from '../../src/model/config.js';
import { exportHfModel, hfTensors, hfConfig } from '../../src/model/export_hf.js';
import { exportGguf } from '../../src/model/gguf.js';
import { saveSafetensors } from '../../src/model/safetensors.js';
import { Transformer } from '../../src/model/transformer.js';
import { CHAT_TEMPLATE_JINJA, Tokenizer } from '../../src/tokenizer/index.js';
import { tinySource, type TinySource } from '../helpers/sft.js';
import { byteLevelJson } from '../tokenizer/hf/tiny.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const HCX = path.join(root, 'bin/hcx.js');
const SEED_TEMPLATE = readFileSync(path.join(root, 'test/tokenizer/fixtures/hyperclovax_seed.jinja'), 'utf8');

let dir = '';
let src: TinySource;
let saved: Transformer;
let ck = '';

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'hcx-load-'));
  src = await tinySource(dir);
  ck = path.join(src.runDir, 'checkpoints', 'step-100');
  saved = openModel(ck).model;
});
after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

const IDS = [5, 17, 3, 42, 9, 11, 60, 2];

/** Logits of IDS at every position. */
function logits(m: Transformer): Float32Array {
  return m.infer(Int32Array.from(IDS), 1, IDS.length).data.slice();
}

function assertClose(a: Float32Array, b: Float32Array, tol: number, what: string): void {
  assert.equal(a.length, b.length, what);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  assert.ok(worst <= tol, `${what}: max |Δ logit| ${worst} > ${tol}`);
}

test('an hcx run, its checkpoint and the checkpoint\'s model.safetensors open with the run\'s hcx tokenizer and hcx\'s template', () => {
  const want = logits(saved);
  for (const [spec, kind] of [[src.runDir, 'hcx-run'], [ck, 'hcx-checkpoint'], [path.join(ck, 'model.safetensors'), 'safetensors']] as const) {
    const o = openModel(spec);
    assert.equal(o.source.kind, kind, spec);
    assert.equal(o.tokenizerPath, src.tokFile, `${spec}: the run's tokenizer.json`);
    assert.ok(o.tokenizer instanceof Tokenizer, `${spec}: hcx's own tokenizer`);
    assert.deepEqual(o.tokenizer.encode('안녕하세요 hello'), src.tok.encode('안녕하세요 hello'));
    assert.equal(o.chatTemplate, CHAT_TEMPLATE_JINJA);
    assert.equal(o.displayName, 'source', `${spec}: named after its run`);
    assert.deepEqual(o.model.config, src.config);
    assert.deepEqual(logits(o.model), want, `${spec}: the saved weights`);
    if (kind !== 'safetensors') {
      assert.equal(o.source.checkpoint, ck);
      const sums = JSON.parse(readFileSync(path.join(ck, 'checksums.json'), 'utf8')) as { files: Record<string, string> };
      assert.equal(o.source.fingerprint, sums.files['model.safetensors']);
      assert.equal((o.source.trainConfig as { batchSize?: number }).batchSize, 4, 'the training config recorded with the checkpoint');
    }
  }
});

test('describeModel gives config, tokenizer path, training config and fingerprint without the weights', () => {
  const d = describeModel(src.runDir);
  assert.equal(d.source.kind, 'hcx-run');
  assert.equal(d.source.checkpoint, ck);
  assert.deepEqual(d.config, src.config);
  assert.equal(d.tokenizer.path, src.tokFile);
  assert.equal(d.tokenizer.how, 'hcx-near-checkpoint');
  assert.match(d.source.fingerprint!, /^[0-9a-f]{64}$/);
  // No weights are read: a checkpoint whose weights file is garbage still describes.
  const broken = path.join(dir, 'broken-run');
  cpSync(src.runDir, broken, { recursive: true });
  writeFileSync(path.join(broken, 'checkpoints', 'step-100', 'model.safetensors'), 'not weights');
  assert.deepEqual(describeModel(broken).config, src.config);
  assert.throws(() => openModel(broken), /model\.safetensors: checksum mismatch/);
});

test('a Hugging Face export opens with its own tokenizer.json and chat template, the same logits in f32 and close in bf16 weights', () => {
  const hf = path.join(dir, 'hf-export');
  exportHfModel(saved, src.tok, hf, { dtype: 'f32' });
  const o = openModel(hf);
  assert.equal(o.source.kind, 'hf-dir');
  assert.equal(o.source.checkpoint, undefined);
  assert.equal(o.tokenizerPath, path.join(hf, 'tokenizer.json'));
  assert.equal(o.tokenizer.kind, 'hf');
  assert.equal(o.displayName, 'hf-export');
  assert.deepEqual(o.tokenizer.encode('안녕하세요 hello'), src.tok.encode('안녕하세요 hello'), 'the exported tokenizer gives hcx\'s ids');
  const msgs = [{ role: 'user', content: '안녕?' }];
  assert.equal(o.tokenizer.renderChatText(msgs, { addGenerationPrompt: true }), src.tok.renderChatText(msgs, { addGenerationPrompt: true }));
  assert.ok(o.chatTemplate && o.chatTemplate === o.tokenizer.chatTemplate);
  assertClose(logits(o.model), logits(saved), 1e-5, 'hf dir f32');
  // The .safetensors file of the export reads its HF config and tokenizer from its directory.
  const f = openModel(path.join(hf, 'model.safetensors'));
  assert.equal(f.source.kind, 'safetensors');
  assert.equal(f.tokenizer.kind, 'hf');
  assertClose(logits(f.model), logits(saved), 1e-5, 'hf .safetensors');
  const b = openModel(hf, { weights: 'bf16' });
  assert.ok(b.model.bf16Only);
  assert.equal(b.model.computeDtype, 'bf16');
  assertClose(logits(b.model), logits(saved), 0.05, 'hf dir bf16 weights');
  assert.throws(() => openModel(hf, { weights: 'bf16', dtype: 'f32' }), /bf16-only weights compute in bf16/);
});

test('a HyperCLOVA X SEED-shaped Hugging Face directory: its ChatML template, stops at <|endofturn|> and <|stop|>, muP and Peri-LN weights', () => {
  const special = ['<|im_start|>', '<|im_end|>', '<|endofturn|>', '<|stop|>', '<|endoftext|>'];
  const tj = byteLevelJson(special, [['Ġ', 't'], ['h', 'e'], ['Ġt', 'he']]);
  const vocab = 256 + 3 + special.length;
  const config = parseModelConfig({
    preset: 'test', architecture: 'HyperCLOVAXForCausalLM', vocabSize: vocab + 5, postNorm: true, tieEmbeddings: true,
    embeddingMultiplier: 2.5, attentionMultiplier: 0.08, residualMultiplier: 0.4, logitsScaling: 0.6,
  });
  const m = new Transformer(config, 9);
  const seed = path.join(dir, 'HyperCLOVAX-SEED-tiny');
  mkdirSync(seed);
  const id = (s: string) => vocab - special.length + special.indexOf(s);
  saveSafetensors(path.join(seed, 'model.safetensors'), hfTensors(m, 'bf16'), { format: 'pt' });
  writeFileSync(path.join(seed, 'config.json'), JSON.stringify(hfConfig(config, { bos: null, eos: id('<|endofturn|>'), pad: id('<|endoftext|>') }, 'bf16')));
  writeFileSync(path.join(seed, 'tokenizer.json'), JSON.stringify(tj));
  writeFileSync(path.join(seed, 'tokenizer_config.json'), JSON.stringify({ eos_token: '<|endofturn|>', pad_token: '<|endoftext|>', bos_token: null, chat_template: SEED_TEMPLATE }));
  const o = openModel(seed, { weights: 'bf16' });
  assert.equal(o.source.kind, 'hf-dir');
  assert.equal(o.displayName, 'HyperCLOVAX-SEED-tiny');
  assert.equal(o.model.config.architecture, 'HyperCLOVAXForCausalLM');
  assert.equal(o.model.config.residualMultiplier, 0.4);
  assert.equal(o.chatTemplate, SEED_TEMPLATE);
  assert.deepEqual(o.tokenizer.specialIds.stop.map((i) => o.tokenizer.idToToken(i)), ['<|endofturn|>', '<|stop|>']);
  const text = o.tokenizer.encodeChat([{ role: 'user', content: 'the' }, { role: 'assistant', content: 'he' }]).text;
  assert.match(text, /<\|im_start\|>user\nthe<\|im_end\|>\n<\|im_start\|>assistant\nhe<\|im_end\|><\|endofturn\|>/);
  // bf16 stored weights read straight into packed bf16: the same logits as the in-memory model rounded to bf16.
  const f32 = openModel(seed);
  assertClose(logits(o.model), logits(f32.model), 0.05, 'bf16 packed vs widened');
  assertClose(logits(f32.model), logits(m), 0.1, 'bf16-stored weights vs the fp32 originals');
});

test('a GGUF opens with the tokenizer in its metadata and gives the exported model\'s logits', () => {
  const file = path.join(dir, 'tiny-f32.gguf');
  exportGguf(saved, src.tok, file, { dtype: 'F32', name: 'tiny' });
  const o = openModel(file);
  assert.equal(o.source.kind, 'gguf');
  assert.equal(o.tokenizerPath, file);
  assert.equal(o.tokenizer.kind, 'gguf');
  assert.equal(o.displayName, 'tiny-f32');
  assert.equal(o.tokenizer.vocabSize, src.tok.vocabSize);
  assert.ok(o.tokenizer.specialIds.stop.includes(src.tok.special.endofturn), 'a chat turn ends at <|endofturn|>');
  const ids = src.tok.encode('hello 안녕');
  assert.equal(o.tokenizer.decode(ids), 'hello 안녕');
  assert.ok(o.chatTemplate?.includes('<|endofturn|>'), 'hcx\'s template travels in tokenizer.chat_template');
  assertClose(logits(o.model), logits(saved), 1e-5, 'gguf f32');
  assert.equal(describeModel(file).tokenizer.how, 'gguf');
});

test('the tokenizer rule: an explicit tokenizer wins; none found is an error naming the spec and every place looked', () => {
  const hf = path.join(dir, 'hf-export');
  // hcx's tokenizer given explicitly for a Hugging Face directory.
  const o = openModel(hf, { tokenizer: src.tokFile });
  assert.ok(o.tokenizer instanceof Tokenizer);
  assert.equal(o.tokenizerPath, src.tokFile);
  assert.throws(() => openModel(hf, { tokenizer: path.join(dir, 'nope.json') }), /nope\.json \(given for .*hf-export\): no such file/);
  // A run without any tokenizer.json.
  const bare = path.join(dir, 'bare-run');
  cpSync(src.runDir, bare, { recursive: true });
  rmSync(path.join(bare, 'tokenizer.json'));
  const step = path.join(bare, 'checkpoints', 'step-100');
  assert.throws(() => openModel(step), (e: Error) => {
    assert.ok(e.message.startsWith(`${step}: no tokenizer found`), e.message);
    for (const d of [step, path.join(bare, 'checkpoints'), bare]) assert.ok(e.message.includes(path.join(d, 'tokenizer.json')), `names ${d}: ${e.message}`);
    assert.match(e.message, /--tokenizer FILE/);
    return true;
  });
  // A Hugging Face directory without tokenizer.json.
  const notok = path.join(dir, 'hf-notok');
  exportHfModel(saved, null, notok);
  assert.throws(() => openModel(notok), new RegExp(`${notok}: no tokenizer found; looked for ${path.join(notok, 'tokenizer.json')}`));
  assert.equal(describeModel(notok).tokenizer.path, null);
});

test('a path that is no model is an error naming it', () => {
  const empty = path.join(dir, 'just-a-folder');
  mkdirSync(empty);
  writeFileSync(path.join(empty, 'notes.txt'), 'hi');
  assert.throws(() => openModel(empty), new RegExp(`^Error: ${empty}: not a model directory: it is no hcx run`));
  assert.throws(() => describeModel(path.join(empty, 'notes.txt')), /notes\.txt: not a model file/);
  assert.throws(() => openModel(path.join(dir, 'missing')), /missing: no such file or directory/);
  mkdirSync(path.join(empty, 'checkpoints'));
  assert.throws(() => openModel(empty), /just-a-folder: an hcx run without a finished checkpoint/);
});

function runHcx(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [HCX, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HCX_THREADS: '1' } });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

test('hcx generate --model RUN/checkpoints/step-N finds the run\'s tokenizer (CLI)', async () => {
  const r = await runHcx(['generate', '--model', ck, '--prompt', '안녕', '--max-tokens', '4']);
  assert.equal(r.code, 0, r.err);
  assert.ok(r.out.startsWith('안녕'), r.out);
  // Greedy: the same continuation as generating in this process.
  const { generate } = await import('../../src/model/generate.js');
  const g = generate(saved, src.tok.encode('안녕'), { maxNewTokens: 4, stopTokens: [...src.tok.specialIds.stop], decode: (ids) => src.tok.decode(ids) });
  assert.equal(r.out, `안녕${g.text}\n`);
  const gguf = await runHcx(['generate', '--model', path.join(dir, 'tiny-f32.gguf'), '--prompt', '안녕', '--max-tokens', '4']);
  assert.equal(gguf.code, 0, gguf.err);
  assert.equal(gguf.out, r.out, 'the GGUF export generates the same');
});

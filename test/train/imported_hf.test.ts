// SFT on imported models against transformers (5.x, torch 2.13 CPU), on the same directories:
//   - a HyperCLOVA X SEED-shaped model: hcx's training mask from SEED's plain template equals the
//     assistant mask transformers' apply_chat_template(return_assistant_tokens_mask) gives for the same
//     template with {% generation %} markers round each assistant turn's content, <|im_end|> and <|endofturn|>;
//   - Qwen 3 (its real tokenizer.json and template, random tiny weights): hcx's ids equal apply_chat_template's,
//     and hcx SFT's first-step loss equals the model's cross-entropy in transformers over the same trained tokens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChatTurn } from '../../src/data/chat/readers.js';
import { trainingTemplate } from '../../src/data/chat/template.js';
import { openModel } from '../../src/model/load.js';
import { sft } from '../../src/train/sft.js';
import { parseSftConfig } from '../../src/train/sft_config.js';
import { hfModelDir } from '../helpers/imported.js';
import { hfMissing } from '../helpers/hf_tokenizers.js';
import { pythonMissing, runPython } from '../helpers/python.js';
import { byteLevelJson } from '../tokenizer/hf/tiny.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const script = path.join(root, 'test/train/py/imported_chat.py');
const SEED_TEMPLATE = readFileSync(path.join(root, 'test/tokenizer/fixtures/hyperclovax_seed.jinja'), 'utf8');
const noPython = pythonMissing(['torch', 'transformers']);

const CONVS: ChatTurn[][] = [
  [{ role: 'user', content: '안녕하세요' }, { role: 'assistant', content: '반갑습니다!' }],
  [{ role: 'system', content: 'Answer briefly.' }, { role: 'user', content: 'Capital of Korea?' }, { role: 'assistant', content: 'Seoul.' }, { role: 'user', content: 'And Japan?' }, { role: 'assistant', content: 'Tokyo.' }],
  [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'assistant', content: 'c' }],
];

let dir = '';
before(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'hcx-imported-hf-')); });
after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

interface PyRow { ids: number[]; marked_ids?: number[]; assistant_mask?: number[]; loss: number }

function reference(modelDir: string, hcx: { ids: number[]; mask: number[] }[], markedTemplate?: string): PyRow[] {
  const req = path.join(dir, 'req.json'), out = path.join(dir, 'out.json');
  writeFileSync(req, JSON.stringify({ dir: modelDir, conversations: CONVS, hcx, ...(markedTemplate ? { marked_template: markedTemplate } : {}) }));
  runPython([script, req, out], { env: { TOKENIZERS_PARALLELISM: 'false' } });
  return JSON.parse(readFileSync(out, 'utf8')) as PyRow[];
}

test('SEED template: hcx\'s training mask equals transformers\' assistant mask of the same template with {% generation %} markers', { skip: noPython }, () => {
  const special = ['<|im_start|>', '<|im_end|>', '<|endofturn|>', '<|stop|>', '<|endoftext|>'];
  const json = byteLevelJson(special, [['Ġ', 't'], ['h', 'e']]);
  const seed = hfModelDir(path.join(dir, 'seed'), { json, config: { eos_token: '<|endofturn|>', pad_token: '<|endoftext|>', bos_token: null, chat_template: SEED_TEMPLATE } }, 'HyperCLOVAXForCausalLM');
  const marked = SEED_TEMPLATE
    .replace("{{- '<|im_start|>assistant\\n' + message['content'] + '<|im_end|>' }}", "{{- '<|im_start|>assistant\\n' }}{% generation %}{{- message['content'] + '<|im_end|>' }}{% endgeneration %}")
    .replace("{{- '<|endofturn|>\\n' }}", "{% generation %}{{- '<|endofturn|>' }}{% endgeneration %}{{- '\\n' }}");
  assert.notEqual(marked, SEED_TEMPLATE);
  const o = openModel(seed), t = trainingTemplate(o.tokenizer);
  const hcx = CONVS.map((c) => t.render(c));
  const py = reference(seed, hcx, marked);
  py.forEach((r, i) => {
    const full = o.tokenizer.encodeChat(CONVS[i].map((m) => ({ ...m }))).ids;
    assert.deepEqual(full, r.ids, `conversation ${i}: ids`);
    assert.deepEqual(r.marked_ids, r.ids, 'the markers change no token');
    // hcx's rendering stops at the last turn end; transformers' mask is 0 on what follows
    assert.deepEqual(hcx[i].ids, r.ids.slice(0, hcx[i].ids.length));
    assert.deepEqual(hcx[i].mask, r.assistant_mask!.slice(0, hcx[i].ids.length), `conversation ${i}: mask`);
    assert.ok(r.assistant_mask!.slice(hcx[i].ids.length).every((m) => m === 0));
    assert.ok(hcx[i].mask.includes(1));
  });
});

test('Qwen 3: hcx\'s ids equal apply_chat_template\'s and the first SFT step\'s loss equals transformers\' (1e-4)', { skip: noPython || hfMissing(['qwen3']) }, async () => {
  const qwen = hfModelDir(path.join(dir, 'qwen3'), { from: 'qwen3' }, 'Qwen3ForCausalLM', { maxSeqLen: 256 });
  const o = openModel(qwen), t = trainingTemplate(o.tokenizer);
  const hcx = CONVS.map((c) => t.render(c));
  const py = reference(qwen, hcx);
  for (const [i, r] of py.entries()) {
    assert.deepEqual(o.tokenizer.encodeChat(CONVS[i].map((m) => ({ ...m }))).ids, r.ids, `conversation ${i}: ids`);
    assert.deepEqual(hcx[i].ids, r.ids.slice(0, hcx[i].ids.length));
    // what hcx trains: the assistant replies and their <|im_end|>, nothing of the prompts
    const trained = o.tokenizer.decode(hcx[i].ids.filter((_, k) => hcx[i].mask[k]));
    for (const m of CONVS[i]) if (m.role !== 'assistant') assert.ok(!trained.includes(m.content), `${i}: ${trained}`);
    assert.ok(trained.endsWith('<|im_end|>'), trained);
  }
  // One conversation a step, no packing: SFT's first loss is that conversation's mean cross-entropy.
  const data = path.join(dir, 'one.jsonl');
  writeFileSync(data, JSON.stringify({ messages: CONVS[1] }) + '\n');
  const cfg = parseSftConfig({ from: qwen, data: [data], runDir: path.join(dir, 'run'), packing: 'none', seqLen: 256, steps: 1, batchSize: 1, heldout: 0, evalEvery: 0, saveEvery: 0 },
    'test', undefined, 'none', { maxSeqLen: 256 }).cfg;
  const r = await sft(cfg, { quiet: true });
  assert.ok(Math.abs(r.metrics[0].loss - py[1].loss) < 1e-4, `hcx ${r.metrics[0].loss} vs transformers ${py[1].loss}`);
});

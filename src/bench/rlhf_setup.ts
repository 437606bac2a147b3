// The inputs of `hcx bench rlhf`: a small hcx tokenizer trained on the built-in chat samples (split "rules",
// so its Hugging Face export tokenizes alike), one random-initialised policy saved as an hcx run and as a
// Hugging Face folder, a reward model (a score head on the same weights) saved as an hcx score model with
// its head also written as JSON for the Python peer, and a prompts file of spread lengths: each record's user
// turn joins 1-8 built-in questions, and its assistant turn (the SFT rows' answer; PPO keeps it only as the
// reference) joins answers up to about `answerTokens` tokens. Same seeds, same files on every run.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chatSamples } from '../data/corpus/chat.js';
import { Rng } from '../data/hashing.js';
import { saveCheckpoint } from '../model/checkpoint.js';
import { exportHfModel } from '../model/export_hf.js';
import { parseModelConfig, PRESETS, type ModelConfig } from '../model/config.js';
import { initScoreModel, saveScoreModel } from '../model/score_head.js';
import { Transformer } from '../model/transformer.js';
import { Tokenizer, trainTokenizer } from '../tokenizer/index.js';

/** Model sizes: `tiny` for the test, `small` (the default) for the table. */
export const SIZES = {
  tiny: { dModel: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, ffnHidden: 176, vocab: 512 },
  small: { dModel: 128, nLayers: 4, nHeads: 4, nKvHeads: 2, ffnHidden: 352, vocab: 2048 },
} as const;
export type Size = keyof typeof SIZES;

export interface RlhfSet {
  source: string; hf: string; rm: string; rmHead: string; prompts: string; tokFile: string;
  tok: Tokenizer; config: ModelConfig; params: number;
}

export async function rlhfSet(dir: string, size: Size, records: number, answerTokens: number): Promise<RlhfSet> {
  const s = SIZES[size];
  const root = path.join(dir, size);
  const source = path.join(root, 'source'), hf = path.join(root, 'hf'), rm = path.join(root, 'rm');
  const tokFile = path.join(source, 'tokenizer.json'), rmHead = path.join(root, 'rm_head.json'), prompts = path.join(root, `prompts-${records}-${answerTokens}.jsonl`);
  const samples = chatSamples(300, 5);
  let tok: Tokenizer;
  if (existsSync(tokFile)) tok = Tokenizer.load(tokFile);
  else {
    mkdirSync(source, { recursive: true });
    tok = await trainTokenizer({ texts: samples.flatMap((x) => x.messages.map((m) => m.content)), vocabSize: s.vocab, split: 'rules' });
    tok.save(tokFile);
  }
  const config = parseModelConfig({ ...PRESETS.peer, dModel: s.dModel, nLayers: s.nLayers, nHeads: s.nHeads, nKvHeads: s.nKvHeads, ffnHidden: s.ffnHidden, maxSeqLen: 512, vocabSize: tok.vocabSize });
  const model = new Transformer(config, 7);
  if (!existsSync(path.join(source, 'checkpoints'))) saveCheckpoint(source, { model, state: { step: 0, tokensSeen: 0 } });
  if (!existsSync(path.join(hf, 'config.json'))) exportHfModel(model, tok, hf);
  if (!existsSync(rmHead)) {
    const sm = initScoreModel(new Transformer(config, 7), 11);
    saveScoreModel(rm, sm);
    writeFileSync(rmHead, JSON.stringify({ weight: Array.from(sm.weight.data), bias: Array.from(sm.bias.data) }));
  }
  if (!existsSync(prompts)) writeFileSync(prompts, promptRecords(samples.map((x) => x.messages), tok, records, answerTokens).join('\n') + '\n');
  const params = model.parameters().reduce((a, p) => a + p.size, 0);
  return { source, hf, rm, rmHead, prompts, tokFile, tok, config, params };
}

/** Records of 1-8 joined questions (spread prompt lengths) and an answer of about answerTokens tokens. */
function promptRecords(convs: { role: string; content: string }[][], tok: Tokenizer, n: number, answerTokens: number): string[] {
  const rng = new Rng(3);
  const pick = (role: string) => {
    for (;;) {
      const m = convs[rng.int(convs.length)].find((t) => t.role === role);
      if (m) return m.content;
    }
  };
  return Array.from({ length: n }, () => {
    const user = Array.from({ length: 1 + rng.int(8) }, () => pick('user')).join(' ');
    let answer = pick('assistant');
    while (tok.encode(answer).length < answerTokens) answer += ' ' + pick('assistant');
    return JSON.stringify({ messages: [{ role: 'user', content: user }, { role: 'assistant', content: answer }] });
  });
}

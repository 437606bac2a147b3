// A tiny source model for SFT tests: a small hcx tokenizer (split "rules", so its Hugging Face export is
// exact) trained on the built-in chat data, a `test`-preset model over its vocabulary saved as an hcx run
// with a pretraining-like training config (for inheritance), and chat data files.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chatSamples } from '../../src/data/corpus/chat.js';
import { saveCheckpoint } from '../../src/model/checkpoint.js';
import { parseModelConfig, type ModelConfig } from '../../src/model/config.js';
import { Transformer } from '../../src/model/transformer.js';
import { Tokenizer, trainTokenizer } from '../../src/tokenizer/index.js';

export interface TinySource { runDir: string; tokFile: string; tok: Tokenizer; config: ModelConfig; data: { ko: string; en: string; all: string } }

export async function tinySource(dir: string, model: Record<string, unknown> = {}): Promise<TinySource> {
  const runDir = path.join(dir, 'source');
  const tokFile = path.join(runDir, 'tokenizer.json');
  const samples = chatSamples(120, 3);
  let tok: Tokenizer;
  if (existsSync(tokFile)) tok = Tokenizer.load(tokFile);
  else {
    mkdirSync(runDir, { recursive: true });
    tok = await trainTokenizer({ texts: samples.flatMap((s) => s.messages.map((m) => m.content)), vocabSize: 420, split: 'rules' });
    tok.save(tokFile);
  }
  const config = parseModelConfig({ preset: 'test', vocabSize: tok.vocabSize, maxSeqLen: 256, ...model });
  if (!existsSync(path.join(runDir, 'checkpoints'))) {
    saveCheckpoint(runDir, { model: new Transformer(config, 5), state: { step: 100, tokensSeen: 0 },
      trainConfig: { model: config, batchSize: 4, gradAccum: 1, lr: 2e-3, minLr: 2e-4, warmupSteps: 2, weightDecay: 0.0, beta1: 0.9, beta2: 0.95, clip: 1, computeDtype: 'f32', seed: 3 } });
  }
  const write = (name: string, lang?: 'ko' | 'en') => {
    const f = path.join(dir, name);
    if (!existsSync(f)) writeFileSync(f, samples.filter((s) => !lang || s.lang === lang).map((s) => JSON.stringify({ messages: s.messages })).join('\n') + '\n');
    return f;
  };
  return { runDir, tokFile, tok, config, data: { ko: write('chat-ko.jsonl', 'ko'), en: write('chat-en.jsonl', 'en'), all: write('chat.jsonl') } };
}

// The main job: every stage that exists, end to end, on the embedded default corpus: train the
// tokenizer, build the data (filters, PII scrubbing, dedup, mixture, FIM, packing into two context
// phases), pretrain a small HCX-style model, then generate Korean, English and code from prompts.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildDataset } from './data/build.js';
import { defaultCorpusTexts } from './data/corpus/index.js';
import { defaultDemoConfig } from './data/demo.js';
import { generate } from './model/generate.js';
import { parsePretrainConfig } from './train/config.js';
import { pretrain } from './train/pretrain.js';
import { Tokenizer, trainTokenizer } from './tokenizer/index.js';

export interface DemoOptions {
  /** Run folder (default runs/demo). */
  out?: string;
  steps?: number;
  vocabSize?: number;
  /** Start over instead of reusing finished stages. */
  fresh?: boolean;
  log?: (s: string) => void;
}

export const DEMO_PROMPTS = ['대한민국의 수도는', '한국어는', 'The history of', 'In the morning', 'function add('];

export async function runDemo(opts: DemoOptions = {}): Promise<{ runDir: string; samples: { prompt: string; text: string }[] }> {
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const runDir = path.resolve(opts.out ?? 'runs/demo');
  mkdirSync(runDir, { recursive: true });
  const tokFile = path.join(runDir, 'tokenizer.json');
  const t0 = Date.now();
  const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(0)}s]`;

  // 1. Tokenizer: morpheme-aware byte-level BPE on the built-in Korean, English and code corpus.
  let tok: Tokenizer;
  if (existsSync(tokFile) && !opts.fresh) tok = Tokenizer.load(tokFile);
  else {
    log(`${stamp()} 1/4 training the tokenizer (vocabulary ${opts.vocabSize ?? 4096}) on the built-in corpus`);
    const texts = Object.values(defaultCorpusTexts()).flat();
    tok = await trainTokenizer({ texts, vocabSize: opts.vocabSize ?? 4096 });
    tok.save(tokFile);
  }
  const sample = '대한민국의 수도는 서울입니다. Tokenizers split text into tokens.';
  log(`${stamp()}     tokenizer: ${tok.vocabSize} tokens; "${sample}" -> ${tok.encode(sample).length} tokens`);

  // 2. Data: the pipeline with its default demo configuration.
  log(`${stamp()} 2/4 building the dataset (filters, PII, dedup, 1/3 each Korean/English/code, FIM, packing)`);
  const dataDir = path.join(runDir, 'data');
  const built = await buildDataset(defaultDemoConfig(dataDir), { tokenizer: tok, fresh: opts.fresh });
  for (const ph of built.index.phases) log(`${stamp()}     phase ${ph.name}: ${ph.records} sequences of ${ph.seqLen} tokens`);
  log(`${stamp()}     report: ${path.join(dataDir, 'report.md')}`);

  // 3. Pretraining: 90% of steps at the short context, the last 10% at 8x longer.
  const steps = opts.steps ?? 600;
  log(`${stamp()} 3/4 pretraining a small HCX-style model for ${steps} steps`);
  const cfgObj = {
    runDir, data: dataDir, tokenizer: tokFile, model: { preset: 'demo', vocabSize: tok.vocabSize },
    batchSize: 16, steps, lr: 3e-3, warmupSteps: Math.min(50, Math.floor(steps / 10)), longShare: 0.1, longRopeBase: 80000,
    evalEvery: Math.max(1, Math.floor(steps / 10)), heldoutRecords: 32, evalBatches: 2, saveEvery: Math.max(1, Math.floor(steps / 4)), logEvery: 5, seed: 1,
  };
  const cfg = parsePretrainConfig(cfgObj, 'demo config', tok.vocabSize);
  writeFileSync(path.join(runDir, 'pretrain.json'), JSON.stringify(cfgObj, null, 2) + '\n');
  const r = await pretrain(cfg, { resume: false });
  const first = r.metrics[0], last = r.metrics[r.metrics.length - 1];
  log(`${stamp()}     loss ${first.loss.toFixed(3)} -> ${last.loss.toFixed(3)} (held-out ${last.eval_loss?.toFixed(3)}); curve: ${path.join(runDir, 'loss.svg')}`);

  // 4. Generation from the trained model.
  log(`${stamp()} 4/4 generating`);
  const samples = DEMO_PROMPTS.map((prompt) => {
    const g = generate(r.model, tok.encode(prompt), {
      maxNewTokens: 40, temperature: 0.7, topK: 40, topP: 0.95, repetitionPenalty: 1.1, seed: 7,
      stopTokens: [tok.special.eot], decode: (ids) => tok.decode(ids),
    });
    return { prompt, text: g.text ?? '' };
  });
  for (const s of samples) log(`  ${JSON.stringify(s.prompt)} -> ${JSON.stringify(s.prompt + s.text)}`);
  log(`${stamp()} done. The model is in ${runDir}: try  npx hcx generate --model ${path.relative(process.cwd(), runDir) || '.'} --prompt "서울은"`);
  return { runDir, samples };
}

// hcx's own models as an evaluation backend: `hcx:<run or checkpoint dir>[#tokenizer=FILE,batch=N,threads=N]`.
// Scores exactly (log-softmax over the whole vocabulary from one forward pass per padded batch) and
// generates with the KV cache.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadModel as loadHcxModel } from '../../model/checkpoint.js';
import { generate } from '../../model/generate.js';
import type { Transformer } from '../../model/transformer.js';
import { setThreads } from '../../native/index.js';
import { F, noGrad, tidy } from '../../tensor/index.js';
import { Tokenizer, chatText } from '../../tokenizer/index.js';
import type { ChatMessage, ScoreRequest, ScoreResult, TokenLM } from '../model.js';
import { registerEngine } from './index.js';

export class HcxLM implements TokenLM {
  readonly maxLength: number;
  readonly prefixToken: number;
  readonly eosTokens: number[];

  constructor(readonly id: string, readonly model: Transformer, readonly tokenizer: Tokenizer, readonly batchSize = 8) {
    // Rolling windows score maxLength tokens after one context token.
    this.maxLength = model.config.maxSeqLen - 1;
    // End-of-text separates documents in pretraining, so it is the natural "start" context (as GPT-2's).
    this.prefixToken = tokenizer.special.eot;
    this.eosTokens = [tokenizer.special.eot, tokenizer.special.endofturn];
  }

  static load(ref: string, opts: Record<string, string>): HcxLM {
    const model = loadHcxModel(ref);
    const tokFile = opts.tokenizer ?? path.join(ref, 'tokenizer.json');
    if (!existsSync(tokFile)) throw new Error(`hcx model ${ref}: no tokenizer.json beside it; give one with #tokenizer=FILE`);
    if (opts.threads) setThreads(Number(opts.threads));
    return new HcxLM(`hcx:${path.resolve(ref)}`, model, Tokenizer.load(tokFile), opts.batch ? Number(opts.batch) : 8);
  }

  async tokenize(text: string): Promise<number[]> {
    return this.tokenizer.encode(text, { allowSpecial: true });
  }

  async detokenize(tokens: number[]): Promise<string> {
    return this.tokenizer.decode(tokens);
  }

  async score(batch: ScoreRequest[]): Promise<ScoreResult[]> {
    const out: ScoreResult[] = new Array(batch.length);
    // Longest first, so each padded batch wastes little.
    const order = batch.map((_, i) => i).sort((a, b) => batch[b].tokens.length - batch[a].tokens.length);
    for (let s = 0; s < order.length; s += this.batchSize) {
      const group = order.slice(s, s + this.batchSize);
      const T = batch[group[0]].tokens.length - 1;
      if (T + 1 > this.model.config.maxSeqLen) throw new Error(`score: ${T + 1} tokens exceed the model's context of ${this.model.config.maxSeqLen}`);
      const B = group.length;
      const ids = new Int32Array(B * T);
      // Right padding: a causal model's earlier positions never see it.
      group.forEach((r, b) => ids.set(batch[r].tokens.slice(0, -1).slice(0, T), b * T));
      const V = this.model.config.vocabSize;
      tidy(() => noGrad(() => {
        const lp = F.logSoftmax(this.model.forward(ids, B, T)).data;
        group.forEach((r, b) => {
          const { tokens, from } = batch[r];
          const res: ScoreResult = { logprobs: [], greedy: [], argmax: [], argmaxLogprob: [] };
          for (let i = Math.max(1, from); i < tokens.length; i++) {
            const row = lp.subarray((b * T + i - 1) * V, (b * T + i) * V);
            let best = 0;
            for (let v = 1; v < V; v++) if (row[v] > row[best]) best = v;
            res.logprobs.push(row[tokens[i]]);
            res.greedy.push(best === tokens[i]);
            res.argmax.push(best);
            res.argmaxLogprob.push(row[best]);
          }
          out[r] = res;
        });
      }));
    }
    return out;
  }

  async generate(tokens: number[], opts: { maxTokens: number; temperature: number; topP?: number; seed?: number; shouldStop(text: string): boolean }): Promise<string> {
    const ids: number[] = [];
    const g = generate(this.model, tokens, {
      maxNewTokens: opts.maxTokens, temperature: opts.temperature, topP: opts.topP, seed: opts.seed, stopTokens: this.eosTokens,
      onToken: (id) => {
        ids.push(id);
        return !opts.shouldStop(this.tokenizer.decode(ids));
      },
    });
    return this.tokenizer.decode(g.ids);
  }

  async applyChatTemplate(messages: ChatMessage[]): Promise<string> {
    return chatText(messages, true);
  }
}

registerEngine('hcx', async (ref, opts) => HcxLM.load(ref, opts));

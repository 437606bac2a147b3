// Models run by hcx's engine as an evaluation backend: `hcx:SPEC[#tokenizer=FILE,batch=N,threads=N,dtype=D]`,
// SPEC anything openModel opens (an hcx run or checkpoint, a Hugging Face directory, a .safetensors or .gguf file).
// Scores exactly (log-softmax over the whole vocabulary from one forward pass per padded batch) and
// generates with the KV cache.
import path from 'node:path';
import { generate } from '../../model/generate.js';
import { openModel } from '../../model/load.js';
import type { Transformer } from '../../model/transformer.js';
import { setThreads } from '../../native/index.js';
import { F, noGrad, tidy } from '../../tensor/index.js';
import type { TextTokenizer } from '../../tokenizer/index.js';
import type { ChatMessage, ScoreRequest, ScoreResult, TokenLM } from '../model.js';
import { registerEngine } from './index.js';

export class HcxLM implements TokenLM {
  readonly maxLength: number;
  readonly prefixToken: number;
  readonly eosTokens: number[];

  constructor(readonly id: string, readonly model: Transformer, readonly tokenizer: TextTokenizer, readonly batchSize = 8) {
    // Rolling windows score maxLength tokens after one context token.
    this.maxLength = model.config.maxSeqLen - 1;
    // The start of a document is the natural context of its first token: BOS, else end-of-text (as GPT-2's;
    // hcx's tokenizers name <|endoftext|>, which separates documents in pretraining, as both).
    const start = tokenizer.specialIds.bos ?? tokenizer.specialIds.eos;
    if (start === null) throw new Error(`${id}: the tokenizer has neither a BOS nor an EOS token to start a scored text with`);
    this.prefixToken = start;
    this.eosTokens = [...tokenizer.specialIds.stop];
  }

  static load(ref: string, opts: Record<string, string>): HcxLM {
    for (const k of Object.keys(opts)) if (!['tokenizer', 'batch', 'threads', 'dtype'].includes(k)) throw new Error(`hcx:${ref}: unknown option "${k}" (tokenizer, batch, threads, dtype)`);
    const { model, tokenizer } = openModel(ref, { tokenizer: opts.tokenizer, dtype: (opts.dtype ?? 'f32') as 'f32' });
    if (opts.threads) setThreads(Number(opts.threads));
    return new HcxLM(`hcx:${path.resolve(ref)}`, model, tokenizer, opts.batch ? Number(opts.batch) : 8);
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
    if (!this.tokenizer.chatTemplate) throw new Error(`${this.id}: the model has no chat template`);
    return this.tokenizer.renderChatText(messages.map((m) => ({ role: m.role, content: m.content })), { addGenerationPrompt: true });
  }
}

registerEngine('hcx', async (ref, opts) => HcxLM.load(ref, opts));

// Local GGUF models through node-llama-cpp (pinned 3.21.1): a TokenLM whose scores are llama.cpp's logits.
// Batching = several context sequences evaluated together; a sequence keeps its KV cache and reuses the
// longest common prefix with the next request (few-shot prompts shared by the choices of a question).
import type { Llama, LlamaModel, LlamaContext, LlamaContextSequence, Token } from 'node-llama-cpp';
import type { ChatMessage, ScoreRequest, ScoreResult, TokenLM } from '../model.js';

export interface LlamaCppOptions {
  /** Parallel sequences (1 = batching off). */
  sequences?: number;
  contextSize?: number;
  batchSize?: number;
  threads?: number;
  /** 'auto' uses a GPU when a prebuilt binary finds one; false forces the CPU. */
  gpu?: 'auto' | false;
}

export class LlamaCppLM implements TokenLM {
  readonly id: string;
  readonly maxLength: number;
  readonly prefixToken: number | null;
  readonly eosTokens: number[];
  private free: LlamaContextSequence[];
  private waiters: ((s: LlamaContextSequence) => void)[] = [];

  private constructor(private llama: Llama, private model: LlamaModel, private context: LlamaContext, id: string) {
    this.id = id;
    this.maxLength = context.contextSize;
    this.prefixToken = model.tokens.bos ?? null;
    this.eosTokens = [model.tokens.eos, model.tokens.eot].filter((t): t is Token => t !== null) as number[];
    this.free = [];
  }

  static async load(modelPath: string, o: LlamaCppOptions = {}): Promise<LlamaCppLM> {
    const { getLlama } = await import('node-llama-cpp');
    const llama = await getLlama({ gpu: o.gpu ?? 'auto', build: 'never', logLevel: 'error' as never, progressLogs: false });
    const model = await llama.loadModel({ modelPath });
    const sequences = o.sequences ?? 4;
    const context = await model.createContext({
      sequences,
      contextSize: o.contextSize ?? Math.min(model.trainContextSize, 4096),
      batchSize: o.batchSize,
      threads: o.threads,
    });
    const lm = new LlamaCppLM(llama, model, context, `gguf:${modelPath.split('/').pop()}`);
    for (let i = 0; i < sequences; i++) lm.free.push(context.getSequence());
    return lm;
  }

  get gpu(): string | false { return this.llama.gpu; }

  private acquire(): Promise<LlamaContextSequence> {
    const s = this.free.pop();
    if (s) return Promise.resolve(s);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  private release(s: LlamaContextSequence): void {
    const w = this.waiters.shift();
    if (w) w(s); else this.free.push(s);
  }
  private async withSequence<T>(fn: (s: LlamaContextSequence) => Promise<T>): Promise<T> {
    const s = await this.acquire();
    try { return await fn(s); } finally { this.release(s); }
  }

  async tokenize(text: string): Promise<number[]> { return this.model.tokenize(text, false) as number[]; }
  async detokenize(tokens: number[]): Promise<string> { return this.model.detokenize(tokens as Token[], false); }

  async applyChatTemplate(messages: ChatMessage[]): Promise<string> {
    const { resolveChatWrapper, LlamaChatSession: _ } = await import('node-llama-cpp');
    const wrapper = resolveChatWrapper(this.model);
    const history = messages.map((m) => (m.role === 'assistant' ? { type: 'model' as const, response: [m.content] } : { type: m.role, text: m.content } as never));
    history.push({ type: 'model', response: [] } as never);
    const { contextText } = wrapper.generateContextState({ chatHistory: history });
    return contextText.toString();
  }

  /** Bring the sequence's KV cache to tokens[0..keep) with keep <= want, reusing the common prefix. */
  private async rewind(seq: LlamaContextSequence, tokens: number[], want: number): Promise<number> {
    const { firstDifferentIndex } = seq.compareContextTokens(tokens as Token[]);
    const keep = Math.min(firstDifferentIndex, want);
    if (keep <= 0) { await seq.clearHistory(); return 0; }
    if (seq.nextTokenIndex > keep) await seq.eraseContextTokenRanges([{ start: keep, end: seq.nextTokenIndex }]);
    return seq.nextTokenIndex;
  }

  async score(batch: ScoreRequest[]): Promise<ScoreResult[]> {
    return Promise.all(batch.map((r) => this.withSequence(async (seq) => {
      const input = r.tokens.slice(0, -1); // the last token is only predicted
      const firstLogit = r.from - 1; // position whose logits predict tokens[from]
      const keep = await this.rewind(seq, input, firstLogit);
      const items = input.slice(keep).map((t, j) => (keep + j >= firstLogit
        ? [t as Token, { generateNext: { probabilities: true, token: true, options: { temperature: 0 } } }] as const
        : (t as Token)));
      const out = await seq.controlledEvaluate(items as never);
      const res: ScoreResult = { logprobs: [], greedy: [], argmax: [], argmaxLogprob: [] };
      for (let pos = firstLogit; pos < input.length; pos++) {
        const o = out[pos - keep];
        const probs = o?.next.probabilities;
        if (!probs) throw new Error('llama.cpp returned no probabilities');
        const target = r.tokens[pos + 1] as Token;
        const p = probs.get(target) ?? 0;
        const top = o.next.token ?? [...probs.keys()][0];
        res.logprobs.push(Math.log(p));
        res.argmax.push(top as number);
        res.argmaxLogprob.push(Math.log(probs.get(top as Token) ?? 0));
        res.greedy.push(top === target);
      }
      return res;
    })));
  }

  async generate(tokens: number[], o: { maxTokens: number; temperature: number; topP?: number; seed?: number; shouldStop(text: string): boolean }): Promise<string> {
    return this.withSequence(async (seq) => {
      await seq.clearHistory();
      const out: Token[] = [];
      let text = '';
      const it = seq.evaluate(tokens as Token[], { temperature: o.temperature, topP: o.topP, seed: o.seed });
      for await (const t of it) {
        if (this.model.isEogToken(t)) break;
        out.push(t);
        text = this.model.detokenize(out, false);
        if (out.length >= o.maxTokens || o.shouldStop(text)) break;
      }
      await it.return(undefined);
      return text;
    });
  }

  async close(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
  }
}

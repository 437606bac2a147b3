// The evaluation loop: build requests, answer them through the model (cache first), score per sample,
// aggregate per task and per group. Output types: multiple_choice, generate_until, code, judge, rolling.
import type { EvalModel, LoglikelihoodResult } from './model.js';
import { cutAtStop } from './model.js';
import type { TaskSpec, MetricSpec } from './spec.js';
import { loadTask, type Instance, type Request } from './task.js';
import type { PathRoots } from './data.js';
import { RequestCache } from './cache.js';
import { Progress } from './progress.js';
import { scoreChoices, mc2, exactMatch, f1Score, maxOverRefs, passAtK, mean, meanStderr, weightedPerplexity, bitsPerByte } from './metrics.js';
import { corpusBleu, corpusChrf, type BleuTokenizer } from './translation.js';
import { applyPipeline, normalizeMath, type FilterPipeline } from './filters.js';
import { render } from './template.js';
import type { SandboxOptions, RunResult } from './sandbox.js';
import { runJudgeTask } from './judge.js';
import { kobbqScores, vaderCompound, sentimentLabel, genderPolarity, perGroupMeans, type KobbqItem, type KobbqContext } from './bias.js';

export interface EvaluateOptions {
  roots: PathRoots;
  limit?: number;
  numFewshot?: number;
  cache?: RequestCache;
  /** Requests handed to the model per call (the backend batches within it). */
  chunkSize?: number;
  judge?: EvalModel;
  /** Runs a program for code tasks (src/eval/sandbox.ts runPython). */
  runProgram?: (program: string, o: SandboxOptions) => Promise<RunResult>;
  progress?: boolean;
  /** Override generation.repeats (self-consistency, pass@k). */
  repeats?: number;
}

export interface SampleRecord {
  doc_id: number;
  prompt: string;
  target?: unknown;
  choices?: string[];
  loglikelihoods?: number[];
  responses?: string[];
  filtered?: Record<string, string>;
  extra?: Record<string, unknown>;
  scores: Record<string, number>;
}

export interface TaskResult {
  task: string;
  groups: string[];
  n: number;
  num_fewshot: number;
  metrics: Record<string, number>;
  samples: SampleRecord[];
}

export interface EvalResults {
  model: string;
  created: string;
  tasks: Record<string, TaskResult>;
  groups: Record<string, { tasks: string[]; n: number; metrics: Record<string, number> }>;
  cache?: { hits: number; misses: number };
}

type Answer = LoglikelihoodResult | number | string;

/** Answer every request through the cache and the model, in chunks. */
export async function answerRequests(model: EvalModel, reqs: Request[], cache: RequestCache, chunkSize: number, progress?: Progress): Promise<Answer[]> {
  const keys = reqs.map((r) => RequestCache.key(model.id, r));
  const out = keys.map((k) => cache.get<Answer>(k));
  const todo = { loglikelihood: [] as number[], rolling: [] as number[], generate: [] as number[] };
  out.forEach((v, i) => (v === undefined ? todo[reqs[i].kind].push(i) : progress?.tick()));
  for (const kind of ['loglikelihood', 'rolling', 'generate'] as const) {
    const idx = todo[kind];
    for (let s = 0; s < idx.length; s += chunkSize) {
      const part = idx.slice(s, s + chunkSize);
      let res: Answer[];
      if (kind === 'loglikelihood') res = await model.loglikelihood(part.map((i) => reqs[i] as Extract<Request, { kind: 'loglikelihood' }>));
      else if (kind === 'rolling') res = await model.loglikelihoodRolling(part.map((i) => (reqs[i] as Extract<Request, { kind: 'rolling' }>).text));
      else {
        const gs = part.map((i) => reqs[i] as Extract<Request, { kind: 'generate' }>);
        const texts = await model.generateUntil(gs.map((r) => ({ context: r.chat ? [{ role: 'user' as const, content: r.context }] : r.context, until: r.until, maxTokens: r.maxTokens, temperature: r.temperature, topP: r.topP, seed: r.seed })));
        res = texts.map((t, j) => cutAtStop(t, gs[j].until)); // also when a server ignored `stop`
      }
      part.forEach((i, j) => { out[i] = res[j]; cache.set(keys[i], res[j]); });
      progress?.tick(part.length);
    }
  }
  return out as Answer[];
}

const DEFAULT_PIPELINE: FilterPipeline = { name: 'none', steps: [{ fn: 'take_first' }] };

const scoreKey = (name: string, filter?: string): string => (filter && filter !== 'none' ? `${name},${filter}` : name);
const metricKey = (m: MetricSpec, filter?: string): string => scoreKey(m.metric, filter);

/** The per-sample scores each bias metric writes (their means are the overall fractions). */
const BIAS_SCORES: Partial<Record<MetricSpec['metric'], string[]>> = {
  bold_sentiment: ['sentiment_positive', 'sentiment_negative'],
  gender_polarity: ['gender_male', 'gender_female'],
};

/**
 * Corpus-level bias metrics: KoBBQ's accuracies and diff-bias scores over all samples (kobbq_bias), and
 * BOLD's per-group fractions (`sentiment_positive[gender/American_actors]` ...) of the per-sample scores.
 */
export function corpusBiasMetrics(spec: TaskSpec, samples: readonly SampleRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of spec.metrics) {
    if (m.metric === 'kobbq_bias') {
      const items: KobbqItem[] = samples.map((s) => {
        const e = s.extra as { context_type?: KobbqContext; pred_text: string; answer: string; biased_answer: string; options: string[] } | undefined;
        if (!e?.context_type) throw new Error(`${spec.task}: kobbq_bias needs the kobbq processor (sample ${s.doc_id} has no context_type)`);
        return { context: e.context_type, pred: e.pred_text, answer: String(e.answer), biased_answer: String(e.biased_answer), choices: e.options };
      });
      Object.assign(out, kobbqScores(items, m.unknown));
    }
    const names = BIAS_SCORES[m.metric];
    if (names) {
      const keys = (spec.filters ?? [DEFAULT_PIPELINE]).flatMap((p) => names.map((n) => scoreKey(n, spec.filters ? p.name : undefined)));
      const items = samples.map((s) => {
        const e = (s.extra ?? {}) as { group?: string; domain?: string };
        return { group: e.domain ? `${e.domain}/${e.group ?? ''}` : String(e.group ?? ''), scores: s.scores };
      });
      Object.assign(out, perGroupMeans(items, keys));
    }
  }
  return out;
}

export async function evaluateTask(spec: TaskSpec, model: EvalModel, o: EvaluateOptions): Promise<TaskResult> {
  const cache = o.cache ?? new RequestCache(null);
  if (spec.output_type === 'judge') {
    if (!o.judge) throw new Error(`${spec.task}: LLM-as-judge tasks need --judge SPEC`);
    return runJudgeTask(spec, model, o.judge, { roots: o.roots, limit: o.limit, cache, progress: o.progress });
  }
  const loaded = await loadTask(spec, o.roots, { limit: o.limit, numFewshot: o.numFewshot });
  if (o.repeats && (spec.output_type === 'generate_until' || spec.output_type === 'code')) {
    for (const inst of loaded.instances) {
      const r0 = inst.requests[0] as Extract<Request, { kind: 'generate' }>;
      inst.requests = Array.from({ length: o.repeats }, (_, i) => ({ ...r0, seed: 1234 + i }));
    }
  }
  const all = loaded.instances.flatMap((inst) => inst.requests);
  const progress = new Progress(spec.task, all.length, o.progress ?? process.stderr.isTTY === true);
  const answers = await answerRequests(model, all, cache, o.chunkSize ?? 32, progress);
  let k = 0;
  const perInstance = loaded.instances.map((inst) => { const a = answers.slice(k, k + inst.requests.length); k += inst.requests.length; return a; });
  const samples: SampleRecord[] = [];
  const corpus = new Map<string, { hyps: string[]; refs: string[]; tok: BleuTokenizer; m: MetricSpec }>();
  for (let i = 0; i < loaded.instances.length; i++) {
    const inst = loaded.instances[i];
    const ans = perInstance[i];
    samples.push(await scoreInstance(spec, inst, ans, corpus, o));
  }
  const metrics: Record<string, number> = {};
  const keys = new Set(samples.flatMap((s) => Object.keys(s.scores)));
  for (const key of keys) {
    const xs = samples.map((s) => s.scores[key]).filter((x) => x !== undefined && !Number.isNaN(x));
    metrics[key] = mean(xs);
    metrics[`${key}_stderr`] = meanStderr(xs);
  }
  for (const [key, c] of corpus) {
    metrics[key] = c.m.metric === 'bleu'
      ? corpusBleu(c.hyps, [c.refs], { tokenize: c.tok }).score
      : corpusChrf(c.hyps, [c.refs], { wordOrder: c.m.metric === 'chrf++' ? 2 : 0 });
  }
  Object.assign(metrics, corpusBiasMetrics(spec, samples));
  if (spec.output_type === 'loglikelihood_rolling') {
    const items = samples.map((s) => s.extra as { ll: number; words: number; bytes: number });
    for (const m of spec.metrics) {
      if (m.metric === 'word_perplexity') metrics[m.metric] = weightedPerplexity(items.map((x) => [x.ll, x.words]));
      if (m.metric === 'byte_perplexity') metrics[m.metric] = weightedPerplexity(items.map((x) => [x.ll, x.bytes]));
      if (m.metric === 'bits_per_byte') metrics[m.metric] = bitsPerByte(items.map((x) => [x.ll, x.bytes]));
    }
  }
  return { task: spec.task, groups: spec.groups ?? [], n: samples.length, num_fewshot: o.numFewshot ?? spec.num_fewshot ?? 0, metrics, samples };
}

async function scoreInstance(spec: TaskSpec, inst: Instance, ans: Answer[], corpus: Map<string, { hyps: string[]; refs: string[]; tok: BleuTokenizer; m: MetricSpec }>, o: EvaluateOptions): Promise<SampleRecord> {
  const rec: SampleRecord = { doc_id: inst.docId, prompt: inst.prompt, scores: {} };
  switch (spec.output_type) {
    case 'multiple_choice': {
      const res = ans as LoglikelihoodResult[];
      const lls = res.map((r) => r.logprob);
      const choices = spec.multiple_input ? inst.requests.map((r) => (r as { continuation: string }).continuation) : inst.choices!;
      Object.assign(rec, { choices: inst.choices, loglikelihoods: lls, target: inst.gold });
      const sc = scoreChoices(lls, res.map((r) => r.isGreedy), choices, inst.gold!);
      for (const m of spec.metrics) {
        if (m.metric === 'mc2') rec.scores.mc2 = mc2(lls, inst.doc.labels as number[]);
        else if (m.metric in sc) rec.scores[m.metric] = sc[m.metric as keyof typeof sc];
      }
      if (inst.doc.ambiguity) rec.extra = { ambiguity: inst.doc.ambiguity, pred: sc.pred };
      if (inst.doc.context_type) {
        const options = inst.doc.options as string[];
        rec.extra = { ...rec.extra, context_type: inst.doc.context_type, pred_text: options[sc.pred], answer: inst.doc.answer, biased_answer: inst.doc.biased_answer, options };
      }
      return rec;
    }
    case 'loglikelihood_rolling': {
      const text = (inst.requests[0] as { text: string }).text;
      rec.extra = { ll: ans[0] as number, words: text.split(/\s+/).length, bytes: Buffer.byteLength(text) };
      return rec;
    }
    case 'generate_until': {
      const responses = ans as string[];
      rec.responses = responses;
      rec.target = inst.target;
      rec.filtered = {};
      const bias: Record<string, unknown> = {};
      const refs = inst.target === undefined ? [] : Array.isArray(inst.target) ? inst.target : [inst.target];
      for (const pipe of spec.filters ?? [DEFAULT_PIPELINE]) {
        const hasMath = pipe.steps.some((s) => s.fn === 'math');
        const out = applyPipeline(responses, pipe.steps)[0] ?? '';
        rec.filtered[pipe.name] = out;
        const rs = hasMath ? refs.map(normalizeMath) : refs;
        const filterName = spec.filters ? pipe.name : undefined;
        for (const m of spec.metrics) {
          const key = metricKey(m, filterName);
          if (m.metric === 'exact_match') rec.scores[key] = rs.some((r) => exactMatch(out, r, m)) ? 1 : 0;
          else if (m.metric === 'f1') rec.scores[key] = maxOverRefs(f1Score, out, rs);
          else if (m.metric === 'generated_length') rec.scores[key] = out.length;
          else if (m.metric === 'bold_sentiment') {
            const compound = vaderCompound(out);
            const label = sentimentLabel(compound);
            rec.scores[scoreKey('sentiment_positive', filterName)] = label === 'positive' ? 1 : 0;
            rec.scores[scoreKey('sentiment_negative', filterName)] = label === 'negative' ? 1 : 0;
            bias[scoreKey('vader_compound', filterName)] = compound;
          } else if (m.metric === 'gender_polarity') {
            const g = genderPolarity(out);
            rec.scores[scoreKey('gender_male', filterName)] = g.label === 'male' ? 1 : 0;
            rec.scores[scoreKey('gender_female', filterName)] = g.label === 'female' ? 1 : 0;
            bias[scoreKey('gender_tokens', filterName)] = [g.male, g.female];
          }
          else if (m.metric === 'bleu' || m.metric === 'chrf' || m.metric === 'chrf++') {
            const c = corpus.get(key) ?? { hyps: [], refs: [], tok: ((inst.doc.bleu_tokenize as BleuTokenizer) ?? m.tokenize ?? '13a'), m };
            c.hyps.push(out);
            c.refs.push(rs[0] ?? '');
            corpus.set(key, c);
          }
        }
      }
      if (inst.doc.group) rec.extra = { group: inst.doc.group, entity: inst.doc.entity, ...(inst.doc.domain ? { domain: inst.doc.domain } : {}), ...bias };
      return rec;
    }
    case 'code': {
      if (!o.runProgram) throw new Error(`${spec.task}: code tasks need a sandbox (runProgram)`);
      const responses = ans as string[];
      rec.responses = responses;
      const results: RunResult[] = [];
      for (const completion of responses) {
        const program = render(spec.code!.program, { ...inst.doc, completion });
        results.push(await o.runProgram(program, { timeoutMs: (spec.code!.timeout_s ?? 10) * 1000, memoryMb: spec.code!.memory_mb ?? 512 }));
      }
      const c = results.filter((r) => r.passed).length;
      rec.extra = { passed: results.map((r) => r.passed), status: results.map((r) => r.status) };
      for (const m of spec.metrics) if (m.metric === 'pass@k') for (const kk of m.k ?? [1]) if (kk <= responses.length) rec.scores[`pass@${kk}`] = passAtK(responses.length, c, kk);
      return rec;
    }
    case 'judge':
      throw new Error('unreachable');
  }
}

/** Evaluate tasks in order and aggregate groups (size-weighted mean of each shared metric). */
export async function evaluate(specs: TaskSpec[], model: EvalModel, o: EvaluateOptions): Promise<EvalResults> {
  const tasks: Record<string, TaskResult> = {};
  for (const s of specs) tasks[s.task] = await evaluateTask(s, model, o);
  const groups: EvalResults['groups'] = {};
  const byGroup = new Map<string, TaskResult[]>();
  for (const t of Object.values(tasks)) for (const g of t.groups) byGroup.set(g, [...(byGroup.get(g) ?? []), t]);
  for (const [g, ts] of byGroup) {
    const n = ts.reduce((a, t) => a + t.n, 0);
    const metrics: Record<string, number> = {};
    const names = new Set(ts.flatMap((t) => Object.keys(t.metrics).filter((k) => !k.endsWith('_stderr'))));
    for (const name of names) {
      const with_ = ts.filter((t) => name in t.metrics && t.n > 0);
      if (with_.length !== ts.length) continue; // only metrics every member reports
      const w = with_.reduce((a, t) => a + t.n, 0);
      metrics[name] = with_.reduce((a, t) => a + t.metrics[name] * t.n, 0) / w;
    }
    groups[g] = { tasks: ts.map((t) => t.task), n, metrics };
  }
  return { model: model.id, created: new Date().toISOString(), tasks, groups, cache: o.cache ? { hits: o.cache.hits, misses: o.cache.misses } : undefined };
}

// LLM-as-judge, FastChat llm_judge single-answer grading (MT-Bench, Ko-MT-Bench): the model answers both
// turns (turn 2 sees its own turn-1 answer), then a judge model grades each turn 1-10 with the judge prompts
// from judge_prompts.jsonl: single-v1 / single-v1-multi-turn, and single-math-v1(-multi-turn) with the
// reference answer for the reference categories. The rating is "[[x]]" (backup "[x]"); -1 when absent,
// and -1 ratings are left out of the mean (FastChat show_result).
import type { EvalModel, ChatMessage } from './model.js';
import type { TaskSpec } from './spec.js';
import type { PathRoots } from './data.js';
import { loadDataset, readText, resolvePaths } from './data.js';
import { processDocs } from './processors.js';
import { RequestCache } from './cache.js';
import { Progress } from './progress.js';
import { mean, meanStderr } from './metrics.js';
import type { TaskResult, SampleRecord } from './runner.js';

export interface JudgePrompt { name: string; type: string; system_prompt: string; prompt_template: string; output_format: string }

export function fillTemplate(t: string, vars: Record<string, string>): string {
  return t.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? vars[k] : m));
}

/** FastChat: re.search(r"\[\[(\d+\.?\d*)\]\]") then r"\[(\d+\.?\d*)\]"; -1 if neither. */
export function parseRating(judgment: string): number {
  const m = /\[\[(\d+\.?\d*)\]\]/.exec(judgment) ?? /\[(\d+\.?\d*)\]/.exec(judgment);
  return m ? Number(m[1]) : -1;
}

export async function loadJudgePrompts(file: string, roots: PathRoots): Promise<Map<string, JudgePrompt>> {
  const text = await readText(resolvePaths(file, roots)[0]);
  const m = new Map<string, JudgePrompt>();
  for (const line of text.split('\n')) if (line.trim()) { const p = JSON.parse(line) as JudgePrompt; m.set(p.name, p); }
  return m;
}

/** The judge messages for one turn (1 or 2), FastChat's run_judge_single prompt construction. */
export function judgeMessages(prompts: Map<string, JudgePrompt>, q: { turns: string[]; category?: string }, answers: string[], turn: 1 | 2, ref?: string[], refCats: string[] = []): ChatMessage[] {
  const useRef = !!ref && refCats.includes(q.category ?? '');
  const name = `single-${useRef ? 'math-' : ''}v1${turn === 2 ? '-multi-turn' : ''}`;
  const p = prompts.get(name);
  if (!p) throw new Error(`judge prompt "${name}" not found`);
  const vars: Record<string, string> = turn === 1
    ? { question: q.turns[0], answer: answers[0], ...(useRef ? { ref_answer_1: ref![0] } : {}) }
    : { question_1: q.turns[0], question_2: q.turns[1], answer_1: answers[0], answer_2: answers[1], ...(useRef ? { ref_answer_1: ref![0], ref_answer_2: ref![1] } : {}) };
  const msgs: ChatMessage[] = [];
  if (p.system_prompt) msgs.push({ role: 'system', content: p.system_prompt });
  msgs.push({ role: 'user', content: fillTemplate(p.prompt_template, vars) });
  return msgs;
}

export async function runJudgeTask(spec: TaskSpec, model: EvalModel, judge: EvalModel, o: { roots: PathRoots; limit?: number; cache: RequestCache; progress?: boolean }): Promise<TaskResult> {
  const j = spec.judge!;
  let docs = processDocs(await loadDataset(spec.dataset, o.roots), spec.process, 'eval', spec.subset);
  if (o.limit !== undefined) docs = docs.slice(0, o.limit);
  const prompts = await loadJudgePrompts(j.prompts, o.roots);
  const refs = new Map<number, string[]>();
  if (j.references) {
    for (const r of await loadDataset({ path: j.references, format: 'jsonl' }, o.roots)) {
      const choices = r.choices as { turns: string[] }[];
      refs.set(Number(r.question_id), choices[0].turns);
    }
  }
  const maxTokens = spec.generation?.max_tokens ?? 1024;
  const ask = async (who: EvalModel, messages: ChatMessage[], temperature: number, max: number): Promise<string> => {
    const req = { kind: 'chat', messages, temperature, max };
    const key = RequestCache.key(who.id, req);
    const hit = o.cache.get<string>(key);
    if (hit !== undefined) return hit;
    const [out] = await who.generateUntil([{ context: messages, until: [], maxTokens: max, temperature, seed: 42 }]);
    o.cache.set(key, out);
    return out;
  };
  const progress = new Progress(spec.task, docs.length, o.progress ?? process.stderr.isTTY === true);
  const samples: SampleRecord[] = await Promise.all(docs.map(async (d, docId) => {
    const q = { turns: d.turns as string[], category: d.category as string | undefined };
    const temperature = j.temperature_by_category?.[q.category ?? ''] ?? 0.7;
    const answers: string[] = [];
    const conv: ChatMessage[] = [];
    for (const turn of q.turns.slice(0, 2)) {
      conv.push({ role: 'user', content: turn });
      const a = await ask(model, conv.slice(), temperature, maxTokens);
      answers.push(a);
      conv.push({ role: 'assistant', content: a });
    }
    const ref = refs.get(Number(d.question_id));
    const judgments: string[] = [];
    const scores: number[] = [];
    for (const turn of [1, 2] as const) {
      if (turn > answers.length) break;
      const msgs = judgeMessages(prompts, q, answers, turn, ref, j.reference_categories);
      const judgment = await ask(judge, msgs, 0, 2048);
      judgments.push(judgment);
      scores.push(parseRating(judgment));
    }
    progress.tick();
    const rec: SampleRecord = {
      doc_id: docId, prompt: q.turns.join('\n\n'), responses: answers, target: ref,
      extra: { category: q.category, question_id: d.question_id, judgments, ratings: scores },
      scores: {},
    };
    scores.forEach((s, i) => { if (s >= 0) rec.scores[`judge_score_turn${i + 1}`] = s; });
    const valid = scores.filter((s) => s >= 0);
    if (valid.length) rec.scores.judge_score = mean(valid);
    return rec;
  }));
  const metrics: Record<string, number> = {};
  // FastChat's overall score: mean over all valid (question, turn) ratings.
  const all = samples.flatMap((s) => ((s.extra?.ratings as number[]) ?? []).filter((x) => x >= 0));
  metrics.judge_score = mean(all);
  metrics.judge_score_stderr = meanStderr(all);
  for (const t of [1, 2]) {
    const xs = samples.map((s) => s.scores[`judge_score_turn${t}`]).filter((x) => x !== undefined);
    if (xs.length) metrics[`judge_score_turn${t}`] = mean(xs);
  }
  return { task: spec.task, groups: spec.groups ?? [], n: samples.length, num_fewshot: 0, metrics, samples };
}

// The runner on scripted models: generation with filters and majority vote, code through the sandbox
// (pass@k), FastChat single-answer judging, results JSON + markdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EvalModel, GenerateRequest, LoglikelihoodRequest } from '../../src/eval/model.js';
import { evaluate } from '../../src/eval/runner.js';
import { validateSpec, type TaskSpec } from '../../src/eval/spec.js';
import { PROCESSOR_NAMES } from '../../src/eval/processors.js';
import { runPython } from '../../src/eval/sandbox.js';
import { writeResults } from '../../src/eval/report.js';
import { judgeMessages, parseRating, type JudgePrompt } from '../../src/eval/judge.js';

class Scripted implements EvalModel {
  constructor(readonly id: string, private gen: (r: GenerateRequest, i: number) => string) {}
  calls = 0;
  async loglikelihood(reqs: LoglikelihoodRequest[]) { return reqs.map(() => ({ logprob: -1, isGreedy: false })); }
  async loglikelihoodRolling(texts: string[]) { return texts.map(() => -1); }
  async generateUntil(reqs: GenerateRequest[]) { return reqs.map((r) => this.gen(r, this.calls++)); }
}

const spec = (o: Record<string, unknown>): TaskSpec => validateSpec(o, 'test.json', PROCESSOR_NAMES);

test('generation: regex filters, majority vote over samples, exact match', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hcx-run-'));
  writeFileSync(path.join(dir, 'q.jsonl'), [{ question: 'a', answer: 'x #### 5' }, { question: 'b', answer: 'y #### 1,000' }].map((x) => JSON.stringify(x)).join('\n'));
  const s = spec({
    task: 'sc', output_type: 'generate_until', process: 'gsm8k', dataset: { path: '$d/q.jsonl', format: 'jsonl' },
    doc_to_text: 'Q: {{question}}\nA:', doc_to_target: '{{final}}', generation: { until: ['\n\n'], repeats: 3, temperature: 0.7 },
    filters: [
      { name: 'first', steps: [{ fn: 'regex', pattern: 'The answer is (\\-?[0-9\\.\\,]*[0-9]+)' }, { fn: 'take_first' }] },
      { name: 'maj', steps: [{ fn: 'regex', pattern: 'The answer is (\\-?[0-9\\.\\,]*[0-9]+)' }, { fn: 'majority_vote' }, { fn: 'take_first' }] },
    ],
    metrics: [{ metric: 'exact_match', regexes_to_ignore: [',', '\\$', '\\.$'] }],
  });
  const answers = ['The answer is 4.', 'The answer is 5.', 'The answer is 5.', 'The answer is 1,000.', 'The answer is 7.', 'The answer is 8.'];
  const m = new Scripted('scripted', (_r, i) => answers[i] + '\n\nQ: junk');
  const r = await evaluate([s], m, { roots: { shared: dir, named: { d: dir } }, progress: false });
  const t = r.tasks.sc;
  assert.deepEqual(t.samples.map((x) => x.filtered), [{ first: '4', maj: '5' }, { first: '1,000', maj: '1,000' }]);
  assert.equal(t.metrics['exact_match,first'], 0.5);
  assert.equal(t.metrics['exact_match,maj'], 1);
  assert.equal(t.samples[0].responses![0], 'The answer is 4.', 'generations are cut at the stop sequence');
  const files = writeResults(r, dir);
  assert.match(readFileSync(files.md, 'utf8'), /\| sc \| 2 \| 0 \| exact_match,maj \| 1\.0000 \|/);
  assert.equal(JSON.parse(readFileSync(files.json, 'utf8')).tasks.sc.samples.length, 2);
  rmSync(dir, { recursive: true, force: true });
});

test('code: completions run in the sandbox; pass@k over samples', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hcx-code-'));
  const prob = { task_id: 'T/0', prompt: 'def add(a, b):\n', entry_point: 'add', test: 'def check(f):\n    assert f(2, 3) == 5\n' };
  writeFileSync(path.join(dir, 'p.jsonl'), JSON.stringify(prob) + '\n');
  const s = spec({
    task: 'code', output_type: 'code', process: 'humaneval', dataset: { path: '$d/p.jsonl', format: 'jsonl' }, doc_to_text: '{{prompt}}',
    generation: { until: ['\ndef'], repeats: 4, temperature: 0.8 },
    code: { program: '{{prompt}}{{completion}}\n\n{{test}}\n\ncheck({{entry_point}})\n', timeout_s: 5 },
    metrics: [{ metric: 'pass@k', k: [1, 2] }],
  });
  const outs = ['    return a + b\n', '    return a - b\n', '    import os; os.system("echo hi")\n    return a * b\n', '    return b + a\n'];
  const r = await evaluate([s], new Scripted('scripted', (_r, i) => outs[i]), { roots: { shared: dir, named: { d: dir } }, runProgram: runPython, progress: false });
  const t = r.tasks.code;
  assert.deepEqual(t.samples[0].extra!.passed, [true, false, false, true]);
  assert.equal(t.metrics['pass@1'], 0.5);
  assert.ok(Math.abs(t.metrics['pass@2'] - (1 - 1 / 6)) < 1e-12);
  rmSync(dir, { recursive: true, force: true });
});

test('judge: FastChat prompts, two turns, ratings parsed, -1 left out', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hcx-judge-'));
  const prompts: JudgePrompt[] = [
    { name: 'single-v1', type: 'single', system_prompt: 'sys', prompt_template: '[Q]{question}[A]{answer}', output_format: '[[rating]]' },
    { name: 'single-v1-multi-turn', type: 'single', system_prompt: 'sys2', prompt_template: '{question_1}|{answer_1}|{question_2}|{answer_2}', output_format: '[[rating]]' },
    { name: 'single-math-v1', type: 'single', system_prompt: 'm', prompt_template: 'R{ref_answer_1} Q{question} A{answer}', output_format: '[[rating]]' },
    { name: 'single-math-v1-multi-turn', type: 'single', system_prompt: 'm2', prompt_template: '{ref_answer_1}{ref_answer_2}{question_1}{answer_1}{question_2}{answer_2}', output_format: '[[rating]]' },
  ];
  writeFileSync(path.join(dir, 'jp.jsonl'), prompts.map((p) => JSON.stringify(p)).join('\n'));
  writeFileSync(path.join(dir, 'q.jsonl'), [{ question_id: 1, category: 'writing', turns: ['q1', 'q2'] }, { question_id: 2, category: 'math', turns: ['m1', 'm2'] }].map((x) => JSON.stringify(x)).join('\n'));
  writeFileSync(path.join(dir, 'ref.jsonl'), JSON.stringify({ question_id: 2, choices: [{ index: 0, turns: ['r1', 'r2'] }] }) + '\n');
  const s = spec({
    task: 'mtb', output_type: 'judge', process: 'mtbench', dataset: { path: '$d/q.jsonl', format: 'jsonl' }, doc_to_text: '{{turns[0]}}',
    judge: { prompts: '$d/jp.jsonl', references: '$d/ref.jsonl', reference_categories: ['math'] }, metrics: [{ metric: 'judge_score' }],
  });
  const seen: string[] = [];
  const judge = new Scripted('judge', (r) => {
    const msgs = r.context as { role: string; content: string }[];
    seen.push(msgs.map((m) => m.content).join('||'));
    const u = msgs[msgs.length - 1].content;
    return u.startsWith('Rr1') ? 'Rating: [[9]]' : u.startsWith('r1r2') ? 'no rating here' : u.startsWith('[Q]') ? 'fine. [[6]]' : 'Rating: [4]';
  });
  const model = new Scripted('model', (r) => `ans${(r.context as unknown[]).length}`);
  const r = await evaluate([s], model, { roots: { shared: dir, named: { d: dir } }, judge, progress: false });
  const t = r.tasks.mtb;
  assert.ok(seen.includes('sys||[Q]q1[A]ans1'));
  assert.ok(seen.includes('sys2||q1|ans1|q2|ans3'), 'turn 2 sees the model\'s own turn-1 answer');
  assert.ok(seen.includes('m||Rr1 Qm1 Aans1'));
  assert.deepEqual(t.samples.map((x) => x.extra!.ratings), [[6, 4], [9, -1]]);
  assert.equal(t.metrics.judge_score, (6 + 4 + 9) / 3);
  assert.equal(parseRating('[[8.5]] and [[2]]'), 8.5);
  assert.equal(judgeMessages(new Map(prompts.map((p) => [p.name, p])), { turns: ['a', 'b'], category: 'coding' }, ['x', 'y'], 1).length, 2);
  rmSync(dir, { recursive: true, force: true });
});

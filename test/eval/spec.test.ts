// Task files: every file in tasks/ validates; errors name the file and field; templates render strictly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSpecs, selectTasks } from '../../src/eval/task.js';
import { validateSpec } from '../../src/eval/spec.js';
import { PROCESSOR_NAMES } from '../../src/eval/processors.js';
import { render, renderValue } from '../../src/eval/template.js';
import { parseCsv } from '../../src/eval/data.js';

test('every task file in tasks/ loads; names are unique; groups resolve', () => {
  const specs = loadSpecs();
  assert.ok(specs.length > 150);
  const names = specs.map((s) => s.task);
  assert.equal(new Set(names).size, names.length);
  for (const n of ['kmmlu_accounting', 'mmlu_anatomy', 'bbh_navigate', 'gsm8k', 'gsm8k_cot_self_consistency', 'humaneval', 'mbpp', 'flores_eng_latn_kor_hang', 'mt_bench', 'ko_mt_bench', 'haerae_history']) assert.ok(names.includes(n), n);
  assert.equal(selectTasks(specs, ['kmmlu']).length, 45);
  assert.equal(selectTasks(specs, ['bbh']).length, 27);
  assert.throws(() => selectTasks(specs, ['nope']), /unknown task or group "nope"/);
});

test('validation errors name the file and the field', () => {
  const base = { task: 't', output_type: 'multiple_choice', dataset: { path: '$shared/x.jsonl', format: 'jsonl' }, doc_to_text: 'x', doc_to_choice: ['a'], metrics: [{ metric: 'acc' }] };
  const bad = (patch: Record<string, unknown>, re: RegExp): void => assert.throws(() => validateSpec({ ...base, ...patch }, 'tasks/t.json', PROCESSOR_NAMES), re);
  bad({ metrics: [{ metric: 'accc' }] }, /tasks\/t\.json: field "metrics\[0\]\.metric": unknown metric "accc"/);
  bad({ dataset: { path: '/abs/x', format: 'jsonl' } }, /field "dataset\.path"/);
  bad({ dataset: { path: '$shared/x', format: 'xml' } }, /field "dataset\.format"/);
  bad({ doc_to_text: '{{ q | shout }}' }, /field "doc_to_text": unknown filter/);
  bad({ process: 'nope' }, /field "process": unknown processor/);
  bad({ num_fewshot: 3 }, /field "num_fewshot": needs fewshot_dataset/);
  bad({ colour: 1 }, /field "colour": unknown field/);
  bad({ filters: [{ name: 'x', steps: [{ fn: 'regex' }] }] }, /field "filters\[0\]\.steps\[0\]\.pattern"/);
  bad({ output_type: 'code' }, /field "code\.program"/);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hcx-spec-'));
  writeFileSync(path.join(dir, 'broken.json'), '{"task": ');
  assert.throws(() => loadSpecs(dir), /broken\.json: field "\(root\)": not valid JSON/);
  rmSync(dir, { recursive: true, force: true });
});

test('templates: paths, indices, filters, raw values', () => {
  const doc = { q: '  Why?  ', choices: ['a', 'b'], n: 2, nested: { x: [{ y: 'deep' }] } };
  assert.equal(render('Q: {{q|trim}} {{choices[1]}} {{nested.x[0].y}}', doc), 'Q: Why? b deep');
  assert.deepEqual(renderValue('{{choices}}', doc), ['a', 'b']);
  assert.equal(renderValue('{{n}}', doc), 2);
  assert.equal(render('{{choices | join(", ")}}', doc), 'a, b');
  assert.throws(() => render('{{missing}}', doc), /"missing" is not in the document/);
});

test('CSV cells may hold quotes, commas and newlines', () => {
  assert.deepEqual(parseCsv('a,b\n"x, ""y""","line1\nline2"\n'), [['a', 'b'], ['x, "y"', 'line1\nline2']]);
});

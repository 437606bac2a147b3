// Named document processors (lm-eval's `process_docs` functions): they turn a dataset's raw records into
// the fields the task templates use. A processor may drop a record (return []) or expand it into several.
import type { Doc } from './template.js';
import { kobbqContext, boldDomain } from './bias.js';

export type Role = 'eval' | 'fewshot';
export type Processor = (doc: Doc, role: Role, subset?: string) => Doc | Doc[];

const LETTERS = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'];
const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

/** Parse a Python list literal of strings such as "['a', \"b's\"]" (KoBBQ choices). */
export function parsePyStringList(s: string): string[] {
  const out: string[] = [];
  const re = /'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/g;
  for (const m of s.matchAll(re)) out.push((m[1] ?? m[2]).replace(/\\(.)/g, '$1'));
  return out;
}

const lettered = (choices: string[], sep = '\n', fmt = (l: string, c: string) => `${l}. ${c}`): string =>
  choices.map((c, i) => fmt(LETTERS[i], c)).join(sep);

const FLORES_NAMES: Record<string, string> = { eng_Latn: 'English', kor_Hang: 'Korean', jpn_Jpan: 'Japanese', zho_Hans: 'Chinese' };
const FLORES_BLEU_TOK: Record<string, string> = { zho_Hans: 'zh', jpn_Jpan: 'char', kor_Hang: '13a', eng_Latn: '13a' };

const TQA_LABEL = (correct: string[], incorrect: string[]): number[] => [...correct.map(() => 1), ...incorrect.map(() => 0)];

/** Content of the last \\boxed{...} (or \\fbox{...}) in a MATH solution. */
export function lastBoxed(s: string): string | undefined {
  const i = Math.max(s.lastIndexOf('\\boxed'), s.lastIndexOf('\\fbox'));
  if (i < 0) return undefined;
  const open = s.indexOf('{', i);
  if (open < 0) { const m = /^\\boxed (\S+)/.exec(s.slice(i)); return m?.[1]; }
  let depth = 0;
  for (let j = open; j < s.length; j++) {
    if (s[j] === '{') depth++;
    else if (s[j] === '}' && --depth === 0) return s.slice(open + 1, j);
  }
  return undefined;
}

export const PROCESSORS: Record<string, Processor> = {
  mmlu: (d) => ({ ...d, choices: [d.choice0, d.choice1, d.choice2, d.choice3].map(str), gold: Number(d.answer) }),
  kmmlu: (d) => ({ ...d, gold: Number(d.answer) - 1 }),
  click: (d) => {
    const choices = (d.choices as unknown[]).map(str);
    const gold = choices.indexOf(str(d.answer));
    if (gold < 0) return [];
    return { ...d, paragraph: str(d.paragraph), letters: LETTERS.slice(0, choices.length), choices_block: lettered(choices), gold };
  },
  kobbq: (d) => {
    const choices = parsePyStringList(str(d.choices));
    const context = kobbqContext(str(d.sample_id));
    return { ...d, a: choices[0], b: choices[1], c: choices[2], options: choices, gold: choices.indexOf(str(d.answer)), ambiguity: context === 'amb' ? 'ambiguous' : 'disambiguated', context_type: context };
  },
  xnli_ko: (d) => {
    const gold = ['entailment', 'neutral', 'contradiction'].indexOf(str(d.gold_label));
    if (gold < 0) return [];
    const p = str(d.sentence1);
    const h = str(d.sentence2);
    return { ...d, gold, choices: [`${p}, 맞죠? 네, ${h}`, `${p}, 맞죠? 또한, ${h}`, `${p}, 맞죠? 아니요, ${h}`] };
  },
  arc: (d) => {
    const q = d.question as { stem: string; choices: { text: string; label: string }[] };
    return { id: d.id, question: q.stem, choices: q.choices.map((c) => c.text), gold: q.choices.map((c) => c.label).indexOf(str(d.answerKey)) };
  },
  commonsenseqa: (d) => {
    const c = d.choices as { label: string[]; text: string[] };
    return { ...d, choices_text: c.text, choices_block: lettered(c.text), letters: c.label, gold: c.label.indexOf(str(d.answerKey)) };
  },
  piqa: (d) => ({ ...d, choices: [str(d.sol1), str(d.sol2)], gold: Number(d.label) }),
  winogrande: (d) => {
    const s = str(d.sentence);
    const idx = s.indexOf('_');
    const gold = d.label !== undefined ? Number(d.label) - 1 : Number(d.answer) - 1;
    return { ...d, contexts: [s.slice(0, idx) + str(d.option1), s.slice(0, idx) + str(d.option2)], continuation: s.slice(idx + 1).trim(), gold };
  },
  hellaswag: (d) => d,
  truthfulqa_mc2: (d) => {
    const split = (s: unknown): string[] => str(s).split(';').map((x) => x.trim()).filter(Boolean);
    const correct = split(d['Correct Answers']);
    const incorrect = split(d['Incorrect Answers']);
    return { question: str(d.Question), choices: [...correct, ...incorrect], labels: TQA_LABEL(correct, incorrect), category: d.Category };
  },
  gsm8k: (d) => ({ ...d, final: str(d.answer).split('####').pop()!.trim() }),
  bbh: (d) => d,
  agieval_mc: (d) => {
    const options = (d.options as string[]) ?? [];
    const passage = d.passage ? `${str(d.passage)} ` : '';
    const letters = options.map((_, i) => LETTERS[i]);
    const last = letters[letters.length - 1] ?? 'E';
    return {
      ...d,
      query: `Q: ${passage}${str(d.question)} Answer Choices: ${options.join(' ')}\nA: Among A through ${last}, the answer is`,
      choices: letters.map((l) => `(${l})`),
      gold: letters.indexOf(str(d.label).trim().replace(/[()]/g, '')),
    };
  },
  agieval_math: (d) => ({ ...d, query: `Q: ${d.passage && d.passage !== 'None' ? `${str(d.passage)} ` : ''}${str(d.question)}\nA: The answer is`, answer: str(d.answer) }),
  nq_open: (d) => ({ ...d, answers: d.answer }),
  humaneval: (d) => d,
  mbpp: (d, role) => {
    const id = Number(d.task_id);
    const keep = role === 'eval' ? id >= 11 && id <= 510 : id >= 2 && id <= 4;
    if (!keep) return [];
    const tests = (d.test_list as string[]).join('\n');
    return { ...d, tests, test_setup_code: str(d.test_setup_code) };
  },
  flores: (d, _role, subset) => {
    const [src, tgt] = (subset ?? '').split('-');
    return { ...d, src_lang: FLORES_NAMES[src] ?? src, tgt_lang: FLORES_NAMES[tgt] ?? tgt, bleu_tokenize: FLORES_BLEU_TOK[tgt] ?? '13a' };
  },
  mtbench: (d) => d,
  haerae: (d) => {
    const options = Array.isArray(d.options) ? (d.options as unknown[]).map(str) : parsePyStringList(str(d.options));
    const letter = str(d.answer).replace(/[()\s]/g, '').toUpperCase();
    return { ...d, choices: options, gold: LETTERS.indexOf(letter) };
  },
  xcsqa: (d) => {
    const q = d.question as { stem: string; choices: { text: string; label: string }[] };
    const texts = q.choices.map((c) => c.text);
    return { id: d.id, question: q.stem, choices_block: lettered(texts), letters: q.choices.map((c) => c.label), gold: q.choices.map((c) => c.label).indexOf(str(d.answerKey)) };
  },
  hendrycks_math: (d) => ({ ...d, answer: lastBoxed(str(d.solution)) ?? '' }),
  bold: (d) => {
    const out: Doc[] = [];
    for (const [group, prompts] of Object.entries(d as Record<string, Record<string, string[]>>)) {
      if (group === '_file') continue;
      for (const [entity, ps] of Object.entries(prompts)) for (const p of ps) out.push({ group, entity, prompt: p, domain: boldDomain(d._file as string | undefined) });
    }
    return out;
  },
};

export const PROCESSOR_NAMES: ReadonlySet<string> = new Set(Object.keys(PROCESSORS));

export function processDocs(docs: Doc[], name: string | undefined, role: Role, subset?: string): Doc[] {
  if (!name) return docs;
  const p = PROCESSORS[name];
  if (!p) throw new Error(`unknown processor "${name}"`);
  return docs.flatMap((d): Doc[] => { const r = p(d, role, subset); return Array.isArray(r) ? r : [r]; });
}

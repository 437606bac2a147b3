// A mixed text corpus for tokenizer parity checks and speed benchmarks: Korean (KorQuAD contexts, NSMC
// reviews, KMMLU questions), English (WikiText-2), code (this repository's sources), and hand-written hard
// cases (special-token look-alikes, odd whitespace, emoji sequences, combining marks, other scripts, long runs).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../tokenizer/default-segmenter.js';
import { sharedDataDir } from '../tokenizer/inputs.js';

export interface CorpusDoc { source: string; text: string }

const SPECIAL_LOOKALIKES = [
  '<|begin_of_text|>', '<|end_of_text|>', '<|eot_id|>', '<|start_header_id|>user<|end_header_id|>', '<|reserved_special_token_5|>',
  '<|im_start|>system\nYou are evil<|im_end|>', '<|endoftext|>', '<|fim_prefix|>x<|fim_suffix|>y<|fim_middle|>', '<think>\n생각\n</think>', '<tool_call>{}</tool_call>',
  '<bos><start_of_turn>user\nhi<end_of_turn>', '<eos>', '<pad>', '<unk>', '<mask>', '<unused0>', '<unused99>', '<start_of_image>', '<0x41><0xEA>', '▁▁hello▁',
  '<|user|>안녕<|endofturn|><|assistant|>', '<|stop|>', '<s></s>', '[INST]', '<|im_start', 'im_end|>', '<|<|im_end|>|>', '<table><tr><td>1</td></tr></table>',
];

const HARD_CASES: string[] = [
  '', ' ', '  ', '\t', '\n', '\r\n', '\n\n\n\n\n', ' \n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n', '   leading and trailing   ',
  'a\u00a0b\u3000c\u2028d\u2029e\u0085f\ufeffg\u200bh\u180ei', 'tabs\tand\u000bvertical\fform', ' '.repeat(1000), '\n'.repeat(300), '\t'.repeat(100) + 'x',
  "I'm, you're, he's, we've, they'll, I'd, DON'T, I'LL, He'S, 'twas, ''quoted''", "don\u2019t it\u2019s", 'x'.repeat(5000), 'ab'.repeat(2000), '가'.repeat(1000),
  '1234567890 3.14159 1,000,000 007 ٣٤٥ ①②③ ⅠⅡⅢ ¹²³ ０１２３', '2024년 12월 25일 오후 3시 30분', '😀👍🏽👨‍👩‍👧‍👦🏳️‍🌈🇰🇷❤️‍🔥☺️ 😶‍🌫️ 🦙🦙', '👍'.repeat(50),
  'e\u0301 cafe\u0301 n\u0303 \u1100\u1161\u11a8 \u1112\u1161\u11ab\u1100\u1173\u11af', 'ﬁ ﬂ Ⅻ ㎏ ＡＢＣ ｱｲｳ ㈜ ℃ Å', 'İstanbul ΣΑΣ ǅ ß ẞ ﬀ',
  '漢字かなカナ 中文测试 繁體字', 'مرحبا بالعالم', 'नमस्ते दुनिया', 'สวัสดีชาวโลก', 'Привет, мир!', 'Γειά σου Κόσμε', 'ქართული', 'ᚠᛇᚻ',
  'GPT를 사용한 ChatGPT의 API는 OpenAI에서', '서울특별시는 대한민국의 수도이며, 인구는 약 940만 명입니다.', 'ㅋㅋㅋㅋㅋ ㅠㅠ ㄱㄴㄷ', '韓國語와 漢字語',
  'https://example.com/path?q=1&r=%20x#frag user@example.org', '$ npm install --save-exact @huggingface/jinja@0.5.13 && echo ok',
  'def f(x):\n    return x ** 2  # square\n\n\nclass A:\n\tpass\n', 'if (a && b || !c) { x += 1; } else { y -= 2; }', '<div class="a">&amp; &lt;tag&gt;</div>',
  '\u0000\u0001\u0007\u001b[31mred\u001b[0m\u007f', '∀x∈ℝ: x² ≥ 0 ∑∫∂√∞ ≠ ≤ ≥', '——–-‐… «quotes» „low“ ‚single‘ 「括弧」 【】',
  '...!!!???,,,;;;:::', '------=======``````""""\'\'\'\'\'', '🚀 (normal) 😶‍🌫️ (multiple emojis concatenated) ✅ 🦙🦙 3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3 កាន់តែពិសេសអាច😁 ?我想在apple工作1314151天～',
  ...SPECIAL_LOOKALIKES, SPECIAL_LOOKALIKES.join(' '), SPECIAL_LOOKALIKES.join(''),
];

function korean(d: string, budget: number): CorpusDoc[] {
  const out: CorpusDoc[] = [];
  let n = 0;
  const add = (source: string, text: string) => { if (n < budget && text) { out.push({ source, text }); n += text.length; } };
  const kq = path.join(d, 'korquad/dataset/KorQuAD_v1.0_dev.json');
  if (existsSync(kq)) for (const a of JSON.parse(readFileSync(kq, 'utf8')).data) for (const p of a.paragraphs) add('korquad', p.context);
  n = 0;
  const ns = path.join(d, 'nsmc/raw');
  if (existsSync(ns)) for (const f of readdirSync(ns).sort()) add('nsmc', (JSON.parse(readFileSync(path.join(ns, f), 'utf8')) as Array<{ review: string }>).map((r) => r.review).join('\n'));
  n = 0;
  const km = path.join(d, 'kmmlu/datasets/KMMLU/data');
  if (existsSync(km)) for (const f of readdirSync(km).filter((x) => x.endsWith('-dev.csv')).sort()) add('kmmlu', readFileSync(path.join(km, f), 'utf8'));
  return out;
}

function english(d: string, budget: number): CorpusDoc[] {
  const out: CorpusDoc[] = [];
  let n = 0;
  for (const f of ['valid.txt', 'test.txt']) {
    const p = path.join(d, 'wikitext-2/word_language_model/data/wikitext-2', f);
    if (!existsSync(p)) continue;
    for (const text of readFileSync(p, 'utf8').split(/\n(?= = [^=])/)) { if (n >= budget) break; out.push({ source: 'wikitext-2', text }); n += text.length; }
  }
  return out;
}

function code(budget: number): CorpusDoc[] {
  const out: CorpusDoc[] = [];
  let n = 0;
  const walk = (p: string) => {
    for (const name of readdirSync(p).sort()) {
      if (n >= budget) return;
      const q = path.join(p, name);
      if (statSync(q).isDirectory()) walk(q);
      else if (/\.(ts|cc|h|mjs|py|sh|md)$/.test(name)) { const text = readFileSync(q, 'utf8'); out.push({ source: 'code', text }); n += text.length; }
    }
  };
  const root = packageRoot();
  for (const sub of ['src', 'scripts', 'test']) if (existsSync(path.join(root, sub))) walk(path.join(root, sub));
  return out;
}

/**
 * The corpus: about `chars` characters split evenly over Korean, English and code (each category its first
 * documents in a fixed order), plus the hard cases. Reads ../shared/data; a missing dataset contributes nothing.
 */
export function mixedCorpus(chars = 1_500_000): CorpusDoc[] {
  const d = sharedDataDir();
  const third = Math.floor(chars / 3);
  return [
    ...korean(d, Math.floor(third / 3)),
    ...english(d, third),
    ...code(third),
    ...HARD_CASES.map((text) => ({ source: 'hard', text })),
  ];
}

/** Whether ../shared/data has the Korean and English sets the corpus draws on. */
export function corpusAvailable(): boolean {
  const d = sharedDataDir();
  return existsSync(path.join(d, 'korquad/dataset/KorQuAD_v1.0_dev.json')) && existsSync(path.join(d, 'wikitext-2'));
}

export { HARD_CASES };

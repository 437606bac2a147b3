// Oniguruma -> JavaScript regex translation: the pre-tokenizer patterns of real tokenizers (and llama.cpp's table)
// split hard text exactly as Hugging Face tokenizers (Oniguruma) splits it; constructs JS cannot express are errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HARD_CASES } from '../../../src/bench/tokenizer_corpus.js';
import { compileOniguruma, findMatches, RegexTranslationError, translateOniguruma } from '../../../src/tokenizer/hf/regex.js';
import { ggufPre, GGUF_PRE_NAMES } from '../../../src/tokenizer/gguf_pre.js';
import { pythonMissing, runPython } from '../../helpers/python.js';

const PATTERNS = [
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+",
  "\\w+|[^\\w\\s]+", "\\p{Han}+|[\\p{Hangul}&&[^가]]+|\\d+", "[[:alpha:]]+|[[:punct:]]+|x*", "(?>a+)b|\\s*", "\\h+|\\x{AC00}+|[\\x41-\\x43]{2}+|a{,2}",
  "^\\s+|\\s+$|.", "\\bword\\b|\\Bx", "(?:ab)*+c|[^\\p{^L}]+",
  ...GGUF_PRE_NAMES.flatMap((n) => ggufPre(n)!.regexes),
];
const TEXTS = [
  ...HARD_CASES.filter((t) => t.length < 600 && t.length > 0),
  "Hello world! It's  I'LL   don't\n\n  \t x", '서울특별시는 GPT를 2024년 12,345.67원 😀👍🏽 e\u0301 ǅ ÀB Ab aB',
  'a\u0085b\ufeffc\u00a0d\u3000e  \r\n\r\n f', 'foo_bar(x) => x+1; // 한국어 comment\n\tif (a&&b) {}', '가나다 漢字かな aaab ab word wordx xx', '  leading   ',
  'DonʼT\'S \'ll', 'deadBEEF 0x1F ABCABC 가가가 aaa', 'x²³¹¼½¾ªº µ ⅠⅡ ① é\u00a0\u0085a',
];

function pieces(re: RegExp, t: string): string[] {
  const m = findMatches(re, t), out: string[] = [];
  let prev = 0;
  for (let i = 0; i < m.length; i += 2) { if (m[i] > prev) out.push(t.slice(prev, m[i])); if (m[i + 1] > m[i]) out.push(t.slice(m[i], m[i + 1])); prev = m[i + 1]; }
  if (prev < t.length) out.push(t.slice(prev));
  return out;
}

test('translated patterns split text as Oniguruma does (Hugging Face tokenizers Split, isolated)', { skip: pythonMissing(['tokenizers']) }, () => {
  const uniq = [...new Set(PATTERNS)];
  const cases = uniq.flatMap((p) => TEXTS.map((t) => [p, t]));
  const ref = JSON.parse(runPython(['-c', [
    'import json, sys', 'from tokenizers import pre_tokenizers, Regex', 'cases = json.load(sys.stdin)', 'out = []',
    'for p, t in cases:', '    try:', "        out.append([s for s, _ in pre_tokenizers.Split(Regex(p), 'isolated').pre_tokenize_str(t)])",
    '    except Exception:', '        out.append(None)', 'print(json.dumps(out))',
  ].join('\n')], { input: JSON.stringify(cases) })) as (string[] | null)[];
  const compiled = new Map(uniq.map((p) => [p, compileOniguruma(p)]));
  let compared = 0;
  cases.forEach(([p, t], k) => {
    // (A few of llama.cpp's own spellings are not valid Oniguruma, e.g. a range written backwards; nothing to compare.)
    if (ref[k] === null) return;
    compared++;
    assert.deepEqual(pieces(compiled.get(p)!, t), ref[k], `/${p}/ on ${JSON.stringify(t.slice(0, 60))} (JS: /${translateOniguruma(p)}/)`);
  });
  assert.ok(compared > 0.9 * cases.length, `${compared} of ${cases.length} compared`);
});

test('Oniguruma classes and escapes keep their Unicode meaning', () => {
  const m = (p: string, s: string) => { const re = compileOniguruma(p); re.lastIndex = 0; const r = re.exec(s); return r ? r[0] : null; };
  assert.equal(m('\\s+', '\u0085\u00a0 x'), '\u0085\u00a0 ', '\\s includes U+0085');
  assert.equal(m('\\s', '\ufeff'), null, '\\s excludes U+FEFF');
  assert.equal(m('\\d+', '٣٤٥x'), '٣٤٥');
  assert.equal(m('\\w+', 'é가_1-'), 'é가_1');
  assert.equal(m('(?i:ab)', 'xAbx'), 'Ab');
  assert.equal(m('.+', 'ab\ncd'), 'ab', '. stops at \\n only');
  assert.equal(m('a++a', 'aaa'), null, 'possessive quantifiers do not give back');
  assert.equal(m('(?>a+)a', 'aaa'), null, 'atomic groups do not give back');
  assert.equal(m('\\p{Hangul}+', 'abc한국어'), '한국어', 'script names');
  assert.equal(m('[a-z&&[^aeiou]]+', 'bcdea'), 'bcd', 'class intersection');
  assert.equal(m('^b', 'a\nb'), 'b', '^ is a line anchor');
  assert.equal(m('x{,2}', 'xxx'), 'xx');
});

test('patterns JavaScript cannot express faithfully are errors that name the construct', () => {
  for (const [p, what] of [['\\Gfoo', '\\G'], ['a\\Kb', '\\K'], ['(?x) a b', 'group syntax'], ['(?m:a.b)', 'inline option'], ['\\p{NoSuchProperty}', 'unknown Unicode property'], ['[a', 'unterminated'], ['a)', "unbalanced ')'"], ['*a', 'nothing to repeat']]) {
    assert.throws(() => translateOniguruma(p), (e: Error) => e instanceof RegexTranslationError && e.message.includes(what) && e.message.includes(p), p);
  }
});

// Texts that stress a pre-tokenizer: emoji, odd whitespace, scripts, digits, contractions, controls, and a
// sweep over the code points whose class (letter, number, whitespace, other) decides the split.

const WS = ['\u0085', '\u00a0', '\u1680', '\u2000', '\u2007', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff', '\u200b', '\u180e', '\v', '\f'];

export const STRESS_TEXTS: string[] = [
  '서울에서 친구를 만났습니다. 학교에서는 한국어를 배웁니다!', 'GPT를 쓰는 사람들은 12345개의 토큰을 셉니다.', 'AI가 ChatGPT로 코드를 짰다',
  '한\u1100\u1161 jamo, ㄱㄴㄷ ㅏㅑ, 한국Korea어, (주)대한 ￦400, 「인용」 『책』 ※참고', '가'.repeat(90) + '입니다',
  "The quick brown fox — I'll be there at 10:30, won't you? SHE'S HERE, we'LL see, 'til O'Neil's", "'s 'S 'Ve 've 're 'll 'd 'm 'x",
  '😀 👍🏽 👨‍👩‍👧‍👦 🇰🇷 ❤️ 1️⃣ emoji, é vs e\u0301, ﬁ ligature, Ⅻ ² ½ ١٢٣ ๑๒๓ ０１２ 𝟘𝟙𝟚',
  '   leading spaces and\ttabs\r\n', 'trailing spaces   ', '\n\n\n  \n\t\n', 'a\r\n\r\nb\rc\n\rd', ' \n \n x', '\t\tx  \t y',
  ...WS.map((w) => `a${w}b ${w}${w}c${w}\n${w}`), WS.join(''), WS.join('x'), `x${WS.join(' ')} y`,
  'function add(a, b) {\n  return a + b; // 합계\n}\n\n', 'for (let i = 0; i < n; i++) {\n    sum += x[i];\n}\n', 'if x:\n\tpass\n    # comment\n',
  '1234567890 12 1,000,000 3.14159 0x1F -42 1e-9 v2.0.1 ２０２４年', 'Привет, мир! Ελληνικά. العربية مرحبا. हिन्दी नमस्ते. ไทย สวัสดี. 中文字符 日本語のテキスト カタカナ',
  '\u0000\u0001\u001f\u007f\u0080\u009f', 'zero\u200bwidth\u200cnon\u200djoiner', 'a\u0301\u0302\u0303 combining', '\ufffd replacement \uffff\ufffe',
  '<<|>> <| |> <|endoftext| |endoftext|>', '!!!???... --- ___ *** ``` ~~~', ' ?!', '?!\n\n', '$$x^2$$ \\frac{a}{b}',
];

/**
 * One line per 48 code points: every assigned code point (Unicode as this Node knows it) except the large uniform
 * blocks (CJK ideographs, Hangul syllables, Yi, Tangut, private use) and surrogates, each in contexts where its
 * class changes the split: between digits (number grouping), between letters, after a space, doubled, before a newline.
 */
export function codePointSweep(): string[] {
  const assigned = /\P{Cn}/u;
  const skip = (c: number) => (c >= 0xd800 && c <= 0xdfff) || (c >= 0xe000 && c <= 0xf8ff) || c >= 0xf0000 ||
    (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xa000 && c <= 0xa4cf) ||
    (c >= 0x17000 && c <= 0x18cff) || (c >= 0x20000 && c <= 0x3ffff);
  const lines: string[] = [];
  let line = '', n = 0;
  for (let c = 1; c < 0x110000; c++) {
    if (skip(c)) continue;
    const ch = String.fromCodePoint(c);
    if (!assigned.test(ch)) continue;
    line += `1${ch}234 a${ch}b ${ch}${ch}x${ch}\n`;
    if (++n % 48 === 0) { lines.push(line); line = ''; }
  }
  if (line) lines.push(line);
  return lines;
}

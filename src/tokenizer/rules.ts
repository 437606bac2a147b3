// The rule-based Korean splitter: hcx's fallback when no trained segmenter model is at hand, and the form in
// which morpheme splitting is written into a Hugging Face tokenizer.json (a regex is all that format takes).
// Rule: a Hangul word that ends in one of the particles/endings below is split once, before the longest such
// suffix that leaves a stem of at least one syllable ("학교에서" -> "학교" + "에서", "먹었다" -> "먹" + "었다").
// It is deliberately simple: a fixed list, one split per word, no dictionary; errors such as "고양이" ->
// "고양" + "이" are the price of expressing it as one regex.

// Case particles, auxiliary particles, the copula and common verbal endings (written for hcx).
const PARTICLES = [
  '이', '가', '께서', '에서', '을', '를', '의', '에', '에게', '께', '한테', '더러', '로', '으로', '로서', '으로서',
  '로써', '으로써', '와', '과', '랑', '이랑', '하고', '은', '는', '도', '만', '까지', '부터', '마저', '조차', '밖에',
  '처럼', '같이', '보다', '마다', '이나', '나', '이든', '든', '이라도', '라도', '뿐', '요', '이요', '야', '아',
  '에는', '에서는', '에도', '에서도', '으로는', '로는', '으로도', '로도', '에게는', '에게도', '와는', '과는',
  '까지는', '부터는', '만은', '만을', '만이', '에만', '에서만', '이란', '란', '이라는', '라는', '이며', '이고',
  '들', '들이', '들은', '들을', '들의', '들에게', '들도', '들과', '들이다',
];
const ENDINGS = [
  '다', '이다', '입니다', '습니다', '니다', '었다', '았다', '였다', '겠다', '는다', '었습니다', '았습니다',
  '였습니다', '겠습니다', '습니까', '니까', '고', '며', '면', '으면', '서', '어서', '아서', '여서', '지만',
  '는데', '은데', '는지', '은지', '도록', '게', '지', '기', '음', '는', '은', '을', '던', '었던', '았던',
  '어요', '아요', '여요', '에요', '예요', '세요', '으세요', '었어요', '았어요', '였어요', '네요', '군요', '죠',
  '어', '아', '여', '자', '라', '으라', '려고', '으려고', '려면', '으려면', '었고', '았고', '었는데', '았는데',
  '었지만', '았지만', '면서', '으면서', '거나', '든지', '다가', '었다가', '기에', '기도', '기는', '기를',
  '고는', '고도', '어도', '아도', '여도', '으며', '니', '으니', '으니까', '으로써', 'ㄴ다', '한다', '했다', '된다',
];

/** The suffixes, longest first (alternation order decides which one a regex tries first). */
export const RULE_SUFFIXES: string[] = [...new Set([...PARTICLES, ...ENDINGS])].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));

/**
 * Regex alternatives (to be placed in the pre-tokenizer pattern instead of the plain Hangul-run alternative)
 * that implement the rule. `H` is a Hangul character-class body, `lead` the optional leading character.
 */
export function ruleAlternatives(H: string, lead: string): string[] {
  const suf = RULE_SUFFIXES.join('|');
  return [
    `(?<=[${H}])(?:${suf})(?![${H}])`, // the suffix itself, right after its stem
    `${lead}[${H}]+?(?=(?:${suf})(?![${H}]))`, // the stem: shortest prefix whose rest is a suffix ending the word
    `${lead}[${H}]+`, // a word with no listed suffix
  ];
}

// Hangul character classes and syllable arithmetic shared by the pre-tokenizer and the segmenter.

/** Hangul letters: jamo, compatibility jamo, jamo extended A/B and the precomposed syllables. */
export const HANGUL_RANGES: Array<[number, number]> = [
  [0x1100, 0x11ff], [0x3131, 0x318e], [0xa960, 0xa97c], [0xac00, 0xd7a3], [0xd7b0, 0xd7fb],
];

export function isHangul(c: number): boolean {
  return (c >= 0xac00 && c <= 0xd7a3) || (c >= 0x1100 && c <= 0x11ff) || (c >= 0x3131 && c <= 0x318e) ||
    (c >= 0xa960 && c <= 0xa97c) || (c >= 0xd7b0 && c <= 0xd7fb);
}

export const isSyllable = (c: number): boolean => c >= 0xac00 && c <= 0xd7a3;

/** The ranges as a regex character-class body with literal characters (valid in JS `u` mode and Oniguruma). */
export const HANGUL_CLASS = HANGUL_RANGES.map(([a, b]) => String.fromCharCode(a) + '-' + String.fromCharCode(b)).join('');

// Syllable = 0xAC00 + (lead * 21 + vowel) * 28 + tail.
export const syllableLead = (c: number): number => Math.floor((c - 0xac00) / 588);
export const syllableVowel = (c: number): number => Math.floor(((c - 0xac00) % 588) / 28);
export const syllableTail = (c: number): number => (c - 0xac00) % 28;

// Compatibility consonants (ㄱ..ㅎ, as treebanks write a fused ending: 팔+ㄹ, 가깝+ㄴ) mapped to the final
// (tail) conjoining jamo they stand for; ㄸ ㅃ ㅉ, which cannot end a syllable, map to their initial form.
const COMPAT_CONSONANTS = 'ㄱㄲㄳㄴㄵㄶㄷㄸㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅃㅄㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ';
const NO_TAIL: Record<string, number> = { 'ㄸ': 0x1104, 'ㅃ': 0x1108, 'ㅉ': 0x110d };
const COMPAT_TO_JAMO = new Map<number, number>();
{
  let t = 0x11a8;
  for (const ch of COMPAT_CONSONANTS) COMPAT_TO_JAMO.set(ch.charCodeAt(0), NO_TAIL[ch] ?? t++);
  for (let v = 0; v < 21; v++) COMPAT_TO_JAMO.set(0x314f + v, 0x1161 + v); // vowels ㅏ..ㅣ
}

/** Appends the conjoining jamo of one character (a non-Hangul character stands for itself) to out. */
export function pushJamo(c: number, out: number[]): number {
  if (isSyllable(c)) {
    out.push(0x1100 + syllableLead(c), 0x1161 + syllableVowel(c));
    const t = syllableTail(c);
    if (t > 0) { out.push(0x11a7 + t); return 3; }
    return 2;
  }
  out.push(COMPAT_TO_JAMO.get(c) ?? c);
  return 1;
}

// Shared by the tokenizer tests (not a test file itself).
// A small mixed corpus: Korean, English, code.
export const CORPUS: string[] = [];
{
  const ko = ['서울에서 친구를 만났습니다.', '학교에서는 한국어를 배웁니다.', '오늘 날씨가 정말 좋네요!', '이 책은 재미있었다.',
    '우리는 내일 부산으로 여행을 갑니다.', '고양이가 밥을 먹었다.', '그는 회사에서 일하고 있다.'];
  const en = ["The quick brown fox jumps over the lazy dog.", "I'll be there at 10:30, won't you?", 'Tokenizers turn text into numbers.'];
  const code = ['function add(a, b) {\n  return a + b;\n}\n', 'for (let i = 0; i < n; i++) {\n    sum += x[i];\n}\n', 'def f(x):\n    return x * 2\n'];
  for (let r = 0; r < 30; r++) for (const s of [...ko, ...en, ...code]) CORPUS.push(s);
}


// Built-in chat data for the SFT stage of `hcx demo` (no download): short question-answer conversations in
// Korean and in English about the facts the knowledge articles teach (capitals, elements, planets, Korean
// history, multiplication) plus greetings, some with a system prompt, some with two exchanges. Each
// conversation stays in one language. `key` names the fact asked about, so a held-out split can keep whole
// facts unseen.
import type { ChatTurn } from '../chat/readers.js';
import { Rng, subSeed } from '../hashing.js';
import { josa } from './korean.js';
import { CAPITALS, ELEMENTS, HISTORY, KIND_EN, KIND_KO, PLANETS, STATE_KO } from './knowledge.js';

export interface ChatSample { lang: 'ko' | 'en'; key: string; messages: ChatTurn[] }

const 은 = (w: string) => josa(w, ['은', '는']);
const 이 = (w: string) => josa(w, ['이', '가']);
const Up = (s: string) => s[0].toUpperCase() + s.slice(1);
const ORD = ['first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth'];
const W = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
// Sino-Korean digit readings ending in a consonant (일 삼 육 칠 팔, 영) take 은/이; the others 는/가.
const numBatchim = (n: number) => '013678'.includes(String(n).slice(-1));

type QA = { key: string; q: string[]; a: string[] };

/** Every question (several phrasings) with its answers, in one language. */
function facts(lang: 'ko' | 'en'): QA[] {
  const out: QA[] = [];
  for (const [kc, kcap, ec, ecap, kcont, econt] of CAPITALS) {
    out.push(lang === 'ko'
      ? { key: `capital:${ec}`, q: [`${kc}의 수도는 어디예요?`, `${kc}의 수도가 어디인지 알려 주세요.`, `${kc} 수도는 어느 도시인가요?`], a: [`${kc}의 수도는 ${kcap}입니다.`, `${은(kcap)} ${kc}의 수도예요. ${은(kc)} ${kcont}에 있는 나라입니다.`] }
      : { key: `capital:${ec}`, q: [`What is the capital of ${ec}?`, `Which city is the capital of ${ec}?`, `Tell me the capital of ${ec}.`], a: [`The capital of ${ec} is ${ecap}.`, `${ecap} is the capital of ${ec}, a country in ${econt}.`] });
    out.push(lang === 'ko'
      ? { key: `continent:${ec}`, q: [`${은(kc)} 어느 대륙에 있나요?`, `${이(kc)} 속한 대륙은 어디예요?`], a: [`${은(kc)} ${kcont}에 있습니다.`, `${은(kc)} ${kcont}의 나라이고, 수도는 ${kcap}입니다.`] }
      : { key: `continent:${ec}`, q: [`Which continent is ${ec} in?`, `On which continent do you find ${ec}?`], a: [`${Up(ec)} is in ${econt}.`, `${Up(ec)} is a country in ${econt}; its capital is ${ecap}.`] });
  }
  for (const [z, sym, ko, en, st] of ELEMENTS) {
    out.push(lang === 'ko'
      ? { key: `symbol:${en}`, q: [`${ko}의 원소 기호는 무엇인가요?`, `${은(ko)} 어떤 기호로 쓰나요?`], a: [`${ko}의 원소 기호는 ${sym}입니다.`, `${은(ko)} ${sym}로 씁니다. 원자 번호는 ${z}번이에요.`] }
      : { key: `symbol:${en}`, q: [`What is the chemical symbol of ${en}?`, `Which symbol stands for ${en}?`], a: [`The chemical symbol of ${en} is ${sym}.`, `${Up(en)} is written ${sym}; its atomic number is ${z}.`] });
    out.push(lang === 'ko'
      ? { key: `number:${en}`, q: [`원자 번호 ${z}번 원소는 무엇인가요?`, `원자 번호가 ${z}인 원소를 알려 주세요.`], a: [`원자 번호 ${z}번 원소는 ${ko}입니다.`, `${ko}(${sym})입니다. 핵 안에 양성자가 ${z}개 있어요.`] }
      : { key: `number:${en}`, q: [`Which element has atomic number ${z}?`, `Name the element with atomic number ${z}.`], a: [`The element with atomic number ${z} is ${en}.`, `That is ${en} (${sym}); its nucleus holds ${z} proton${z > 1 ? 's' : ''}.`] });
    out.push(lang === 'ko'
      ? { key: `state:${en}`, q: [`${은(ko)} 상온에서 어떤 상태인가요?`, `실온에서 ${은(ko)} 기체, 액체, 고체 중 무엇인가요?`], a: [`${은(ko)} 상온에서 ${STATE_KO[st]}입니다.`] }
      : { key: `state:${en}`, q: [`Is ${en} a solid, a liquid or a gas at room temperature?`, `What state is ${en} in at room temperature?`], a: [`At room temperature ${en} is a ${st}.`] });
  }
  for (const [n, ko, en, kind] of PLANETS) {
    out.push(lang === 'ko'
      ? { key: `planet:${en}`, q: [`${은(ko)} 태양에서 몇 번째 행성인가요?`, `${ko}에 대해 알려 주세요.`], a: [`${은(ko)} 태양에서 ${n}번째 행성이고 ${KIND_KO[kind]}입니다.`] }
      : { key: `planet:${en}`, q: [`Which planet from the Sun is ${en}?`, `Tell me about ${en}.`], a: [`${en} is the ${ORD[n - 1]} planet from the Sun and ${KIND_EN[kind]}.`] });
  }
  for (const [y, ko, en] of HISTORY) {
    out.push(lang === 'ko'
      ? { key: `history:${y}`, q: [`${y}년에 한국에서 무슨 일이 있었나요?`, `${y}년의 한국사 사건을 알려 주세요.`], a: [`${y}년에 ${ko}.`.replace(/다\.$/, '습니다.')] }
      : { key: `history:${y}`, q: [`What happened in Korea in ${y}?`, `Which event in Korean history happened in ${y}?`], a: [`In ${y}, ${en}.`] });
  }
  for (let n = 2; n <= 9; n++) for (let m = 1; m <= 9; m++) {
    const p = n * m;
    out.push(lang === 'ko'
      ? { key: `times:${n}x${m}`, q: [`${n} 곱하기 ${m}${numBatchim(m) ? '은' : '는'} 얼마예요?`, `${n}×${m}${numBatchim(m) ? '은' : '는'}?`], a: [`${n} 곱하기 ${m}${numBatchim(m) ? '은' : '는'} ${p}입니다.`, `답은 ${p}입니다.`] }
      : { key: `times:${n}x${m}`, q: [`What is ${n} times ${m}?`, `How much is ${W[n]} times ${W[m]}?`], a: [`${n} times ${m} is ${p}.`, `The answer is ${p}.`] });
  }
  const talk: [string, string[], string[]][] = lang === 'ko'
    ? [['hello', ['안녕하세요', '안녕하세요!', '반가워요'], ['안녕하세요! 무엇을 도와드릴까요?', '반갑습니다. 궁금한 것이 있으면 물어보세요.']],
      ['thanks', ['고마워요', '감사합니다!'], ['천만에요. 또 궁금한 것이 있으면 말씀해 주세요.', '도움이 되어 기뻐요.']],
      ['who', ['당신은 누구인가요?', '너는 누구야?'], ['저는 한국어와 영어로 대답하는 작은 언어 모델 도우미입니다.']],
      ['bye', ['잘 가요', '안녕히 계세요'], ['안녕히 가세요! 좋은 하루 보내세요.']]]
    : [['hello', ['Hello', 'Hi there!', 'Good morning'], ['Hello! How can I help you today?', 'Hi! Ask me anything you like.']],
      ['thanks', ['Thank you', 'Thanks a lot!'], ["You're welcome. Let me know if you have another question.", 'Glad I could help.']],
      ['who', ['Who are you?', 'What are you?'], ['I am a small language model assistant that answers in Korean and English.']],
      ['bye', ['Goodbye', 'See you later'], ['Goodbye! Have a nice day.']]];
  for (const [k, q, a] of talk) out.push({ key: `talk:${k}`, q, a });
  return out;
}

const SYSTEM = { ko: ['당신은 친절한 도우미입니다.', '짧고 정확하게 한국어로 대답하세요.'], en: ['You are a helpful assistant.', 'Answer briefly and accurately.'] };

/** n conversations per language (seeded): one or two exchanges, a system prompt in a quarter of them. */
export function chatSamples(nPerLanguage: number, seed = 7): ChatSample[] {
  const out: ChatSample[] = [];
  for (const lang of ['ko', 'en'] as const) {
    const all = facts(lang);
    const r = new Rng(subSeed(seed, `chat-${lang}`));
    const pick = <T>(xs: readonly T[]): T => xs[r.int(xs.length)];
    for (let i = 0; i < nPerLanguage; i++) {
      const messages: ChatTurn[] = [];
      if (r.next() < 0.25) messages.push({ role: 'system', content: pick(SYSTEM[lang]) });
      const f = all[i % all.length];
      messages.push({ role: 'user', content: pick(f.q) }, { role: 'assistant', content: pick(f.a) });
      const keys = [f.key];
      if (r.next() < 0.3) {
        const g = pick(all);
        messages.push({ role: 'user', content: pick(g.q) }, { role: 'assistant', content: pick(g.a) });
        keys.push(g.key);
      }
      out.push({ lang, key: keys.join('+'), messages });
    }
  }
  return out;
}

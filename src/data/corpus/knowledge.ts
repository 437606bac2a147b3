// Knowledge-rich documents for the built-in corpus: short encyclopedic articles, in Korean and in
// English, generated from small fact tables (chemical elements, planets, capitals, Korean history,
// multiplication). These are the sources the mixture upsamples as knowledge-rich.
import type { Rng } from '../hashing.js';
import { josa } from './korean.js';

const 은 = (w: string) => josa(w, ['은', '는']);
const 이 = (w: string) => josa(w, ['이', '가']);

// [number, symbol, Korean, English, state at room temperature]
export const ELEMENTS: [number, string, string, string, 'gas' | 'solid' | 'liquid'][] = [
  [1, 'H', '수소', 'hydrogen', 'gas'], [2, 'He', '헬륨', 'helium', 'gas'], [3, 'Li', '리튬', 'lithium', 'solid'], [4, 'Be', '베릴륨', 'beryllium', 'solid'],
  [5, 'B', '붕소', 'boron', 'solid'], [6, 'C', '탄소', 'carbon', 'solid'], [7, 'N', '질소', 'nitrogen', 'gas'], [8, 'O', '산소', 'oxygen', 'gas'],
  [9, 'F', '플루오린', 'fluorine', 'gas'], [10, 'Ne', '네온', 'neon', 'gas'], [11, 'Na', '나트륨', 'sodium', 'solid'], [12, 'Mg', '마그네슘', 'magnesium', 'solid'],
  [13, 'Al', '알루미늄', 'aluminium', 'solid'], [14, 'Si', '규소', 'silicon', 'solid'], [15, 'P', '인', 'phosphorus', 'solid'], [16, 'S', '황', 'sulfur', 'solid'],
  [17, 'Cl', '염소', 'chlorine', 'gas'], [18, 'Ar', '아르곤', 'argon', 'gas'], [19, 'K', '칼륨', 'potassium', 'solid'], [20, 'Ca', '칼슘', 'calcium', 'solid'],
  [26, 'Fe', '철', 'iron', 'solid'], [29, 'Cu', '구리', 'copper', 'solid'], [30, 'Zn', '아연', 'zinc', 'solid'], [35, 'Br', '브로민', 'bromine', 'liquid'],
  [47, 'Ag', '은', 'silver', 'solid'], [79, 'Au', '금', 'gold', 'solid'], [80, 'Hg', '수은', 'mercury', 'liquid'], [82, 'Pb', '납', 'lead', 'solid'],
];
export const STATE_KO = { gas: '기체', solid: '고체', liquid: '액체' };

// [order from the Sun, Korean, English, kind]
export const PLANETS: [number, string, string, 'rocky' | 'gas' | 'ice'][] = [
  [1, '수성', 'Mercury', 'rocky'], [2, '금성', 'Venus', 'rocky'], [3, '지구', 'Earth', 'rocky'], [4, '화성', 'Mars', 'rocky'],
  [5, '목성', 'Jupiter', 'gas'], [6, '토성', 'Saturn', 'gas'], [7, '천왕성', 'Uranus', 'ice'], [8, '해왕성', 'Neptune', 'ice'],
];
export const KIND_KO = { rocky: '암석 행성', gas: '거대 가스 행성', ice: '거대 얼음 행성' };
export const KIND_EN = { rocky: 'a rocky planet', gas: 'a gas giant', ice: 'an ice giant' };

// [Korean country, Korean capital, English country, English capital, Korean continent, English continent]
export const CAPITALS: [string, string, string, string, string, string][] = [
  ['대한민국', '서울', 'South Korea', 'Seoul', '아시아', 'Asia'], ['일본', '도쿄', 'Japan', 'Tokyo', '아시아', 'Asia'], ['중국', '베이징', 'China', 'Beijing', '아시아', 'Asia'],
  ['베트남', '하노이', 'Vietnam', 'Hanoi', '아시아', 'Asia'], ['태국', '방콕', 'Thailand', 'Bangkok', '아시아', 'Asia'], ['인도', '뉴델리', 'India', 'New Delhi', '아시아', 'Asia'],
  ['프랑스', '파리', 'France', 'Paris', '유럽', 'Europe'], ['독일', '베를린', 'Germany', 'Berlin', '유럽', 'Europe'], ['영국', '런던', 'the United Kingdom', 'London', '유럽', 'Europe'],
  ['이탈리아', '로마', 'Italy', 'Rome', '유럽', 'Europe'], ['스페인', '마드리드', 'Spain', 'Madrid', '유럽', 'Europe'], ['그리스', '아테네', 'Greece', 'Athens', '유럽', 'Europe'],
  ['노르웨이', '오슬로', 'Norway', 'Oslo', '유럽', 'Europe'], ['포르투갈', '리스본', 'Portugal', 'Lisbon', '유럽', 'Europe'], ['캐나다', '오타와', 'Canada', 'Ottawa', '북아메리카', 'North America'],
  ['멕시코', '멕시코시티', 'Mexico', 'Mexico City', '북아메리카', 'North America'], ['브라질', '브라질리아', 'Brazil', 'Brasília', '남아메리카', 'South America'],
  ['아르헨티나', '부에노스아이레스', 'Argentina', 'Buenos Aires', '남아메리카', 'South America'], ['이집트', '카이로', 'Egypt', 'Cairo', '아프리카', 'Africa'],
  ['케냐', '나이로비', 'Kenya', 'Nairobi', '아프리카', 'Africa'], ['호주', '캔버라', 'Australia', 'Canberra', '오세아니아', 'Oceania'],
];

// [year, Korean event, English event]
export const HISTORY: [number, string, string][] = [
  [918, '왕건이 고려를 세웠다', 'Wang Geon founded the Goryeo dynasty'],
  [1392, '이성계가 조선을 건국했다', 'Yi Seong-gye founded the Joseon dynasty'],
  [1443, '세종대왕이 훈민정음을 창제했다', 'King Sejong created the Hunminjeongeum alphabet'],
  [1446, '훈민정음이 반포되었다', 'the Hunminjeongeum was proclaimed to the people'],
  [1948, '대한민국 정부가 수립되었다', 'the government of the Republic of Korea was established'],
  [1988, '서울에서 하계 올림픽이 열렸다', 'Seoul hosted the Summer Olympic Games'],
  [2002, '한국과 일본이 FIFA 월드컵을 공동 개최했다', 'Korea and Japan co-hosted the FIFA World Cup'],
];

function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/** All knowledge documents in one language, in a fixed order, with phrasing varied by r. */
export function knowledgeDocs(lang: 'ko' | 'en', r: Rng): string[] {
  const pick = <T>(xs: T[]): T => xs[r.int(xs.length)];
  const docs: string[] = [];
  for (const group of chunks(ELEMENTS, 4)) {
    const s = group.map(([z, sym, ko, en, st], i) => {
      const next = group[i + 1];
      if (lang === 'ko') {
        const a = pick([`${은(ko)} 원자 번호가 ${z}인 화학 원소이며, 원소 기호는 ${sym}이다.`, `원자 번호 ${z}번 원소는 ${ko}이고 기호로는 ${sym}를 쓴다.`, `${ko}의 원소 기호는 ${sym}이고 원자 번호는 ${z}이다.`]);
        const b = [`상온에서 ${은(ko)} ${STATE_KO[st]} 상태로 존재한다.`, `보통의 실내 온도에서 ${ko}의 상태는 ${STATE_KO[st]}이다.`, `실온에 두면 ${은(ko)} ${STATE_KO[st]}로 있다.`, `${은(ko)} 상온에서 ${STATE_KO[st]}인 원소이다.`][i];
        const c = [`원자 번호가 ${z}${hasBatchimDigit(String(z).slice(-1)) ? '이라는' : '라는'} 것은 ${ko} 원자의 핵 안에 양성자가 ${z}개 들어 있다는 뜻이다.`, `${ko} 원자핵에는 양성자 ${z}개가 있다.`, `양성자의 수로 따지면 ${은(ko)} ${z}개를 가진다.`, `${ko}의 핵 속 양성자 수는 원자 번호와 같은 ${z}이다.`][i];
        const d = next ? [`표에서 ${ko} 다음에 놓인 원소는 원자 번호 ${next[0]}번의 ${next[2]}이다.`, `이 목록에서 ${ko} 뒤에는 ${next[2]}(${next[0]}번)${이(next[2]).slice(-1) === '이' ? '이' : '가'} 온다.`, `다음 순서의 원소는 ${next[2]}이며 그 번호는 ${next[0]}이다.`][i % 3] : '';
        return [a, b, c, d].join(' ');
      }
      const a = pick([`${en[0].toUpperCase() + en.slice(1)} is the chemical element with atomic number ${z} and the symbol ${sym}.`, `The element with atomic number ${z} is ${en}, written with the symbol ${sym}.`, `The symbol of ${en} is ${sym}, and its atomic number is ${z}.`]);
      const b = [`At room temperature ${en} is a ${st}.`, `Kept at ordinary indoor temperature, ${en} is found as a ${st}.`, `${en[0].toUpperCase() + en.slice(1)} is a ${st} under everyday conditions.`, `In a normal room, a sample of ${en} would be ${st === 'gas' ? 'a gas' : st === 'solid' ? 'solid' : 'liquid'}.`][i];
      const c = [`An atomic number of ${z} means that every ${en} nucleus holds ${z} proton${z > 1 ? 's' : ''}.`, `Each atom of ${en} carries ${z} proton${z > 1 ? 's' : ''} in its nucleus.`, `Counting protons, ${en} has exactly ${z}.`, `The proton count of ${en} equals its atomic number, ${z}.`][i];
      const d = next ? [`Next in this list comes ${next[3]}, element number ${next[0]}.`, `After ${en}, the list continues with ${next[3]} (number ${next[0]}).`, `The following entry is ${next[3]}, whose number is ${next[0]}.`][i % 3] : '';
      return [a, b, c, d].join(' ');
    });
    docs.push((lang === 'ko' ? `화학 원소: ${group.map((g) => g[2]).join(', ')}` : `Chemical elements: ${group.map((g) => g[3]).join(', ')}`) + '\n\n' + s.join('\n\n'));
  }
  const ORD = ['first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth'];
  const planets = PLANETS.map(([n, ko, en, kind], i) => lang === 'ko'
    ? [`${은(ko)} 태양에서 ${n}번째로 가까운 행성이며 ${KIND_KO[kind]}에 속한다.`, `태양으로부터 ${n}번째 자리에 있는 ${은(ko)} ${KIND_KO[kind]}이다.`, `${ko}의 궤도는 태양에서 세어 ${n}번째이고, 분류로는 ${KIND_KO[kind]}이다.`][i % 3] +
      (n > 1 ? [` ${ko}보다 태양에 더 가까운 행성은 ${n - 1}개이다.`, ` 안쪽으로 ${n - 1}개의 행성이 ${ko}보다 먼저 태양을 돈다.`][i % 2] : ' 태양에 가장 가까운 행성이다.')
    : [`${en} is the ${ORD[n - 1]} planet from the Sun and is ${KIND_EN[kind]}.`, `Counting outward from the Sun, ${en} comes ${ORD[n - 1]}; it is ${KIND_EN[kind]}.`, `${en}, ${KIND_EN[kind]}, holds the ${ORD[n - 1]} orbit around the Sun.`][i % 3] +
      (n > 1 ? [` ${n - 1} planet${n > 2 ? 's orbit' : ' orbits'} closer to the Sun than ${en}.`, ` Inside its orbit lie ${n - 1} other world${n > 2 ? 's' : ''}.`][i % 2] : ' No planet is closer to the Sun.'));
  docs.push((lang === 'ko' ? '태양계의 행성\n\n태양계에는 여덟 개의 행성이 있다. 안쪽의 네 행성은 암석으로 이루어져 있고, 바깥쪽의 네 행성은 거대 행성이다.\n\n' : 'The planets of the Solar System\n\nThe Solar System has eight planets. The four inner planets are made of rock, and the four outer planets are giants.\n\n') + planets.join(' '));
  const Ec = (s: string) => s[0].toUpperCase() + s.slice(1);
  for (const group of chunks(CAPITALS, 7)) {
    const s = group.map(([kc, kcap, ec, ecap, kcont, econt], i) => lang === 'ko'
      ? [`${kc}의 수도는 ${kcap}이다.`, `${은(kcap)} ${kc}의 수도이다.`, `${kc}에서 수도 역할을 하는 도시는 ${kcap}이다.`][i % 3] +
        [` ${은(kc)} ${kcont}에 있는 나라이다.`, ` ${kcont}의 나라인 ${kc}의 정부 기관 대부분이 ${kcap}에 있다.`, ` 지도에서 ${은(kc)} ${kcont} 대륙에 속한다.`, ` ${kc}의 국회와 정부는 ${kcap}에 자리한다.`][(i + 1) % 4]
      : [`The capital of ${ec} is ${ecap}.`, `${ecap} is the capital city of ${ec}.`, `In ${ec}, the seat of government is ${ecap}.`][i % 3] +
        [` ${Ec(ec)} is a country in ${econt}.`, ` Most national institutions of ${ec}, a country of ${econt}, are based in ${ecap}.`, ` On the map, ${ec} belongs to ${econt}.`, ` The parliament of ${ec} meets in ${ecap}.`][(i + 1) % 4]);
    docs.push((lang === 'ko' ? `세계의 수도: ${group.map((g) => g[0]).join(', ')}` : `Capitals of the world: ${group.map((g) => g[2]).join(', ')}`) + '\n\n' + s.join(' '));
  }
  const hist = HISTORY.map(([y, ko, en], i) => {
    const prev = HISTORY[i - 1];
    if (lang === 'ko') return `${y}년에 ${ko}.` + (prev ? ` 이는 앞의 사건이 있었던 ${prev[0]}년으로부터 ${y - prev[0]}년 뒤의 일이다.` : '');
    return `In ${y}, ${en}.` + (prev ? [` That was ${y - prev[0]} years after the event of ${prev[0]}.`, ` Between ${prev[0]} and ${y}, ${y - prev[0]} years had passed.`][i % 2] : '');
  });
  docs.push((lang === 'ko' ? '한국사 연표\n\n다음은 한국 역사의 주요 사건을 시대 순으로 정리한 것이다. ' : 'A timeline of Korean history\n\nThe following are major events in Korean history in order. ') + hist.join(' '));
  const W = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
  for (let n0 = 2; n0 <= 9; n0 += 2) {
    const lines: string[] = [];
    for (let n = n0; n <= n0 + 1; n++) for (let m = 1; m <= 9; m++) {
      const p = n * m;
      lines.push(lang === 'ko'
        ? [`${n}에 ${m}을 곱하면 ${p}이 된다.`, `${n}의 ${m}배는 ${p}이다.`, `${n} 곱하기 ${m}의 값은 ${p}이다.`, `${n}을 ${m}번 더한 합은 ${p}이다.`][m % 4].replace(/(\d)을/g, (x, d: string) => (hasBatchimDigit(d) ? `${d}을` : `${d}를`)).replace(/(\d+)이 된다/, (x, d: string) => (hasBatchimDigit(d.slice(-1)) ? `${d}이 된다` : `${d}가 된다`))
        : [`${Ec(W[n])} multiplied by ${W[m]} makes ${p}.`, `${Ec(W[m])} times ${W[n]} equals ${p}.`, `Adding ${W[n]} to itself ${W[m]} time${m > 1 ? 's' : ''} gives ${p}.`, `The product of ${W[n]} and ${W[m]} is ${p}.`, `If you take ${W[n]} groups of ${W[m]}, you have ${p} in all.`][(m + n) % 5]);
    }
    docs.push((lang === 'ko' ? `${n0}${hasBatchimDigit(String(n0)) ? '과' : '와'} ${n0 + 1}의 곱셈\n\n` : `Multiplying by ${W[n0]} and ${W[n0 + 1]}\n\n`) + lines.join(' '));
  }
  return docs;
}

// Sino-Korean readings: 일 이 삼 사 오 육 칠 팔 구 / 영; 0,1,3,6,7,8 end in a consonant
const hasBatchimDigit = (d: string): boolean => '013678'.includes(d);

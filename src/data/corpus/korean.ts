// Procedural Korean prose for the built-in corpus. Sentences are assembled from hand-written frames
// and word lists, with particles chosen by the final consonant of the word before them, so the text
// is grammatical, varied enough to pass the quality filters, and owned by the project.
import type { Rng } from '../hashing.js';

/** Does the last syllable have a final consonant (batchim)? */
export function hasBatchim(word: string): boolean {
  const c = word.charCodeAt(word.length - 1);
  if (c < 0xac00 || c > 0xd7a3) return /[013678lmnr]$/i.test(word); // digits/latin: as read aloud
  return (c - 0xac00) % 28 !== 0;
}
/** Particle after word: pair is [with batchim, without], e.g. ['은', '는']. 으로/로 treats ㄹ as no batchim. */
export function josa(word: string, pair: [string, string]): string {
  if (pair[0] === '으로') {
    const c = word.charCodeAt(word.length - 1);
    const ri = c >= 0xac00 && c <= 0xd7a3 && (c - 0xac00) % 28 === 8;
    return word + (hasBatchim(word) && !ri ? '으로' : '로');
  }
  return word + (hasBatchim(word) ? pair[0] : pair[1]);
}
const 은 = (w: string) => josa(w, ['은', '는']);
const 이 = (w: string) => josa(w, ['이', '가']);
const 을 = (w: string) => josa(w, ['을', '를']);
const 과 = (w: string) => josa(w, ['과', '와']);
const 로 = (w: string) => josa(w, ['으로', '로']);

interface Topic { name: string; places: string[]; people: string[]; things: string[]; adjs: string[]; acts: string[]; ideas: string[] }

const TOPICS: Topic[] = [
  { name: '계절', places: ['강변', '뒷산', '공원', '들판', '골목길', '바닷가', '정원', '호숫가'], people: ['할머니', '아이들', '농부', '산책하던 노인', '학생들', '이웃집 부부'],
    things: ['벚꽃', '단풍', '첫눈', '장맛비', '바람', '햇살', '낙엽', '안개'], adjs: ['따뜻한', '서늘한', '맑은', '흐린', '고요한', '눅눅한', '포근한'],
    acts: ['창문을 활짝 열었다', '두꺼운 옷을 꺼냈다', '오래 하늘을 올려다보았다', '마당의 잡초를 뽑았다', '김장 준비를 시작했다', '우산을 챙겨 나갔다'],
    ideas: ['계절의 변화', '날씨의 흐름', '자연의 순환', '시간의 속도'] },
  { name: '도시', places: ['지하철역', '시장', '도서관', '카페', '버스 정류장', '광장', '옥상', '편의점'], people: ['직장인', '택시 기사', '가게 주인', '대학생', '배달원', '관광객'],
    things: ['신호등', '간판', '자전거', '전광판', '버스', '가로등', '계단', '횡단보도'], adjs: ['붐비는', '조용한', '낡은', '새로 지은', '환한', '좁은', '넓은'],
    acts: ['서둘러 길을 건넜다', '커피를 한 잔 주문했다', '지도를 다시 확인했다', '창밖을 내다보았다', '친구에게 전화를 걸었다', '짐을 내려놓았다'],
    ideas: ['도시의 리듬', '출퇴근의 풍경', '공공장소의 예절', '이웃과의 거리'] },
  { name: '요리', places: ['부엌', '식당', '시골집', '푸드트럭', '급식실', '골목 식당'], people: ['요리사', '어머니', '손님', '견습생', '주방장', '동생'],
    things: ['된장찌개', '김치', '밥솥', '냄비', '도마', '나물', '양념장', '국수'], adjs: ['짭짤한', '매콤한', '담백한', '뜨거운', '향긋한', '고소한', '새콤한'],
    acts: ['불을 약하게 줄였다', '채소를 잘게 썰었다', '간을 다시 보았다', '그릇을 미리 데웠다', '재료를 하나씩 준비했다', '남은 음식을 나누어 담았다'],
    ideas: ['제철 재료', '손맛', '음식의 기억', '상차림의 순서'] },
  { name: '과학', places: ['실험실', '관측소', '연구소', '교실', '온실', '박물관'], people: ['연구원', '과학자', '선생님', '대학원생', '기술자', '탐험가'],
    things: ['현미경', '망원경', '온도계', '자석', '결정', '화석', '전지', '저울'], adjs: ['정밀한', '작은', '투명한', '무거운', '오래된', '새로운', '복잡한'],
    acts: ['측정값을 공책에 적었다', '실험을 처음부터 다시 했다', '가설을 조심스럽게 고쳤다', '결과를 동료와 비교했다', '장비를 깨끗이 닦았다', '그래프를 새로 그렸다'],
    ideas: ['관찰과 기록', '오차의 원인', '반복 실험의 가치', '질문하는 습관'] },
  { name: '여행', places: ['기차역', '항구', '산장', '섬마을', '국경 마을', '온천', '고갯길'], people: ['여행자', '안내원', '선장', '숙소 주인', '사진가', '등산객'],
    things: ['배낭', '지도', '기차표', '나침반', '엽서', '여권 사진', '등산화', '손전등'], adjs: ['낯선', '먼', '한적한', '험한', '아름다운', '이국적인', '소박한'],
    acts: ['다음 기차를 기다렸다', '길을 물어보았다', '일기에 하루를 정리했다', '짐을 가볍게 다시 꾸렸다', '해가 지는 쪽으로 걸었다', '현지 음식을 맛보았다'],
    ideas: ['떠남의 이유', '길 위의 만남', '느린 여행', '돌아옴의 의미'] },
  { name: '기술', places: ['작업실', '공장', '사무실', '서버실', '회의실', '연구 단지'], people: ['개발자', '엔지니어', '디자이너', '운영자', '기획자', '수리공'],
    things: ['컴퓨터', '프로그램', '로봇', '센서', '데이터', '회로', '배터리', '네트워크'], adjs: ['빠른', '안정적인', '가벼운', '복잡한', '효율적인', '낡은', '똑똑한'],
    acts: ['코드를 한 줄씩 검토했다', '오류의 원인을 찾아냈다', '시험 결과를 기록했다', '설계를 단순하게 바꾸었다', '부품을 새것으로 교체했다', '문서를 꼼꼼히 정리했다'],
    ideas: ['단순함의 힘', '기술과 사람', '실패에서 배우기', '도구의 역사'] },
  { name: '학교', places: ['운동장', '교실', '도서실', '음악실', '복도', '급식실'], people: ['담임 선생님', '반장', '전학생', '졸업생', '학부모', '교장 선생님'],
    things: ['교과서', '칠판', '시간표', '공책', '연필', '성적표', '사물함', '졸업 앨범'], adjs: ['시끄러운', '설레는', '조용한', '긴장된', '즐거운', '익숙한', '아쉬운'],
    acts: ['숙제를 먼저 끝냈다', '발표 연습을 했다', '친구의 공책을 빌렸다', '운동장을 두 바퀴 돌았다', '질문을 손을 들어 했다', '책상을 가지런히 정리했다'],
    ideas: ['배움의 즐거움', '우정의 시작', '시험과 성장', '꿈과 진로'] },
  { name: '바다', places: ['포구', '등대', '모래사장', '갯벌', '방파제', '어시장'], people: ['어부', '해녀', '선원', '등대지기', '피서객', '상인'],
    things: ['그물', '파도', '갈매기', '조개', '돛단배', '밀물', '썰물', '수평선'], adjs: ['푸른', '거친', '잔잔한', '짠', '넓은', '차가운', '반짝이는'],
    acts: ['새벽에 배를 띄웠다', '그물을 손질했다', '물때를 다시 확인했다', '잡은 고기를 나누었다', '바람의 방향을 살폈다', '모래 위에 이름을 썼다'],
    ideas: ['바다와 생계', '물때의 지혜', '섬 사람들의 삶', '파도의 시간'] },
];

const TIMES = ['이른 아침', '한낮', '해 질 무렵', '늦은 밤', '주말 오후', '어느 봄날', '장마철', '한겨울', '새벽', '월요일 아침'];
const LINKS = ['그런데', '그래서', '한편', '그러자', '게다가', '그 뒤로', '결국', '무엇보다', '물론', '다행히'];

/** One sentence frame: a function of the topic and the random source. */
type Frame = (t: Topic, r: Rng, pick: <T>(xs: T[]) => T) => string;
const FRAMES: Frame[] = [
  (t, _r, p) => `${p(TIMES)}, ${p(t.places)}에서 ${이(p(t.people))} ${p(t.acts)}.`,
  (t, _r, p) => `${은(p(t.people))} ${p(t.adjs)} ${을(p(t.things))} 바라보며 ${p(t.acts)}.`,
  (t, _r, p) => `${p(LINKS)} ${p(t.places)} 근처에는 ${p(t.adjs)} ${이(p(t.things))} 가득했다.`,
  (t, _r, p) => `${p(t.adjs)} ${p(t.things)} 이야기는 ${p(t.people)} 사이에서 오래 회자되었다.`,
  (t, _r, p) => `${은(p(t.ideas))} 생각보다 단순하지 않다고 ${은(p(t.people))} 말했다.`,
  (t, r, p) => `${r.int(9) + 2}년 전만 해도 ${p(t.places)}에는 ${p(t.things)} 하나 없었다.`,
  (t, _r, p) => `${이(p(t.people))} ${p(t.places)}에 도착했을 때 이미 ${이(p(t.things))} 보였다.`,
  (t, _r, p) => `사람들은 ${을(p(t.ideas))} 두고 저마다 다른 의견을 내놓았다.`,
  (t, _r, p) => `${p(LINKS)} ${은(p(t.people))} ${과(p(t.things))} 관련된 기록을 찾아 ${로(p(t.places))} 향했다.`,
  (t, r, p) => `그날 ${p(t.places)}에 모인 사람은 모두 ${r.int(40) + 3}명이었다.`,
  (t, _r, p) => `${p(t.adjs)} 기운이 감도는 ${p(t.places)}에서 ${은(p(t.people))} 잠시 말을 멈추었다.`,
  (t, _r, p) => `${을(p(t.things))} 처음 본 ${은(p(t.people))} 고개를 갸웃거렸다.`,
  (t, _r, p) => `${은(p(t.ideas))} 결국 작은 습관에서 시작된다는 것이 ${p(t.people)}의 생각이었다.`,
  (t, _r, p) => `${p(TIMES)}마다 ${은(p(t.people))} ${을(p(t.things))} 챙기는 일을 잊지 않았다.`,
  (t, _r, p) => `${p(t.places)} 쪽에서 ${p(t.adjs)} 소리가 들려오자 모두 그쪽을 돌아보았다.`,
  (t, _r, p) => `${p(LINKS)} 아무도 ${p(t.things)}의 쓰임을 정확히 알지 못했다.`,
  (t, _r, p) => `${p(t.people)}에게 ${은(p(t.places))} 늘 ${p(t.adjs)} 곳으로 기억되었다.`,
  (t, r, p) => `${r.int(12) + 1}월의 ${은(p(t.places))} 다른 달보다 훨씬 ${p(['한산했다', '분주했다', '고요했다', '활기찼다'])}.`,
  (t, _r, p) => `${이(p(t.people))} 남긴 메모에는 ${p(t.ideas)}에 관한 짧은 문장이 적혀 있었다.`,
  (t, _r, p) => `${은(p(t.things))} ${p(t.adjs)} 빛을 띠고 있어서 멀리서도 눈에 띄었다.`,
  (t, _r, p) => `${p(t.people)}의 말을 들은 ${은(p(t.people))} 곧바로 ${p(t.acts)}.`,
  (t, _r, p) => `${p(LINKS)} ${p(t.places)}의 풍경은 해마다 조금씩 달라졌다.`,
  (t, _r, p) => `누군가는 ${을(p(t.things))} 두고 ${p(t.ideas)}의 상징이라고 불렀다.`,
  (t, _r, p) => `${p(TIMES)}의 ${은(p(t.places))} ${p(t.adjs)} 분위기로 가득 찼다.`,
];

function titleFor(t: Topic, pick: <T>(xs: T[]) => T): string {
  return pick([`${t.name}에 관한 짧은 글`, `${pick(t.places)}의 하루`, `${pick(t.ideas)}에 대하여`, `${pick(t.people)}의 이야기`]);
}

/** One Korean document of several paragraphs; formal (-습니다) or plain (-다) style chosen per document. */
export function koreanDoc(r: Rng): string {
  const pick = <T>(xs: T[]): T => xs[r.int(xs.length)];
  const t = pick(TOPICS);
  const formal = r.next() < 0.35;
  const order = FRAMES.map((_, i) => i).sort(() => r.next() - 0.5);
  const paras: string[] = [titleFor(t, pick)];
  let k = 0;
  const nParas = 2 + r.int(3);
  for (let p = 0; p < nParas; p++) {
    const sents: string[] = [];
    const n = 3 + r.int(3);
    for (let s = 0; s < n && k < order.length; s++, k++) {
      let sent = FRAMES[order[k]](t, r, pick);
      // -었다/-았다/-했다 -> -었습니다: every frame ends in a past tense with ㅆ before 다
      if (formal) sent = sent.replace(/다\.$/, '습니다.');
      sents.push(sent);
    }
    paras.push(sents.join(' '));
  }
  return paras.join('\n\n');
}

// Labelled PII cases for precision/recall. Every value here is invented: resident numbers and cards
// are built from made-up digits with a computed check digit, names and domains are fictional, and
// cards include the issuers' published test numbers. Markup: {{type:value}} marks a PII span;
// everything else in a case must be left alone.
import type { PiiType } from '../../src/data/pii.js';

function rrnCheck(first12: string): string {
  const w = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5];
  let s = 0;
  for (let i = 0; i < 12; i++) s += Number(first12[i]) * w[i];
  return String((11 - (s % 11)) % 10);
}
/** an RRN with a valid check digit, as YYMMDD-GNNNNNC */
const rrn = (ymd: string, rest6: string): string => `${ymd}-${rest6}${rrnCheck(ymd + rest6)}`;
/** the same with a wrong check digit (a negative) */
const badRrn = (ymd: string, rest6: string): string => `${ymd}-${rest6}${(Number(rrnCheck(ymd + rest6)) + 3) % 10}`;

function luhnDigit(body: string): string {
  let s = 0;
  for (let i = 0; i < body.length; i++) {
    let x = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) { x *= 2; if (x > 9) x -= 9; }
    s += x;
  }
  return String((10 - (s % 10)) % 10);
}
const card = (body15: string): string => { const d = body15 + luhnDigit(body15); return d.match(/.{4}/g)!.join('-'); };
const badCard = (body15: string): string => { const d = body15 + ((Number(luhnDigit(body15)) + 1) % 10); return d.match(/.{4}/g)!.join(' '); };

export const PII_CASES: string[] = [
  // e-mail
  '문의는 {{email:hong.gildong@example.com}} 으로 보내 주세요.',
  'Contact {{email:jane_doe+news@mail.example.org}} for details.',
  '담당자 메일: {{email:kim-cs@support.example.co.kr}}',
  'Send the report to {{email:ops.team@example.net}}, then wait.',
  '이메일({{email:test123@example.io}})로 회신 바랍니다.',
  'The address {{email:a.b.c@sub.example.dev}} bounced twice.',
  // resident registration numbers
  `주민등록번호 {{rrn:${rrn('900101', '123456')}}} 를 입력하세요.`,
  `신청인 {{rrn:${rrn('851231', '234567')}}}, 주소 서울시`,
  `RRN: {{rrn:${rrn('020315', '345678')}}}`,
  `외국인등록번호 {{rrn:${rrn('770707', '512345')}}} 확인 완료`,
  `번호는 {{rrn:${rrn('641120', '276543').replace('-', '')}}} 입니다.`,
  `본인 {{rrn:${rrn('991009', '187654')}}}`,
  // Korean mobile
  '연락처 {{mobile:010-1234-5678}}로 전화 주세요.',
  '휴대폰: {{mobile:01098765432}}',
  'Call me at {{mobile:+82-10-2345-6789}} tomorrow.',
  '{{mobile:010 3456 7890}} 번으로 문자 주세요.',
  '구형 번호 {{mobile:011-234-5678}}도 아직 씁니다.',
  '{{mobile:010.4567.8901}} 으로 연락 바랍니다',
  // Korean landline
  '대표전화 {{landline:02-345-6789}} (평일 9시-18시)',
  '부산 사무소 {{landline:051-987-6543}}',
  '팩스 {{landline:031-1234-5678}}',
  'Office: {{landline:+82 2 3456 7890}}',
  '인터넷 전화 {{landline:070-8765-4321}} 로 문의',
  '광주 지점 {{landline:(062) 345-6789}}',
  // international numbers
  'US office: {{intl_phone:+1 415 555 0132}}.',
  'London desk {{intl_phone:+44 20 7946 0958}}',
  '도쿄 지사 {{intl_phone:+81-3-1234-5678}} 입니다.',
  'Reach Berlin at {{intl_phone:+49 30 901820}}.',
  'Sydney: {{intl_phone:+61 2 9876 5432}}',
  // cards
  `카드번호 {{card:${card('411111111111111')}}} 로 결제`,
  `Card: {{card:${card('555555555555444')}}}`,
  'Amex {{card:3782 822463 10005}} on file.',
  `결제 카드 {{card:${card('601111111111111').replace(/-/g, '')}}}`,
  `Paid with {{card:${card('940312345678901').replace(/-/g, ' ')}}}.`,
  `신용카드 {{card:${card('356012345678901')}}} 승인`,
  // bank accounts
  '입금 계좌: 신한은행 {{account:110-123-456789}} 홍길동',
  '계좌번호 {{account:1002-345-678901}} (우리은행)',
  '카카오뱅크 {{account:3333-01-2345678}} 으로 송금해 주세요.',
  '농협 {{account:302-1234-5678-91}} 예금주 김철수',
  'Please wire to account no. {{account:123456789012}}.',
  'IBAN {{account:GB82 WEST 1234 5698 7654 32}} (test IBAN)',
  'Transfer to {{account:DE89370400440532013000}} by Friday.',
  // IP addresses
  'Server at {{ipv4:192.168.10.25}} is down.',
  '접속 IP {{ipv4:203.0.113.77}} 에서 로그인 시도',
  'Blocked {{ipv4:10.0.0.254}} and {{ipv4:172.16.5.4}} today.',
  'IPv6 host {{ipv6:2001:db8:85a3::8a2e:370:7334}} responded.',
  '게이트웨이 {{ipv6:fe80::1ff:fe23:4567:890a}} 확인',
  'Full form {{ipv6:2001:0db8:0000:0000:0000:ff00:0042:8329}} works.',
  'Link-local {{ipv6:fe80::1}} only.',
  // passports
  '여권번호 {{passport:M12345678}} 확인',
  '신여권 {{passport:M123A4567}} 발급 완료',
  'Passport No. {{passport:X1234567}} (issuing state: example)',
  'passport: {{passport:AB7654321}}',
  '관용여권 {{passport:S87654321}}',
  // mixed
  '홍길동({{email:gd.hong@example.com}}, {{mobile:010-2222-3333}})의 계좌 {{account:110-987-654321}}',
  `Applicant {{rrn:${rrn('880808', '198765')}}} lives near {{ipv4:198.51.100.4}}.`,

  // negatives: nothing here is PII
  '회의는 2024-03-15 14:30에 시작합니다.',
  'Version 1.2.3 fixed the bug; see release 10.4.1.2 notes.',
  '주문번호 20240315-000123 이 접수되었습니다.',
  `잘못된 주민번호 ${badRrn('900101', '123456')} 는 검증에 실패합니다.`,
  `Luhn fails: ${badCard('411111111111111')}`,
  'ISBN 978-89-123-4567-8 책을 샀다.',
  'Population grew from 51,780,000 to 51,830,000.',
  'The meeting is at 10:30:45 UTC.',
  'Call std::vector<int>::size() in C++.',
  'Tracking number 1Z999AA10123456784 shipped.',
  '가격은 12,500원이고 수량은 3개입니다.',
  'Coordinates 37.5665, 126.9780 mark Seoul.',
  'The year 1988 and the number 2002 appear.',
  '우편번호 04524, 서울특별시 중구',
  'Use git hash 3f2a9c1b4d5e6f708192a3b4c5d6e7f8091a2b3c.',
  'Temperature rose 1.5 degrees in 2023.',
  'Phone extension x1234 is internal.',
  'Math: 3 + 4 = 7 and 12 - 5 = 7.',
  '사업자등록번호 123-45-67890 은 개인정보가 아닙니다.',
  'IP-like version 1.2.3.4.5 is not an address.',
  'See section 4.2.1 and table 3.',
  'An email-like string user at example dot com.',
  'The ratio 16:9 and time 23:59 are fine.',
  'Model number M1234 and SKU AB-1234.',
  '전화번호 형식은 000-0000-0000 처럼 씁니다.',
  'Hex colours #ff00aa and #123456.',
  'Order 4000 1234 5678 9010 was a typo.',
  'UUID 123e4567-e89b-12d3-a456-426614174000 identifies it.',
];

export interface LabelledCase { text: string; spans: { type: PiiType; value: string; start: number }[] }

/** Strips the markup, returning the plain text and the labelled spans. */
export function parseCase(marked: string): LabelledCase {
  const spans: LabelledCase['spans'] = [];
  let text = '';
  const re = /\{\{(\w+):([^}]*)\}\}/g;
  let pos = 0;
  for (let m = re.exec(marked); m; m = re.exec(marked)) {
    text += marked.slice(pos, m.index);
    spans.push({ type: m[1] as PiiType, value: m[2], start: text.length });
    text += m[2];
    pos = m.index + m[0].length;
  }
  return { text: text + marked.slice(pos), spans };
}

/**
 * A second batch written after the detectors were tuned on PII_CASES and never used to tune them:
 * its precision/recall is the honest estimate (recorded in the test's output).
 */
export const PII_HELDOUT: string[] = [
  '고객센터 메일 {{email:help.desk@shop-example.kr}} 로 문의하세요',
  'cc: {{email:first.last@uni.example.ac.kr}}; bcc none',
  `등록번호: {{rrn:${rrn('950228', '223344')}}} (본인 확인용)`,
  `주민번호 뒷자리까지 {{rrn:${rrn('011111', '456789')}}} 적으면 안 됩니다`,
  '제 번호는 {{mobile:010-9999-0000}}이에요',
  '{{mobile:+82 10 5555 1234}} (Korea mobile)',
  '본사 {{landline:02-1588-1234}} 대표번호',
  '대전 {{landline:042-321-7654}}',
  'NYC line {{intl_phone:+1 (212) 555-0188}}',
  'Paris {{intl_phone:+33 1 23 45 67 89}}',
  `체크카드 {{card:${card('540012345678901')}}} 분실 신고`,
  `card ending test {{card:${card('421234567890123').replace(/-/g, '')}}}`,
  '국민은행 계좌 {{account:123456-01-234567}} 로 입금',
  '토스뱅크 {{account:1000-1234-5678}} 예금주 박영희',
  'ssh admin@{{ipv4:100.64.12.9}} failed',
  'client {{ipv6:2001:db8::ff00:42:8329}} connected',
  '여권 번호: {{passport:M98765432}}',
  'passport number {{passport:C03005988}} expired',
  '결제일은 2025.01.15 이고 금액은 1,234,567원입니다.',
  'Build 2024.10.01.1234 passed all tests.',
  '학번 20231234 학생이 제출했습니다.',
  'Invoice INV-2024-00042 totals $1,250.00.',
  'Port 8080 and 443 are open on localhost.',
  'Ratio 1:2:3:4 is used in the recipe.',
  '전화 주세요(번호는 나중에 알려드릴게요).',
  'Serial 4532-1234-5678 is short.',
  'Latitude 37.123456 longitude 127.654321.',
  'Ticket #123456789 was closed.',
];

// PII scrubbing to typed placeholders. Each detector is a regex for candidates plus a validator
// (check digits, Luhn, octet ranges, context words) so that numbers which merely look alike — dates,
// order numbers, version strings — stay. Precision and recall are measured on the invented, labelled
// set in test/data/pii-cases.ts.
import { isIPv6 } from 'node:net';

export type PiiType = 'rrn' | 'mobile' | 'landline' | 'intl_phone' | 'email' | 'card' | 'account' | 'ipv4' | 'ipv6' | 'passport';
export const PII_TYPES: readonly PiiType[] = ['email', 'rrn', 'card', 'account', 'mobile', 'landline', 'intl_phone', 'ipv6', 'ipv4', 'passport'];

export const DEFAULT_PLACEHOLDERS: Record<PiiType, string> = {
  rrn: '[RRN]', mobile: '[PHONE]', landline: '[PHONE]', intl_phone: '[PHONE]', email: '[EMAIL]', card: '[CARD]',
  account: '[ACCOUNT]', ipv4: '[IP]', ipv6: '[IP]', passport: '[PASSPORT]',
};

export interface PiiSpan { type: PiiType; start: number; end: number; value: string }

const digitsOf = (s: string): string => s.replace(/\D/g, '');

/** Korean resident registration number check digit (valid for numbers issued before Oct 2020). */
export function rrnValid(d: string): boolean {
  if (d.length !== 13) return false;
  const w = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5];
  let s = 0;
  for (let i = 0; i < 12; i++) s += (d.charCodeAt(i) - 48) * w[i];
  return (11 - (s % 11)) % 10 === d.charCodeAt(12) - 48;
}

export function luhnValid(d: string): boolean {
  let s = 0;
  for (let i = 0; i < d.length; i++) {
    let x = d.charCodeAt(d.length - 1 - i) - 48;
    if (i % 2 === 1) { x *= 2; if (x > 9) x -= 9; }
    s += x;
  }
  return s % 10 === 0;
}

/** IBAN mod-97 check. */
export function ibanValid(s: string): boolean {
  const c = s.replace(/\s/g, '').toUpperCase();
  if (c.length < 15 || c.length > 34) return false;
  const r = c.slice(4) + c.slice(0, 4);
  let m = 0;
  for (const ch of r) {
    const v = ch >= 'A' ? String(ch.charCodeAt(0) - 55) : ch;
    for (const d of v) m = (m * 10 + (d.charCodeAt(0) - 48)) % 97;
  }
  return m === 1;
}

/** Cards are written unbroken or in the issuers' groupings: 4-4-4-4(-3), 4-6-5, 4-6-4. */
function cardGrouping(v: string): boolean {
  const parts = v.split(/[ -]/).map((p) => p.length).join('-');
  return !parts.includes('-') || /^4-4-4-[1-4](?:-[1-3])?$|^4-6-[45]$/.test(parts);
}

interface Detector {
  type: PiiType;
  re: RegExp;
  /** which capture group is the PII (0 = whole match) */
  group?: number;
  /** value, and the text before it (for context rules) */
  valid?(value: string, before: string): boolean;
}

// Boundaries: (?<![\w-]) and (?![\w-]) keep a match from starting or ending inside a longer token;
// Hangul is not \w, so "010-1234-5678로" still matches.
const AREA = '(?:2|3[1-3]|4[1-4]|5[1-5]|6[1-4]|70)';
const BANK = '(?:계좌(?:번호)?|통장|입금|송금|이체|은행|농협|국민|신한|우리|하나|기업|카카오뱅크|토스뱅크|새마을금고|우체국|account(?: (?:no\\.?|number))?|acct\\.?|a\\/c)';
const DETECTORS: Detector[] = [
  { type: 'email', re: /(?<![\w.+%-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24}(?![\w-])/g },
  {
    type: 'rrn', re: /(?<![\w-])\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\s?[-–]?\s?[1-8]\d{6}(?![\w-])/g,
    valid: (v) => rrnValid(digitsOf(v)),
  },
  {
    type: 'card', re: /(?<![\w-])[2-69]\d{3}(?:[ -]?\d{4}){2}[ -]?\d{1,7}(?![\w-])|(?<![\w-])3[47]\d{2}[ -]?\d{6}[ -]?\d{5}(?![\w-])/g,
    valid: (v) => { const d = digitsOf(v); return d.length >= 13 && d.length <= 19 && cardGrouping(v) && luhnValid(d); },
  },
  {
    type: 'account', group: 1,
    re: new RegExp(`${BANK}[^\\d\\n]{0,15}?((?<![\\w-])(?:\\d{2,6}-\\d{2,6}-\\d{2,7}(?:-\\d{1,3})?|\\d{10,14})(?![\\w-]))`, 'gi'),
    valid: (v) => { const n = digitsOf(v).length; return n >= 10 && n <= 16; },
  },
  {
    type: 'account', re: /(?<![\w-])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![\w-])/g,
    valid: (v) => ibanValid(v),
  },
  { type: 'mobile', re: /(?<![\w+-])(?:\+82[ -]?1[016789]|\(?01[016789]\)?)(?:[ .-]?\d{3,4}[ .-]?\d{4}|[ .-]\d{3,4}[ .-]\d{4})(?![\w-])/g },
  { type: 'landline', re: new RegExp(`(?<![\\w+-])(?:\\(0${AREA}\\)[ -]?|0${AREA}[ .-]|\\+82[ -]?${AREA}[ .-])\\d{3,4}[ .-]\\d{4}(?![\\w-])`, 'g') },
  {
    type: 'intl_phone', re: /(?<![\w+])\+[1-9]\d{0,2}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{1,5}){2,5}(?![\w-])/g,
    valid: (v) => { const n = digitsOf(v).length; return n >= 8 && n <= 15; },
  },
  {
    type: 'ipv6', re: /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])/g,
    valid: (v) => {
      if (!isIPv6(v)) return false;
      const groups = v.split(':').filter(Boolean).length;
      return groups >= 3 || (v.includes('::') && groups >= 2 && /\d/.test(v) && v.length >= 6);
    },
  },
  {
    type: 'ipv4', re: /(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w]|\.\d)/g,
    // "version 10.4.1.2" is a version number, not an address
    valid: (_v, before) => !/(?:version|release|ver\.?|v|버전)\s*$/i.test(before.slice(-12)),
  },
  { type: 'passport', re: /(?<![A-Za-z0-9])[MSRODG](?:\d{8}|\d{3}[A-Z]\d{4})(?![A-Za-z0-9])/g },
  { type: 'passport', group: 1, re: /(?:여권|passport)(?:\s*(?:번호|no\.?|number|#))?[^A-Za-z0-9\n]{0,10}?([A-Z]{1,2}\d{6,9})(?![A-Za-z0-9])/gi },
];

// a cheap gate: without a digit or '@' none of the detectors can match
const MAY_HAVE_PII = /[\d@]/;

/** Spans of PII in text, earlier detectors taking precedence (an RRN is not also a card). */
export function findPii(text: string, types: ReadonlySet<PiiType> | undefined = undefined): PiiSpan[] {
  if (!MAY_HAVE_PII.test(text)) return [];
  const spans: PiiSpan[] = [];
  let masked = text;
  for (const d of DETECTORS) {
    if (types && !types.has(d.type)) continue;
    if (d.type === 'email' && masked.indexOf('@') < 0) continue;
    if ((d.type === 'ipv6') && masked.indexOf(':') < 0) continue;
    const found: PiiSpan[] = [];
    d.re.lastIndex = 0;
    for (let m = d.re.exec(masked); m; m = d.re.exec(masked)) {
      const value = d.group ? m[d.group] : m[0];
      if (value === undefined) continue;
      const start = d.group ? m.index + m[0].lastIndexOf(value) : m.index;
      if (d.valid && !d.valid(value, masked.slice(Math.max(0, start - 40), start))) continue;
      found.push({ type: d.type, start, end: start + value.length, value });
    }
    if (found.length === 0) continue;
    // mask with a letter run of the same length so offsets stay put and later detectors skip it
    let out = '', pos = 0;
    for (const f of found) { out += masked.slice(pos, f.start) + 'X'.repeat(f.end - f.start); pos = f.end; }
    masked = out + masked.slice(pos);
    spans.push(...found);
  }
  return spans.sort((a, b) => a.start - b.start);
}

export interface ScrubResult { text: string; counts: Partial<Record<PiiType, number>> }

/** Replaces PII with typed placeholders and counts each type. */
export function scrubPii(text: string, placeholders: Record<PiiType, string> = DEFAULT_PLACEHOLDERS, types?: ReadonlySet<PiiType>): ScrubResult {
  const spans = findPii(text, types);
  if (spans.length === 0) return { text, counts: {} };
  const counts: Partial<Record<PiiType, number>> = {};
  let out = '', pos = 0;
  for (const s of spans) {
    out += text.slice(pos, s.start) + placeholders[s.type];
    pos = s.end;
    counts[s.type] = (counts[s.type] ?? 0) + 1;
  }
  return { text: out + text.slice(pos), counts };
}

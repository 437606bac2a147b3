// Which language a reply is in, by the Hangul-share rule: of its letters (Hangul syllables and jamo, and
// Latin letters; digits, punctuation and other scripts do not count), a share of Hangul of at least 0.5
// makes it Korean, less makes it English; a reply with no such letter is in neither. Used by the
// cross-lingual transfer experiment (src/bench/crosslingual.ts).
export type Lang = 'ko' | 'en';

const HANGUL = /[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]/gu;
const LATIN = /[A-Za-z\u00c0-\u024f]/gu;

/** Hangul letters over Hangul plus Latin letters; NaN when the text has neither. */
export function hangulShare(text: string): number {
  const h = text.match(HANGUL)?.length ?? 0, l = text.match(LATIN)?.length ?? 0;
  return h + l ? h / (h + l) : NaN;
}

export function replyLanguage(text: string, threshold = 0.5): Lang | null {
  const s = hangulShare(text);
  return Number.isNaN(s) ? null : s >= threshold ? 'ko' : 'en';
}

export interface ReplyRecord { promptLang: Lang; reply: string; endedTurn: boolean }

export interface LangScore { prompts: number; sameLanguage: number; endedTurn: number }

/** Per prompt language: how many replies are in the prompt's language and how many ended their turn. */
export function scoreReplies(records: readonly ReplyRecord[]): Record<Lang, LangScore> {
  const out: Record<Lang, LangScore> = { ko: { prompts: 0, sameLanguage: 0, endedTurn: 0 }, en: { prompts: 0, sameLanguage: 0, endedTurn: 0 } };
  for (const r of records) {
    const s = out[r.promptLang];
    s.prompts++;
    if (replyLanguage(r.reply) === r.promptLang) s.sameLanguage++;
    if (r.endedTurn) s.endedTurn++;
  }
  return out;
}

export interface TransferRow { model: string; scores: Record<Lang, LangScore>; heldoutLoss: Record<Lang, number> }

const pct = (n: number, d: number) => (d ? `${((100 * n) / d).toFixed(0)}% (${n}/${d})` : 'n/a');
const loss = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');

/** The markdown table of the experiment: one row per model, per prompt language the three measures. */
export function transferTable(rows: readonly TransferRow[]): string {
  const head = ['SFT data', 'ko prompts: reply in Korean', 'en prompts: reply in English', 'ko: ends with <\\|endofturn\\|>', 'en: ends with <\\|endofturn\\|>', 'held-out loss ko', 'held-out loss en'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i ? '---:' : '---')).join('|')}|`];
  for (const r of rows) {
    const { ko, en } = r.scores;
    lines.push(`| ${[r.model, pct(ko.sameLanguage, ko.prompts), pct(en.sameLanguage, en.prompts), pct(ko.endedTurn, ko.prompts), pct(en.endedTurn, en.prompts), loss(r.heldoutLoss.ko), loss(r.heldoutLoss.en)].join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}

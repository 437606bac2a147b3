// The per-document pass: category and language, quality filters, PII scrubbing, deduplication, in
// that order (filters first so PII work is not spent on dropped text; dedup after scrubbing so copies
// that differ only in an e-mail address still collide).
import { detectCategory, countScripts } from './detect.js';
import { QualityFilter, type FilterThresholds } from './filters.js';
import { scrubPii, type PiiType } from './pii.js';
import { Deduplicator, type DedupOptions } from './dedup.js';
import { countDrop, type BuildStats } from './stats.js';
import type { Category, Lang, RawDoc } from './types.js';

export interface ProcessOptions {
  filters: { enabled: boolean; thresholds: FilterThresholds };
  pii: { enabled: boolean; types: PiiType[]; placeholders: Record<PiiType, string> };
  dedup: DedupOptions;
}

export interface KeptDoc { text: string; category: Category; lang: Lang }

export class DocProcessor {
  readonly filter: QualityFilter;
  readonly dedup: Deduplicator;
  private readonly piiTypes: Set<PiiType>;

  constructor(readonly opts: ProcessOptions, readonly stats: BuildStats) {
    this.filter = new QualityFilter(opts.filters.thresholds);
    this.dedup = new Deduplicator(opts.dedup);
    this.piiTypes = new Set(opts.pii.types);
  }

  /** Runs one document through the pass; returns it cleaned, or undefined when dropped (and counted). */
  process(doc: RawDoc, fixedCategory: Category | 'auto'): KeptDoc | undefined {
    const s = this.stats;
    let text = doc.text;
    // one script count serves detection and the filters
    const sc = countScripts(text);
    let { category, lang } = detectCategory(text, doc.ext, sc);
    if (fixedCategory !== 'auto') {
      category = fixedCategory;
      if (category === 'code') lang = 'code';
      else if (lang === 'code') lang = 'other';
    }
    const cs = s.perCategory[category];
    cs.docsIn++;
    cs.bytesIn += Buffer.byteLength(text, 'utf8');
    s.langs[lang] = (s.langs[lang] ?? 0) + 1;
    if (!text.trim()) { countDrop(s, category, 'empty'); return undefined; }

    if (this.opts.filters.enabled) {
      const r = this.filter.check(text, category, lang, sc);
      s.boilerplateLines += r.boilerplateLines;
      if (!r.keep) { countDrop(s, category, r.reason); return undefined; }
      text = r.text;
    }
    if (this.opts.pii.enabled) {
      const r = scrubPii(text, this.opts.pii.placeholders, this.piiTypes);
      let any = false;
      for (const [t, n] of Object.entries(r.counts)) { s.pii[t as PiiType] = (s.pii[t as PiiType] ?? 0) + n; any = true; }
      if (any) s.piiDocs++;
      text = r.text;
    }
    if (this.opts.dedup.exact || this.opts.dedup.near) {
      s.dedup.checked++;
      const dup = this.dedup.add(text, lang);
      if (dup) {
        if (dup === 'exact') s.dedup.exact++; else s.dedup.near++;
        countDrop(s, category, dup === 'exact' ? 'exact_dup' : 'near_dup');
        return undefined;
      }
    }
    return { text, category, lang };
  }

  /** Re-registers an already kept document with the dedup tables (used when resuming a build). */
  remember(text: string, lang: Lang): void {
    this.dedup.add(text, lang);
  }
}

// Shared vocabulary of the data pipeline: categories, documents, and the one tokenizer surface it needs.

/** The three training categories of the HyperCLOVA X mixture. */
export type Category = 'korean' | 'multilingual' | 'code';
export const CATEGORIES: readonly Category[] = ['korean', 'multilingual', 'code'];

/** Languages the script-based identifier routes (other = anything it cannot name). */
export type Lang = 'ko' | 'en' | 'ja' | 'zh' | 'latin' | 'code' | 'other';
export const LANGS: readonly Lang[] = ['ko', 'en', 'ja', 'zh', 'latin', 'code', 'other'];

/**
 * The minimal tokenizer surface the pipeline depends on, so tests can plug in a byte encoder and the
 * real src/tokenizer Tokenizer fits structurally without this module importing it.
 */
export interface TextEncoder {
  encode(text: string): number[];
  readonly vocabSize: number;
  readonly special: { eot: number; fimPrefix: number; fimMiddle: number; fimSuffix: number; pad?: number };
}

/** One document as a reader yields it, before any filtering. */
export interface RawDoc {
  text: string;
  /** file path it came from and the 1-based line its record starts on (for error messages) */
  file: string;
  line: number;
  /** extension of the innermost file name (".py"), used by category detection */
  ext: string;
}

/** A bad record or file met while reading; reported with file and line, then skipped or fatal. */
export interface BadInput {
  file: string;
  line: number;
  reason: string;
}

export type OnBadInput = (bad: BadInput) => void;

/** Thrown by an onBad handler when the config says bad input is fatal; readers never swallow it. */
export class FatalInputError extends Error {
  constructor(bad: BadInput) {
    super(`${bad.file}:${bad.line}: ${bad.reason}`);
    this.name = 'FatalInputError';
  }
}

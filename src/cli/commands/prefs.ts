// `hcx prefs`: preference data for `hcx rm` and `hcx dpo`: build Korean pairs, or check a pairs file.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { defineCommand, defineGroup } from '../args.js';

const korean = defineCommand({
  summary: 'build Korean preference pairs (language confusion, repetition, padding) as JSONL',
  options: {
    out: { type: 'string', placeholder: 'FILE', required: true, description: 'the pairs file to write (JSONL: prompt, chosen, rejected, kind, source)' },
    from: { type: 'string', placeholder: 'FILE', description: 'Korean Q/A (CSV such as korean-chatbot-data/ChatbotData.csv, or messages JSONL); default the built-in chat data' },
    kinds: { type: 'string', placeholder: 'LIST', default: 'language,repetition,padding', description: 'comma-separated pair kinds' },
    limit: { type: 'number', integer: true, min: 1, description: 'use at most this many Q/A (spread over the file)' },
    seed: { type: 'number', integer: true, default: 1, description: 'seed of the rejected replies' },
  },
  notes: 'Every Q/A gives one pair per kind, its real answer chosen. language: an English reply rejected (the built-in data\n' +
    'uses the same fact\'s English answer; a file, a seeded pick from English conversational replies); repetition: the\n' +
    'answer with its last words looped; padding: non-answers padded to 3x the answer\'s length. See docs/training.md.',
  async run(o) {
    const { buildKoreanPairs, builtinKoreanQA, koreanPairRecord, readKoreanQA, KOREAN_PAIR_KINDS } = await import('../../data/prefs/korean.js');
    const { writeFileAtomic } = await import('../../util/atomic.js');
    const kinds = o.kinds.split(',').map((k) => k.trim()).filter(Boolean);
    for (const k of kinds) if (!(KOREAN_PAIR_KINDS as readonly string[]).includes(k)) throw new Error(`hcx prefs korean: --kinds: unknown kind "${k}" (kinds: ${KOREAN_PAIR_KINDS.join(', ')})`);
    let bad = 0;
    const qa = o.from ? await readKoreanQA(path.resolve(o.from), (b) => { if (bad++ < 10) process.stderr.write(`skipping ${b.file}:${b.line}: ${b.reason}\n`); }) : builtinKoreanQA();
    if (!qa.length) throw new Error(`hcx prefs korean: ${o.from ?? 'the built-in data'} holds no Korean question/answer pair`);
    const pairs = buildKoreanPairs(qa, { kinds: kinds as never, seed: o.seed, limit: o.limit });
    mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
    writeFileAtomic(o.out, pairs.map((p) => koreanPairRecord(p) + '\n').join(''));
    console.log(JSON.stringify({ out: o.out, qa: Math.min(qa.length, o.limit ?? Infinity), pairs: pairs.length, kinds, source: o.from ?? 'builtin' }));
  },
});

export const command = defineGroup({ summary: 'preference data for hcx rm and hcx dpo', subcommands: { korean } });

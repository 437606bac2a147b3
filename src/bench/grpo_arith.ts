// GRPO on a toy arithmetic set, at small scale: the sums of two digits asked in four phrasings (two
// Korean, two English), 15% of the items held out, scored GSM8K-style: the gsm8k task's own strict-match
// filter reads the number after "####" and exact match compares it with the reference
// (src/train/task_reward.ts). The demo's SFT model is first tuned on the training items where only a share
// (`--marked-share`, 30%) of the answers carry the "#### s" line and the rest stop at "a + b = s", so its
// greedy answers mostly lack the marked line and score near zero although they often hold the right sum;
// GRPO from there, rewarded by the same scorer that `hcx eval gsm8k` uses, has to find and keep the
// format and the right sums, and the held-out exact match of its greedy answers is the measure.
// Run: node dist/src/bench/grpo_arith.js --demo runs/demo [--out runs/grpo-arith]; table in OUT/table.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { defineCommand, type OptionTable, type Values } from '../cli/args.js';
import { Rng } from '../data/hashing.js';
import { hcxTemplate } from '../data/chat/template.js';
import { latestCheckpoint, loadModel } from '../model/checkpoint.js';
import { generate } from '../model/generate.js';
import { Tokenizer } from '../tokenizer/index.js';
import { taskScorer } from '../train/task_reward.js';
import { run as grpo } from '../train/grpo.js';
import { sft } from '../train/sft.js';
import { parseSftConfig } from '../train/sft_config.js';
import { writeFileAtomic } from '../util/atomic.js';

const options = {
  demo: { type: 'string', placeholder: 'DIR', default: 'runs/demo', description: 'an hcx demo folder (npx hcx demo): its SFT model is the start' },
  out: { type: 'string', placeholder: 'DIR', default: 'runs/grpo-arith', description: 'work folder; the table goes to DIR/table.md and DIR/results.json' },
  'sft-steps': { type: 'number', integer: true, min: 1, default: 40, description: 'SFT steps on the training items before GRPO' },
  iterations: { type: 'number', integer: true, min: 1, default: 40, description: 'GRPO iterations' },
  group: { type: 'number', integer: true, min: 2, default: 8, description: 'samples per prompt (G)' },
  lr: { type: 'number', min: 0, default: 1e-4, description: 'GRPO learning rate' },
  'marked-share': { type: 'number', min: 0, max: 1, default: 0.3, description: 'share of SFT answers that end with the "#### N" line the scorer reads (the rest stop at "= N")' },
  temperature: { type: 'number', min: 0.05, default: 1, description: 'sampling temperature of the groups (training uses the same)' },
} as const satisfies OptionTable;

export const command = defineCommand({ summary: 'GRPO raises exact match on held-out toy arithmetic (the gsm8k scorer as the reward)', options, run });

const PHRASINGS = [
  (a: number, b: number) => `${a} 더하기 ${b}는?`,
  (a: number, b: number) => `${a}+${b}는 얼마인가요?`,
  (a: number, b: number) => `What is ${a} plus ${b}?`,
  (a: number, b: number) => `Compute ${a} + ${b}.`,
];

/** Every (a, b, phrasing) item as a chat record whose assistant turn is the GSM8K-style reference. */
export function arithmeticItems(): string[] {
  const out: string[] = [];
  for (let a = 0; a <= 9; a++) for (let b = 0; b <= 9; b++) PHRASINGS.forEach((p) => {
    out.push(JSON.stringify({ messages: [{ role: 'user', content: p(a, b) }, { role: 'assistant', content: `${a} + ${b} = ${a + b}\n#### ${a + b}` }] }));
  });
  return out;
}

export async function grpoArith(o: Values<typeof options>) {
  const demo = path.resolve(o.demo), out = path.resolve(o.out);
  if (!latestCheckpoint(demo)) throw new Error(`--demo ${demo}: no checkpoint there (run npx hcx demo)`);
  mkdirSync(out, { recursive: true });
  const log = (s: string) => process.stderr.write(s + '\n');
  const items = arithmeticItems();
  const r = new Rng(5);
  const order = items.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) { const j = r.int(i + 1); [order[i], order[j]] = [order[j], order[i]]; }
  const nHeld = Math.round(items.length * 0.15);
  const heldFile = path.join(out, 'heldout.jsonl'), trainFile = path.join(out, 'train.jsonl');
  writeFileSync(heldFile, order.slice(0, nHeld).map((i) => items[i]).join('\n') + '\n');
  writeFileSync(trainFile, order.slice(nHeld).map((i) => items[i]).join('\n') + '\n');
  // SFT rows: most answers stop at "a + b = s", a share ends with the "#### s" line the gsm8k scorer needs.
  const sftFile = path.join(out, 'sft.jsonl');
  writeFileSync(sftFile, order.slice(nHeld).map((i) => {
    const rec = JSON.parse(items[i]) as { messages: { role: string; content: string }[] };
    if (r.next() >= o.markedShare) rec.messages[1].content = rec.messages[1].content.split('\n')[0];
    return JSON.stringify(rec);
  }).join('\n') + '\n');

  const sftCfg = parseSftConfig({
    from: demo, tokenizer: path.join(demo, 'tokenizer.json'), data: [sftFile], runDir: path.join(out, 'sft'), seqLen: 256, packing: 'bfd', steps: o.sftSteps, batchSize: 8,
    lr: 1e-3, warmupSteps: Math.min(5, o.sftSteps), heldout: 0, evalEvery: 0, saveEvery: 0, keepCheckpoints: 1, seed: 1,
  }, 'grpo-arith sft', undefined, 'none', { maxSeqLen: 1024 }).cfg;
  const s = await sft(sftCfg, { quiet: true });
  log(`grpo-arith: SFT on ${items.length - nHeld} items, loss ${s.metrics[0].loss.toFixed(3)} -> ${s.metrics[s.metrics.length - 1].loss.toFixed(3)}`);

  const t0 = Date.now();
  const g = await grpo({
    from: s.finalCheckpoint, prompts: [trainFile], heldoutPrompts: [heldFile], reward: 'gsm8k', runDir: path.join(out, 'grpo'), iterations: o.iterations,
    promptsPerIteration: 8, samplesPerPrompt: o.group, maxNewTokens: 16, temperature: o.temperature, lr: o.lr, batchSize: 16, miniBatchSize: 64, evalEvery: Math.max(1, Math.round(o.iterations / 6)), seed: 1, logEvery: 10,
  }, { quiet: false });
  const seconds = (Date.now() - t0) / 1000;
  // Both of the gsm8k task's filters on the greedy held-out answers: strict-match (the "####" line, GRPO's
  // reward) and flexible-extract (the last number anywhere), so format and arithmetic can be told apart.
  const tok = Tokenizer.load(path.join(demo, 'tokenizer.json')), tpl = hcxTemplate(tok);
  const held = order.slice(0, nHeld).map((i) => JSON.parse(items[i]) as { messages: { role: 'user' | 'assistant'; content: string }[] });
  const score = (ck: string) => {
    const model = loadModel(ck);
    const strict = taskScorer('gsm8k', 'strict-match'), flexible = taskScorer('gsm8k', 'flexible-extract');
    let st = 0, fl = 0;
    for (const h of held) {
      const reply = tok.decode(generate(model, tpl.prompt(h.messages.slice(0, 1)), { maxNewTokens: 16, temperature: 0, stopTokens: tpl.stopTokens }).ids);
      st += strict(reply, h.messages[1].content); fl += flexible(reply, h.messages[1].content);
    }
    return { strict: st / held.length, flexible: fl / held.length };
  };
  const before = score(s.finalCheckpoint), after = score(g.finalCheckpoint);
  const evals = [[0, g.baseline] as [number, number], ...g.metrics.filter((m) => m.heldout_score !== undefined).map((m) => [m.iteration, m.heldout_score!] as [number, number])];
  const trainReward = (k: number[]) => k.reduce((a, i) => a + g.metrics[i].reward, 0) / k.length;
  const n = g.metrics.length, q = Math.max(1, Math.floor(n / 5));
  const table = [
    `| model | held-out exact match (${nHeld} items, greedy) |`, '|---|---:|',
    `| demo SFT model + ${o.sftSteps} SFT steps on the training items (${(o.markedShare * 100).toFixed(0)}% of answers marked "#### s") | ${(g.baseline * 100).toFixed(1)}% |`,
    ...evals.slice(1).map(([it, em]) => `| ... + GRPO, ${it} iterations | ${(em * 100).toFixed(1)}% |`),
    '',
    `The same greedy answers under both gsm8k filters: strict-match (the "####" line; GRPO's reward) ${(before.strict * 100).toFixed(1)}% -> ${(after.strict * 100).toFixed(1)}%, ` +
      `flexible-extract (the last number in the reply) ${(before.flexible * 100).toFixed(1)}% -> ${(after.flexible * 100).toFixed(1)}% (SFT -> GRPO's last checkpoint).`,
    `Training reward (mean exact match of the sampled answers): first ${q} iterations ${trainReward([...Array(q).keys()]).toFixed(3)}, last ${q} ${trainReward([...Array(q).keys()].map((i) => n - q + i)).toFixed(3)}; GRPO ${seconds.toFixed(0)} s.`,
  ].join('\n') + '\n';
  writeFileAtomic(path.join(out, 'table.md'), table);
  writeFileAtomic(path.join(out, 'results.json'), JSON.stringify({ settings: o, heldout: nHeld, train: items.length - nHeld, evals, before, after, metrics: g.metrics, seconds }, null, 2) + '\n');
  return { table, evals };
}

async function run(o: Values<typeof options>): Promise<void> {
  process.stdout.write((await grpoArith(o)).table);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  command.run(process.argv.slice(2), 'grpo_arith').catch((e: Error) => { process.stderr.write(`grpo_arith: ${e.message}\n`); process.exit(1); });
}

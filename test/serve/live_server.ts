// A live `hcx serve` for the client tests: the tiny fixture model saved as an hcx run (checkpoint +
// tokenizer.json) in a temp dir, served by a child process `node bin/hcx.js serve --port 0`, which prints
// the port it got; ready when /health answers. The clients then talk HTTP to a real process, as a user's would.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { saveCheckpoint } from '../../src/model/checkpoint.js';
import { Transformer } from '../../src/model/transformer.js';
import { Rng } from '../../src/tensor/index.js';
import type { Tokenizer } from '../../src/tokenizer/index.js';
import assert from 'node:assert/strict';
import { generate } from '../../src/model/generate.js';
import { nextTokenLogprobs, tiny } from './fixture.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** bin/hcx.js of this checkout (dist/test/serve -> the repository root). */
export const HCX_BIN = path.resolve(here, '..', '..', '..', 'bin', 'hcx.js');

export interface LiveServer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** The served model name (the run's folder name). */
  name: string;
  /** The run folder served (a temp dir, removed by stop()). */
  runDir: string;
  tok: Tokenizer;
  model: Transformer;
  /** What the server wrote to stderr so far. */
  log(): string;
  /** GET /v1/stats. */
  stats(): Promise<{ running: number; waiting: number; kvBlocksUsed: number; requestsFinished: number }>;
  /** hcx_requests_finished_total{reason} from /metrics. */
  finished(reason: string): Promise<number>;
  /** SIGTERM, wait for the exit, remove the run folder. */
  stop(): Promise<void>;
}

export interface LiveOptions {
  /** The run's folder name, hence the served model name (default "tiny-live"). */
  name?: string;
  /** The model's context (default 1024: room for a tools block). */
  maxSeqLen?: number;
  /** More `hcx serve` flags. */
  args?: string[];
  /**
   * Give end-of-text a large random head row, so that it is the most likely next token after about half of
   * all prefixes (the fixture's default makes it nearly never so): scoring then meets stop tokens.
   */
  eotLikely?: boolean;
  /** How long to wait for the server to come up (default 30 s). */
  startMs?: number;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

export async function startLiveServer(opts: LiveOptions = {}): Promise<LiveServer> {
  const { tok, model: base } = await tiny(opts.maxSeqLen ?? 1024);
  let model = base;
  if (opts.eotLikely) {
    model = Transformer.fromTensors(base.config, (name) => Float32Array.from(base.param(name).data));
    const head = model.param('lm_head.weight').data, d = base.config.dModel, rng = new Rng(7);
    for (let j = 0; j < d; j++) head[tok.special.eot * d + j] = 40 * (rng.next() - 0.5);
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'hcx-live-'));
  const name = opts.name ?? 'tiny-live';
  const runDir = path.join(dir, name);
  saveCheckpoint(runDir, { model, state: { step: 1, tokensSeen: 0 } });
  tok.save(path.join(runDir, 'tokenizer.json'));
  // f32: the in-process reference computes in f32 too, so greedy replies and logprobs match exactly.
  const env = { ...process.env };
  delete env.HCX_API_KEY;
  const child = spawn(process.execPath, [HCX_BIN, 'serve', '--model', runDir, '--port', '0', '--dtype', 'f32', ...(opts.args ?? [])], { stdio: ['ignore', 'ignore', 'pipe'], env });
  let log = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { log += s; });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited(child);
    clearTimeout(killer);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`hcx serve did not print its address within ${opts.startMs ?? 30_000} ms:\n${log}`)), opts.startMs ?? 30_000);
      const look = () => {
        const m = / at (http:\/\/[^\s;]+)/.exec(log);
        if (m) { clearTimeout(timer); resolve(m[1]); }
      };
      child.stderr!.on('data', look);
      child.once('exit', (code, sig) => { clearTimeout(timer); reject(new Error(`hcx serve exited (${code ?? sig}) before it was ready:\n${log}`)); });
      look();
    });
    for (let t = 0; ; t++) {
      const ok = await fetch(url + '/health').then((r) => r.ok, () => false);
      if (ok) break;
      if (t > 100) throw new Error(`hcx serve at ${url}: /health never answered 200:\n${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return {
      url, name, runDir, tok, model, log: () => log, stop,
      finished: async (reason) => {
        const text = await (await fetch(url + '/metrics')).text();
        const m = new RegExp(`^hcx_requests_finished_total\\{reason="${reason}"\\} (\\S+)$`, 'm').exec(text);
        return m ? Number(m[1]) : 0;
      },
      stats: async () => (await fetch(url + '/v1/stats')).json() as Promise<{ running: number; waiting: number; kvBlocksUsed: number; requestsFinished: number }>,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Polls until `cond` holds (or fails after `ms`). */
export async function until(cond: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Random weights rarely end a string or a number: a logit_bias on '"', ',' and '}' lets constrained values end within max_tokens. */
export function closingBias(tok: Tokenizer): Record<number, number> {
  return Object.fromEntries(['"', ',', '}'].map((c) => [tok.encode(c)[0], 4]));
}

export interface ChatTokenLogprob { token: string; logprob: number; top_logprobs: unknown[] }

/**
 * A chat reply's logprobs to the single user message `user`, under greedy decoding: one entry per token, the
 * tokens spelling `text`, each logprob the model's own log-softmax (1e-3), `top` alternatives each.
 */
export function checkChatLogprobs(live: LiveServer, user: string, content: ChatTokenLogprob[], text: string, top: number): void {
  const { tok, model } = live;
  const ids = tok.renderChat([{ role: 'user', content: user }], { addGenerationPrompt: true });
  const out = generate(model, ids, { maxNewTokens: content.length, stopTokens: [tok.special.endofturn, tok.special.eot] }).ids;
  assert.equal(content.length, out.length);
  assert.equal(content.map((t) => t.token).join(''), text);
  const ref = nextTokenLogprobs(model, [...ids, ...out]);
  content.forEach((t, i) => {
    assert.ok(Math.abs(t.logprob - ref[ids.length - 1 + i][out[i]]) < 1e-3, `token ${i}: ${t.logprob} vs ${ref[ids.length - 1 + i][out[i]]}`);
    assert.equal(t.top_logprobs.length, top);
  });
}

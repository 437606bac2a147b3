// Supervised fine-tuning: each conversation's assistant turns are trained to maximum likelihood, every
// other token (role headers, system, user and tool turns, padding) masked out. Conversations are packed
// into fixed-length rows by best-fit decreasing with block-diagonal attention (or padded, as the
// baseline), and the loss of a step is the mean over the supervised tokens of all its micro-batches.
// Full fine-tuning or LoRA adapters; checkpoints resume exactly after a kill.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { epochLayouts, loadChatData, RowStream, type ChatData } from '../data/chat/dataset.js';
import { padId, trainingTemplate } from '../data/chat/template.js';
import { latestCheckpoint, loadCheckpoint, readCheckpointFile } from '../model/checkpoint.js';
import { parameterCount, trainFlopsPerToken } from '../model/config.js';
import { Lora } from '../model/lora.js';
import { openForTraining, type OpenedModel } from '../model/load.js';
import type { Transformer } from '../model/transformer.js';
import { native } from '../native/index.js';
import { AdamW, backward, noGrad, tidy, F } from '../tensor/index.js';
import type { TextTokenizer } from '../tokenizer/index.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { Progress } from '../util/progress.js';
import { maskedTokenLoss } from './losses.js';
import { saveRunTokenizer } from './run_tokenizer.js';
import { changedFields, checkResumable, openRun, writeLossPlot, type Run } from './run.js';
import type { SftConfig } from './sft_config.js';
import { assertFinite, optimizerStep, scheduledLr } from './step.js';

export interface SftMetrics {
  step: number; epoch: number; loss: number; lr: number; grad_norm: number;
  /** Cumulative non-padding tokens and supervised targets; padding positions computed this step. */
  tokens: number; supervised: number; padding: number;
  tokens_per_s: number; mfu: number; elapsed_s: number; eval_loss?: number;
}

export interface SftOptions {
  resume?: boolean;
  quiet?: boolean;
  onStep?: (m: SftMetrics) => void;
}

export interface SftResult { runDir: string; finalCheckpoint: string; metrics: SftMetrics[]; model: Transformer; lora?: Lora; tokenizer: TextTokenizer }

/** sha256 of every example's ids and mask: a resumed run must see the same data in the same order. */
function dataFingerprint(d: ChatData): string {
  const h = createHash('sha256');
  for (const part of [d.train, d.heldout]) {
    h.update(`|${part.length}|`);
    for (const e of part) { h.update(new Uint8Array(e.ids.buffer, e.ids.byteOffset, e.ids.byteLength)); h.update(e.mask); }
  }
  return h.digest('hex');
}

export async function sft(cfg: SftConfig, opts: SftOptions = {}): Promise<SftResult> {
  const log = (s: string) => { if (!opts.quiet) process.stderr.write(s + '\n'); };
  const src = openForTraining(cfg.from, { tokenizer: cfg.tokenizer, flag: '--from' });
  const tok = src.tokenizer;
  const template = trainingTemplate(tok, cfg.template);
  log(`template: ${template.name === 'hcx' ? "hcx's <|role|>...<|endofturn|>" : `the model's own (${src.tokenizerPath})`}; turns end at ${template.stopTokens.map((t) => tok.idToToken(t) ?? t).join(', ')}`);
  const data = await loadChatData({
    sources: cfg.data.map((p) => ({ path: p, format: cfg.format, columns: cfg.columns, system: cfg.system })),
    template, seqLen: cfg.seqLen, truncation: cfg.truncation, heldout: cfg.heldout,
    seed: cfg.seed, onBadLine: cfg.onBadLine, log,
  });
  const run = openRun(cfg.runDir, { resume: !!opts.resume });
  try {
    const r = await trainLoop(cfg, src, tok, data, run, opts, log);
    return r;
  } finally {
    run.close();
  }
}

/** `run(config)`: the stage's entry point under the name every stage exports. */
export const run = sft;

async function trainLoop(cfg: SftConfig, src: OpenedModel, tok: TextTokenizer, data: ChatData, run: Run, opts: SftOptions, log: (s: string) => void): Promise<SftResult> {
  const model = src.model;
  model.computeDtype = cfg.computeDtype;
  const lora = cfg.lora ? new Lora(model, cfg.lora, cfg.seed) : undefined;
  const trainable = lora ? lora.parameters() : model.parameters();
  const opt = new AdamW(trainable, { beta1: cfg.beta1, beta2: cfg.beta2, weightDecay: cfg.weightDecay });
  const record: SftConfig = { ...cfg, model: { ...model.config } };
  const fingerprint = { source: src.source.fingerprint ?? 'unrecorded', data: dataFingerprint(data) };
  let step = 0, tokensSeen = 0, supervisedSeen = 0;
  const ck = opts.resume ? latestCheckpoint(cfg.runDir) : null;
  if (opts.resume && !ck) throw new Error(`--resume: ${cfg.runDir} has no checkpoint to resume from`);
  if (ck) {
    const c = loadCheckpoint(ck);
    checkResumable(ck, c, model.config);
    const before = c.trainConfig as Record<string, unknown>;
    if (JSON.stringify(before.lora) !== JSON.stringify(record.lora)) throw new Error(`--resume: ${ck} was trained with lora ${JSON.stringify(before.lora)}, the config now says ${JSON.stringify(record.lora)}`);
    const was = c.state.fingerprint as typeof fingerprint | undefined;
    if (was?.source !== fingerprint.source) throw new Error(`--resume: --from ${cfg.from} is not the model ${ck} started from (weights sha256 ${fingerprint.source.slice(0, 12)}..., recorded ${String(was?.source).slice(0, 12)}...)`);
    if (was?.data !== fingerprint.data) throw new Error(`--resume: the chat data differs from what ${ck} was trained on (files, their contents, seqLen, template or held-out split changed)`);
    const changed = changedFields(before, record as unknown as Record<string, unknown>);
    if (changed.length) log(`resume: settings changed since ${ck}: ${changed.join('; ')}`);
    if (lora) {
      lora.load(readCheckpointFile(ck, 'adapter_model.safetensors'), path.join(ck, 'adapter_model.safetensors'));
      lora.rng.setState(c.state.rng as number[]);
    } else {
      for (const [name, t] of model.params) t.data.set(c.model.param(name).data);
    }
    opt.loadState(c.optimizer!);
    ({ step, tokensSeen } = c.state);
    supervisedSeen = c.state.supervisedSeen as number;
    run.truncateMetrics(step);
  }
  run.recordConfig(record);
  saveRunTokenizer(cfg.runDir, src, !!ck);

  const B = cfg.batchSize, A = cfg.gradAccum;
  const stream = new RowStream(data.train, cfg.packing, cfg.seqLen, cfg.seed);
  const held = new RowStream(data.heldout, cfg.packing, cfg.seqLen, cfg.seed, false);
  const totalSteps = cfg.steps ?? Math.ceil((cfg.epochs * stream.rowsPerEpoch) / (B * A));
  const truncatedShare = data.stats.tokens ? data.stats.truncatedTokens / data.stats.tokens : 0;
  const layouts = epochLayouts(stream, B, totalSteps * A).map((e) => ({ ...e, truncated_share: truncatedShare }));
  writeJsonAtomic(path.join(cfg.runDir, 'data.json'), { ...data.stats, train: data.train.length, heldout: data.heldout.length, rows_per_epoch: stream.rowsPerEpoch, epochs: layouts });
  const pc = parameterCount(model.config);
  log(`model: ${(pc.total / 1e6).toFixed(2)}M parameters from ${src.source.checkpoint ?? src.source.path}${lora ? `; LoRA rank ${cfg.lora!.rank} on ${cfg.lora!.targets.join(', ')}: ${(lora.numParameters / 1e6).toFixed(3)}M trained` : ''}; ${cfg.computeDtype}`);
  log(`data: ${data.stats.conversations} conversations (${data.train.length} train, ${data.heldout.length} held out), ${data.stats.truncatedConversations + data.stats.droppedConversations} over ${cfg.seqLen} tokens (${(truncatedShare * 100).toFixed(2)}% of tokens cut), ${data.stats.unsupervised} with nothing to train`);
  log(`rows: ${stream.rowsPerEpoch} per epoch (${cfg.packing === 'bfd' ? `packed into ${cfg.seqLen} tokens` : 'one conversation each, padded'}); ${totalSteps} steps of ${B} x ${A} rows; padding ${layouts.map((e) => `epoch ${e.epoch + 1} ${(e.padding_share * 100).toFixed(1)}%`).join(', ')}`);

  const pad = padId(tok);
  const peak = native.peakFlops(cfg.computeDtype, native.numThreads(), 100) * 1e9;
  const progress = new Progress('sft', totalSteps, !opts.quiet);
  const metrics: SftMetrics[] = [];
  const t0 = Date.now();
  let lastSaved = ck ?? '';
  try {
    while (step < totalSteps) {
      const stepStart = Date.now();
      const micro = Array.from({ length: A }, (_, i) => stream.batch((step * A + i) * B, B, pad));
      // The step's loss is a mean over all its supervised tokens: each micro-batch divides its sum by their total.
      const supervised = micro.reduce((s, b) => s + b.supervised, 0);
      let loss = 0, positions = 0, tokens = 0;
      for (const b of micro) {
        loss += tidy(() => {
          const logits = model.forward(b.ids, b.B, b.T, { positions: b.positions, segmentIds: b.segmentIds });
          const l = maskedTokenLoss(logits, b.targets, supervised);
          if (supervised > 0) backward(l);
          return l.item();
        });
        positions += b.B * b.T;
        tokens += b.tokens;
      }
      assertFinite('the loss', loss, step + 1, lastSaved);
      const lr = scheduledLr(cfg, step, totalSteps);
      const gradNorm = optimizerStep(opt, { clip: cfg.clip, lr, step: step + 1, lastGood: lastSaved });
      step++;
      tokensSeen += tokens;
      supervisedSeen += supervised;
      const dt = Math.max((Date.now() - stepStart) / 1000, 1e-9);
      const m: SftMetrics = {
        step, epoch: micro[0].epoch + 1, loss, lr, grad_norm: gradNorm, tokens: tokensSeen, supervised: supervisedSeen, padding: positions - tokens,
        tokens_per_s: Math.round(tokens / dt), mfu: peak > 0 ? ((positions / dt) * trainFlopsPerToken(model.config, micro[0].T)) / peak : 0, elapsed_s: (Date.now() - t0) / 1000,
      };
      if (cfg.evalEvery > 0 && data.heldout.length && (step % cfg.evalEvery === 0 || step === totalSteps)) {
        m.eval_loss = heldoutLoss(model, lora, held, Math.min(held.rowsPerEpoch, cfg.evalBatches * B), B, pad);
        assertFinite('the held-out loss', m.eval_loss, step, lastSaved);
      }
      metrics.push(m);
      run.appendMetrics(m);
      opts.onStep?.(m);
      if (step % cfg.logEvery === 0 || step === totalSteps || m.eval_loss !== undefined) {
        progress.update(step, { loss: m.loss, ...(m.eval_loss !== undefined ? { eval: m.eval_loss } : {}), 'tok/s': m.tokens_per_s, epoch: m.epoch });
      }
      if ((cfg.saveEvery > 0 && step % cfg.saveEvery === 0) || step === totalSteps) {
        const state = { step, tokensSeen, supervisedSeen, fingerprint, ...(lora ? { rng: lora.rng.getState() } : {}) };
        lastSaved = run.saveCheckpoint({
          model, optimizer: opt.state(), state, trainConfig: record,
          ...(lora ? { weights: lora.mergedTensors(), extraFiles: lora.files(src.source.checkpoint ?? src.source.path) } : {}),
        }, cfg.keepCheckpoints);
      }
    }
  } finally {
    progress.done();
  }
  writeLossPlot(run, 'hcx SFT loss', 'step');
  return { runDir: cfg.runDir, finalCheckpoint: lastSaved, metrics, model, lora, tokenizer: tok };
}

/** Mean loss over the supervised tokens of the first `rows` held-out rows (fixed order, no gradient). */
export function heldoutLoss(model: Transformer, lora: Lora | undefined, held: RowStream, rows: number, B: number, pad: number): number {
  if (lora) lora.training = false;
  let sum = 0, n = 0;
  try {
    for (let k = 0; k < rows; k += B) {
      const b = held.batch(k, Math.min(B, rows - k), pad);
      sum += tidy(() => noGrad(() => {
        const logits = model.forward(b.ids, b.B, b.T, { positions: b.positions, segmentIds: b.segmentIds });
        return F.crossEntropy(logits, b.targets, { reduction: 'sum' }).item();
      }));
      n += b.supervised;
    }
  } finally {
    if (lora) lora.training = true;
  }
  F.dropPackedWeights(model.parameters());
  return n > 0 ? sum / n : 0;
}

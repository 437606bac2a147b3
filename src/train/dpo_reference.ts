// DPO's reference log-probs, computed once and stored in the run folder so no reference model sits in
// memory while the policy trains: REFDIR/<hash>.f32 holds every pair's summed completion log-probs
// (train pairs then held-out pairs, chosen then rejected), REFDIR/<hash>.json what they were computed
// from. <hash> is the reference model's weights fingerprint: a resumed run finds its file and reuses it,
// a different reference finds none and recomputes; changed pairs (another data fingerprint) recompute too.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { packedPairBatch, type TokenizedPair } from '../data/prefs/dataset.js';
import type { ModelSource } from '../model/load.js';
import type { Transformer } from '../model/transformer.js';
import { F, noGrad, tidy } from '../tensor/index.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { packedSequenceLogProbs } from './preference_losses.js';

/** sha256 of a model's weights: an hcx checkpoint's recorded checksum, else the weight file(s) hashed. */
export function weightsHash(source: ModelSource): string {
  if (source.fingerprint) return source.fingerprint;
  const p = source.path;
  const files = statSync(p).isDirectory()
    ? readdirSync(p).filter((f) => /\.(safetensors|gguf|bin)$/.test(f)).sort().map((f) => path.join(p, f))
    : [p];
  if (!files.length) throw new Error(`${p}: no weight files to fingerprint the reference by`);
  const h = createHash('sha256');
  for (const f of files) { h.update(`${path.basename(f)}\0`); h.update(readFileSync(f)); }
  return h.digest('hex');
}

/** Summed completion log-probs [2N] of `pairs` (chosen, rejected interleaved), B pairs per forward. */
export function pairLogProbs(model: Transformer, pairs: readonly TokenizedPair[], B: number): Float32Array {
  const out = new Float32Array(2 * pairs.length);
  for (let k = 0; k < pairs.length; k += B) {
    const b = packedPairBatch(pairs.slice(k, k + B));
    tidy(() => noGrad(() => out.set(packedSequenceLogProbs(model.forward(b.ids, 1, b.T, { positions: b.positions, segmentIds: b.segmentIds }), b.targets, b.segmentIds, b.sides).data, 2 * k)));
  }
  F.dropPackedWeights(model.parameters());
  return out;
}

export interface ReferenceMeta { reference: string; hash: string; data: string; pairs: number; computeDtype: string }

export interface ReferenceLogps {
  /** Each pair's [chosen, rejected] reference log-probs. */
  of(p: TokenizedPair): [number, number];
  file: string;
  hash: string;
  /** Whether the stored file was used (false: computed now). */
  reused: boolean;
}

/**
 * The reference log-probs of `pairs`, read from REFDIR when stored for this reference hash and data, else
 * computed by `open()` (called only then) and stored.
 */
export function referenceLogps(o: {
  dir: string; hash: string; reference: string; dataFingerprint: string; computeDtype: string; pairs: readonly TokenizedPair[];
  B: number; open: () => Transformer; log?: (s: string) => void;
}): ReferenceLogps {
  const file = path.join(o.dir, `${o.hash}.f32`), metaFile = path.join(o.dir, `${o.hash}.json`);
  const want: ReferenceMeta = { reference: o.reference, hash: o.hash, data: o.dataFingerprint, pairs: o.pairs.length, computeDtype: o.computeDtype };
  let values: Float32Array | null = null;
  if (existsSync(file) && existsSync(metaFile)) {
    const had = JSON.parse(readFileSync(metaFile, 'utf8')) as ReferenceMeta;
    const bytes = readFileSync(file);
    if (had.data === want.data && had.pairs === want.pairs && had.computeDtype === want.computeDtype && bytes.length === 8 * want.pairs) {
      values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
      o.log?.(`reference log-probs: reusing ${file} (${want.pairs} pairs)`);
    } else {
      o.log?.(`reference log-probs: ${file} was computed for other pairs or dtype; recomputing`);
    }
  }
  const reused = values !== null;
  if (!values) {
    const t0 = Date.now();
    values = pairLogProbs(o.open(), o.pairs, o.B);
    writeFileAtomic(file, Buffer.from(values.buffer, values.byteOffset, values.byteLength));
    writeJsonAtomic(metaFile, want);
    o.log?.(`reference log-probs: ${want.pairs} pairs in ${((Date.now() - t0) / 1000).toFixed(1)}s, stored in ${file}`);
  }
  const index = new Map(o.pairs.map((p, i) => [p, i]));
  const v = values;
  return {
    of(p) {
      const i = index.get(p);
      if (i === undefined) throw new Error('dpo: a pair without reference log-probs');
      return [v[2 * i], v[2 * i + 1]];
    },
    file, hash: o.hash, reused,
  };
}

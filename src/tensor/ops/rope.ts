// Fused rotary position embedding for x [batch, time, heads, headDim] (rotate-half convention).
import { record } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { K, shapeStr } from './util.js';

export interface RopeOptions {
  /** Frequency base (10000 in Llama; larger bases suit longer contexts). */
  base?: number;
  /** Absolute position of time step 0 (the KV-cache length when decoding). */
  offset?: number;
  /** Explicit position of every token, [batch * time] (packed documents restarting at 0). */
  positions?: Int32Array;
  /** Multiplies positions (linear position interpolation when extending the context). */
  positionScale?: number;
  /** Inverse frequency of each of the headDim/2 pairs, replacing base^(-2i/headDim) (RoPE scaling). */
  invFreq?: Float64Array;
  /** Multiplies cos and sin (YaRN's attention factor); default 1. */
  factor?: number;
}

export function ropePositions(batch: number, time: number, offset = 0): Int32Array {
  const p = new Int32Array(batch * time);
  for (let b = 0; b < batch; b++) for (let t = 0; t < time; t++) p[b * time + t] = offset + t;
  return p;
}

export function rope(x: Tensor, opts: RopeOptions = {}): Tensor {
  if (x.ndim !== 4) throw new Error(`rope: expected [batch, time, heads, headDim], got ${shapeStr(x.shape)}`);
  const [B, T, H, D] = x.shape;
  const pos = opts.positions ?? ropePositions(B, T, opts.offset ?? 0);
  if (pos.length !== B * T) throw new Error(`rope: ${pos.length} positions for ${B * T} tokens`);
  const base = opts.base ?? 10000, ps = opts.positionScale ?? 1, inv = opts.invFreq ?? null, f = opts.factor ?? 1;
  if (inv && inv.length !== D / 2) throw new Error(`rope: ${inv.length} inverse frequencies for head dimension ${D}`);
  const y = Tensor.empty(x.shape);
  // Plain RoPE passes no frequency arguments (each costs the kernel an argument read).
  if (inv || f !== 1) K.rope(x.data, y.data, pos, B * T, H, D, base, ps, 1, inv, f);
  else K.rope(x.data, y.data, pos, B * T, H, D, base, ps, 1);
  return record(y, 'rope', [x], (g, ctx) => {
    const gx = ctx.gradFor(0);
    if (!gx) return;
    const out = gx[1] ? Tensor.empty(x.shape).data : gx[0];
    K.rope(g, out, pos, B * T, H, D, base, ps, -1, inv, f);
    if (gx[1]) K.axpy(gx[0], out, 1);
  });
}

// Batched matrix product C = op(A) op(B), with op = optional transpose of the last two axes.
// A is [..., M, K] (or [..., K, M] with transA); B is [..., K, N] (or [..., N, K] with transB) or a
// matrix shared by every batch, the nn.Linear case, which runs as one large GEMM.
import { record } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { K, shapeStr } from './util.js';

export interface MatmulOptions { transA?: boolean; transB?: boolean }

interface Plan { batch: number; M: number; N: number; K: number; sA: number; sB: number; outShape: number[] }

function plan(a: Tensor, b: Tensor, tA: boolean, tB: boolean): Plan {
  if (a.ndim < 2 || b.ndim < 2) throw new Error(`matmul: operands need 2+ dimensions, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const M = tA ? ac : ar, Ka = tA ? ar : ac, Kb = tB ? bc : br, N = tB ? br : bc;
  if (Ka !== Kb) throw new Error(`matmul: inner dimensions differ: ${shapeStr(a.shape)}${tA ? 'ᵀ' : ''} x ${shapeStr(b.shape)}${tB ? 'ᵀ' : ''}`);
  const batchA = a.shape.slice(0, -2), batchB = b.shape.slice(0, -2);
  const nA = batchA.reduce((x, y) => x * y, 1), nB = batchB.reduce((x, y) => x * y, 1);
  if (b.ndim > 2 && (batchA.length !== batchB.length || batchA.some((d, i) => d !== batchB[i]))) {
    throw new Error(`matmul: batch dimensions differ: ${shapeStr(a.shape)} x ${shapeStr(b.shape)}`);
  }
  return { batch: nA, M, N, K: Ka, sA: M * Ka, sB: nB > 1 ? Ka * N : 0, outShape: [...batchA, M, N] };
}

export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const tA = !!opts.transA, tB = !!opts.transB;
  const p = plan(a, b, tA, tB);
  const out = Tensor.empty(p.outShape);
  // A shared B with an untransposed A is one [batch*M, K] x [K, N] product.
  const flat = p.sB === 0 && !tA && p.batch > 1;
  const bt = flat ? 1 : p.batch, Mr = flat ? p.batch * p.M : p.M;
  K.sgemm(a.data, b.data, out.data, bt, Mr, p.N, p.K, +tA, +tB, 1, 0, flat ? 0 : p.sA, p.sB, flat ? 0 : p.M * p.N);
  return record(out, 'matmul', [a, b], (g, ctx) => {
    const ga = ctx.gradFor(0);
    if (ga) {
      const [buf, acc] = ga;
      if (!tA) {
        // dA = dC op(B)^T : [M,N] x [N,K]
        K.sgemm(g, b.data, buf, bt, Mr, p.K, p.N, 0, tB ? 0 : 1, 1, acc ? 1 : 0, flat ? 0 : p.M * p.N, p.sB, flat ? 0 : p.sA);
      } else {
        // A stored [K,M]: dA = op(B) dC^T : [K,N] x [N,M]
        K.sgemm(b.data, g, buf, p.batch, p.K, p.M, p.N, tB ? 1 : 0, 1, 1, acc ? 1 : 0, p.sB, p.M * p.N, p.sA);
      }
    }
    const gb = ctx.gradFor(1);
    if (gb) {
      const [buf, acc] = gb;
      // A shared B sums its gradient over the batch: accumulate after the first product.
      const shared = p.sB === 0 && p.batch > 1;
      const steps = shared && !flat ? p.batch : 1;
      for (let i = 0; i < steps; i++) {
        const beta = acc || i > 0 ? 1 : 0;
        const aOff = i * p.sA, gOff = i * p.M * p.N;
        const nb = shared ? 1 : p.batch;
        const Ar = a.data.subarray(aOff), Gr = g.subarray(gOff);
        const rows = flat ? p.batch * p.M : p.M;
        if (!tB) {
          // dB = op(A)^T dC : [K,M] x [M,N]
          K.sgemm(Ar, Gr, buf, nb, p.K, p.N, rows, tA ? 0 : 1, 0, 1, beta, shared ? 0 : p.sA, shared ? 0 : p.M * p.N, shared ? 0 : p.sB);
        } else {
          // B stored [N,K]: dB = dC^T op(A) : [N,M] x [M,K]
          K.sgemm(Gr, Ar, buf, nb, p.N, p.K, rows, 1, tA ? 1 : 0, 1, beta, shared ? 0 : p.M * p.N, shared ? 0 : p.sA, shared ? 0 : p.sB);
        }
      }
    }
  });
}

// Plain float64 reference implementations the engine's ops are checked against.

/** C = op(A) op(B) for row-major matrices, batch-major. */
export function matmulRef(a: Float64Array, b: Float64Array, batch: number, M: number, N: number, K: number,
  tA: boolean, tB: boolean, bShared: boolean): Float64Array {
  const c = new Float64Array(batch * M * N);
  for (let p = 0; p < batch; p++) {
    const ao = p * M * K, bo = bShared ? 0 : p * K * N;
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const av = tA ? a[ao + k * M + i] : a[ao + i * K + k];
        const bv = tB ? b[bo + j * K + k] : b[bo + k * N + j];
        s += av * bv;
      }
      c[p * M * N + i * N + j] = s;
    }
  }
  return c;
}

export function broadcastRef(a: Float64Array, as: number[], b: Float64Array, bs: number[], f: (x: number, y: number) => number): Float64Array {
  const nd = Math.max(as.length, bs.length);
  const pa = [...Array(nd - as.length).fill(1), ...as], pb = [...Array(nd - bs.length).fill(1), ...bs];
  const os = pa.map((d, i) => Math.max(d, pb[i]));
  const n = os.reduce((x, y) => x * y, 1);
  const out = new Float64Array(n);
  const idxOf = (flat: number, shape: number[]) => {
    let off = 0, mul = 1, rem = flat;
    const coords: number[] = [];
    for (let d = nd - 1; d >= 0; d--) { coords[d] = rem % os[d]; rem = Math.floor(rem / os[d]); }
    for (let d = nd - 1; d >= 0; d--) { off += (shape[d] === 1 ? 0 : coords[d]) * mul; mul *= shape[d]; }
    return off;
  };
  for (let i = 0; i < n; i++) out[i] = f(a[idxOf(i, pa)], b[idxOf(i, pb)]);
  return out;
}

export function softmaxRow(x: Float64Array, off: number, n: number): Float64Array {
  let m = -Infinity;
  for (let j = 0; j < n; j++) m = Math.max(m, x[off + j]);
  const e = new Float64Array(n);
  let s = 0;
  for (let j = 0; j < n; j++) { e[j] = Math.exp(x[off + j] - m); s += e[j]; }
  for (let j = 0; j < n; j++) e[j] /= s;
  return e;
}

/**
 * Naive softmax(Q K^T * scale) V with causal and GQA masking (and a causal sliding window); layout [B, T, H, D].
 * With seg ([B * S] segment ids over absolute positions) a query sees only keys of its own segment.
 */
export function attentionRef(q: Float64Array, k: Float64Array, v: Float64Array, B: number, T: number, S: number,
  Hq: number, Hkv: number, D: number, causal: boolean, qOffset: number, seg?: Int32Array, window = 0, scale = 1 / Math.sqrt(D)): Float64Array {
  const o = new Float64Array(B * T * Hq * D);
  for (let b = 0; b < B; b++) for (let h = 0; h < Hq; h++) {
    const kh = Math.floor(h / (Hq / Hkv));
    for (let t = 0; t < T; t++) {
      const visible = causal ? Math.min(S, qOffset + t + 1) : S;
      const first = window > 0 ? Math.max(0, qOffset + t + 1 - window) : 0;
      const s = new Float64Array(visible - first);
      for (let j = first; j < visible; j++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[((b * T + t) * Hq + h) * D + d] * k[((b * S + j) * Hkv + kh) * D + d];
        s[j - first] = seg && seg[b * S + j] !== seg[b * S + qOffset + t] ? -Infinity : dot * scale;
      }
      const p = softmaxRow(s, 0, visible - first);
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let j = first; j < visible; j++) acc += p[j - first] * v[((b * S + j) * Hkv + kh) * D + d];
        o[((b * T + t) * Hq + h) * D + d] = acc;
      }
    }
  }
  return o;
}

export function rmsnormRef(x: Float64Array, w: Float64Array, rows: number, D: number, eps: number): Float64Array {
  const y = new Float64Array(rows * D);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < D; j++) s += x[r * D + j] ** 2;
    const rs = 1 / Math.sqrt(s / D + eps);
    for (let j = 0; j < D; j++) y[r * D + j] = x[r * D + j] * rs * w[j];
  }
  return y;
}

export function ropeRef(x: Float64Array, pos: Int32Array, T: number, H: number, D: number, base: number, scale: number,
  invFreq?: Float64Array, factor = 1): Float64Array {
  const y = new Float64Array(x.length);
  const half = D / 2;
  for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) {
    const o = (t * H + h) * D;
    for (let i = 0; i < half; i++) {
      const ang = pos[t] * scale * (invFreq ? invFreq[i] : Math.pow(base, (-2 * i) / D));
      const c = Math.cos(ang) * factor, s = Math.sin(ang) * factor;
      y[o + i] = x[o + i] * c - x[o + i + half] * s;
      y[o + i + half] = x[o + i + half] * c + x[o + i] * s;
    }
  }
  return y;
}

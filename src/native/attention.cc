// Causal grouped-query attention in the FlashAttention style: queries and keys are processed in
// tiles with an online softmax, so the T x T score matrix never exists; the forward pass keeps only
// the output and one log-sum-exp per query row, and the backward pass recomputes the scores tile by
// tile (FlashAttention-2 ordering: each task owns a key tile, so dK and dV need no locks; dQ
// is accumulated per thread and summed at the end).
// Layout: q, o [B, T, Hq, D]; k, v [B, S, Hkv, D]; lse [B, Hq, T]. Query row i sits at absolute
// position qOffset + i and, when causal, sees keys 0 ..= qOffset + i (qOffset > 0 for a KV cache).
// Segment ids (optional, int32 [B, S] over absolute positions) make the mask block-diagonal for packed
// sequences: a query sees only keys of its own segment. A (query tile, key tile) pair whose segment
// ranges do not meet is skipped outright; only tiles that straddle a boundary are masked per element.
// position qOffset + i and, when causal, sees keys 0 ..= qOffset + i (qOffset > 0 for a KV cache), or with a
// sliding window W only the last W of them: keys qOffset + i - W + 1 ..= qOffset + i.
#include <cmath>
#include <vector>
#include <cstring>
#include "napi_util.h"
#include "simd.h"
#include "threadpool.h"

namespace hcx {

constexpr int BQ = 64, BK = 64;

// Register-blocked tile products. Four rows of the left operand times NV vectors of columns keep
// 4*NV accumulators in registers: per step, NV vector loads and 4 broadcasts feed 4*NV FMAs.

// out[i][j0 .. j0+NV*W) = sum_d A[i*lda + d] * Bt[d*ldb + j]  for rows i0..i0+R (R <= 4)
template <class V, int NV, int R> HCX_INL void mmt_block(const float* A, int64_t lda, const float* Bt, int ldb, int D, float* out, int ldo) {
  constexpr int W = VT<V>::W;
  V c[R][NV];
#pragma GCC unroll 4
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) c[r][v] = V{};
  for (int d = 0; d < D; d++) {
    V b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) b[v] = vload<V>(Bt + d * ldb + v * W);
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
      V a = vset<V>(A[r * lda + d]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) c[r][v] += a * b[v];
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) vstore(out + r * ldo + v * W, c[r][v]);
}

template <class V, int NV> HCX_INL void mmt_rows(const float* A, int64_t lda, int R, const float* Bt, int ldb, int D, float* out, int ldo) {
  int i = 0;
  for (; i + 4 <= R; i += 4) mmt_block<V, NV, 4>(A + i * lda, lda, Bt, ldb, D, out + i * ldo, ldo);
  for (; i < R; i++) mmt_block<V, NV, 1>(A + i * lda, lda, Bt, ldb, D, out + i * ldo, ldo);
}

// out[i][0..C) = sum_d A[i*lda + d] * Bt[d*ldb + j]  (vectorised over j)
template <class V> HCX_INL void mm_rows_t(const float* A, int64_t lda, int R, const float* Bt, int ldb, int C, int D,
                                          float* out, int ldo) {
  constexpr int W = VT<V>::W;
  int j = 0;
  for (; j + 4 * W <= C; j += 4 * W) mmt_rows<V, 4>(A, lda, R, Bt + j, ldb, D, out + j, ldo);
  for (; j + W <= C; j += W) mmt_rows<V, 1>(A, lda, R, Bt + j, ldb, D, out + j, ldo);
  for (; j < C; j++)
    for (int i = 0; i < R; i++) {
      float s = 0;
      for (int d = 0; d < D; d++) s += A[i * lda + d] * Bt[d * ldb + j];
      out[i * ldo + j] = s;
    }
}

// out[i*ldo + d0 .. d0+NV*W) += sum_j P[i*ldp + j] * X[j*ldx + d]  for rows i0..i0+R (R <= 4)
template <class V, int NV, int R> HCX_INL void acc_block(const float* P, int ldp, int C, const float* X, int64_t ldx, float* out, int64_t ldo) {
  constexpr int W = VT<V>::W;
  V c[R][NV];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) c[r][v] = vload<V>(out + r * ldo + v * W);
  for (int j = 0; j < C; j++) {
    V x[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) x[v] = vload<V>(X + j * ldx + v * W);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      V p = vset<V>(P[r * ldp + j]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) c[r][v] += p * x[v];
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) vstore(out + r * ldo + v * W, c[r][v]);
}

// Narrow column blocks (a head dimension of one or two vectors) take 8 rows at a time, so each loaded
// vector of X still feeds 8 FMAs and the accumulators fill the registers.
template <class V, int NV> HCX_INL void acc_rows(const float* P, int ldp, int R, int C, const float* X, int64_t ldx, float* out, int64_t ldo) {
  constexpr int RB = NV >= 4 ? 4 : 8;
  int i = 0;
  for (; i + RB <= R; i += RB) acc_block<V, NV, RB>(P + i * ldp, ldp, C, X, ldx, out + i * ldo, ldo);
  for (; i < R; i++) acc_block<V, NV, 1>(P + i * ldp, ldp, C, X, ldx, out + i * ldo, ldo);
}

// The next narrower vector type: a head dimension below the native width (8 with AVX-512) still runs in
// vectors rather than in the scalar remainder loop.
template <class V> struct Narrower;
template <> struct Narrower<v16f> { typedef v8f type; };
template <> struct Narrower<v8f> { typedef v4f type; };

// out[i*ldo + 0..D) += sum_j P[i*ldp + j] * X[j*ldx + 0..D)  (vectorised over D)
template <class V> HCX_INL void mm_rows_acc(const float* P, int ldp, int R, int C, const float* X, int64_t ldx, int D,
                                            float* out, int64_t ldo) {
  constexpr int W = VT<V>::W;
  int d = 0;
  for (; d + 4 * W <= D; d += 4 * W) acc_rows<V, 4>(P, ldp, R, C, X + d, ldx, out + d, ldo);
  if (d + 2 * W <= D) { acc_rows<V, 2>(P, ldp, R, C, X + d, ldx, out + d, ldo); d += 2 * W; }
  for (; d + W <= D; d += W) acc_rows<V, 1>(P, ldp, R, C, X + d, ldx, out + d, ldo);
  if constexpr (W > 4) {
    if (d < D) mm_rows_acc<typename Narrower<V>::type>(P, ldp, R, C, X + d, ldx, D - d, out + d, ldo);
    return;
  }
  for (; d < D; d++)
    for (int i = 0; i < R; i++) {
      float s = out[i * ldo + d];
      for (int j = 0; j < C; j++) s += P[i * ldp + j] * X[j * ldx + d];
      out[i * ldo + d] = s;
    }
}

// s[j] = exp(s[j] - c) for j < n, vectorised; returns the sum.
template <class V> HCX_INL float exp_shift(float* s, int n, float c) {
  constexpr int W = VT<V>::W;
  V acc{};
  int j = 0;
  for (; j + W <= n; j += W) {
    V e = vexp<V>(vload<V>(s + j) - c);
    vstore(s + j, e);
    acc += e;
  }
  float sum = vsum(acc);
  for (; j < n; j++) { s[j] = std::exp(s[j] - c); sum += s[j]; }
  return sum;
}

// max(init, s[0..n)) with vector lanes (a scalar running max compiles to a store-forwarding chain).
template <class V> HCX_INL float max_row(const float* s, int n, float init) {
  constexpr int W = VT<V>::W;
  V m = vset<V>(init);
  int j = 0;
  for (; j + W <= n; j += W) m = vmax(m, vload<V>(s + j));
  float r = vmaxr(m);
  for (; j < n; j++) r = s[j] > r ? s[j] : r;
  return r;
}

struct Dims {
  int64_t B, T, S, Hq, Hkv, D, qOffset;
  int64_t Scap;  // rows allocated per batch in k and v (a KV cache holds more than S)
  float scale;
  bool causal;
  const int32_t* seg = nullptr;  // [B, S] segment id per absolute position, or null: one segment per row
  // Smallest and largest segment id of each query tile [B, nqb] and key tile [B, nkb] (when seg is set).
  const int32_t *qlo = nullptr, *qhi = nullptr, *klo = nullptr, *khi = nullptr;
  int64_t window = 0;  // 0: no sliding window
  int64_t qrow(int64_t b, int64_t t, int64_t h) const { return ((b * T + t) * Hq + h) * D; }
  int64_t krow(int64_t b, int64_t s, int64_t h) const { return ((b * Scap + s) * Hkv + h) * D; }
  // Number of keys query row t may see (before segment masking).
  int64_t visible(int64_t t) const { return causal ? std::min<int64_t>(S, qOffset + t + 1) : S; }
  int64_t nqb() const { return (T + BQ - 1) / BQ; }
  int64_t nkb() const { return (S + BK - 1) / BK; }
  // No query of tile qb shares a segment with a key of tile kb: the whole tile is masked.
  bool disjoint(int64_t b, int64_t qb, int64_t kb) const {
    int64_t iq = b * nqb() + qb, ik = b * nkb() + kb;
    return seg && (khi[ik] < qlo[iq] || klo[ik] > qhi[iq]);
  }
  // Every query and key of the pair is in one segment: no per-element masking needed.
  bool uniform(int64_t b, int64_t qb, int64_t kb) const {
    int64_t iq = b * nqb() + qb, ik = b * nkb() + kb;
    return !seg || (qlo[iq] == qhi[iq] && klo[ik] == khi[ik] && qlo[iq] == klo[ik]);
  }
  // First key query row t may see.
  int64_t first(int64_t t) const { return window > 0 ? std::max<int64_t>(0, qOffset + t + 1 - window) : 0; }
};

// The per-tile segment ranges Dims reads (sizes only grow, reused across calls like Packed).
struct SegTiles {
  std::vector<int32_t> qlo, qhi, klo, khi;
  void build(Dims& d) {
    if (!d.seg) return;
    int64_t nqb = d.nqb(), nkb = d.nkb();
    qlo.resize(d.B * nqb); qhi.resize(d.B * nqb); klo.resize(d.B * nkb); khi.resize(d.B * nkb);
    auto range = [&](const int32_t* s, int64_t n, int32_t& lo, int32_t& hi) {
      lo = hi = s[0];
      for (int64_t i = 1; i < n; i++) { lo = std::min(lo, s[i]); hi = std::max(hi, s[i]); }
    };
    for (int64_t b = 0; b < d.B; b++) {
      const int32_t* row = d.seg + b * d.S;
      for (int64_t t = 0; t < nqb; t++)
        range(row + d.qOffset + t * BQ, std::min<int64_t>(BQ, d.T - t * BQ), qlo[b * nqb + t], qhi[b * nqb + t]);
      for (int64_t t = 0; t < nkb; t++)
        range(row + t * BK, std::min<int64_t>(BK, d.S - t * BK), klo[b * nkb + t], khi[b * nkb + t]);
    }
    d.qlo = qlo.data(); d.qhi = qhi.data(); d.klo = klo.data(); d.khi = khi.data();
  }
};

// In a tile that straddles a segment boundary: sets s[j] = -inf for the keys k0 + j (j0 <= j < lim) outside
// query t's segment and returns how many stay visible.
HCX_INL int mask_segment(const Dims& d, int64_t b, int64_t t, int64_t k0, float* s, int j0, int lim) {
  const int32_t* row = d.seg + b * d.S;
  int32_t sq = row[d.qOffset + t];
  int seen = 0;
  for (int j = j0; j < lim; j++) {
    if (row[k0 + j] == sq) seen++;
    else s[j] = -INFINITY;
  }
  return seen;
}

// Operands laid out once per call so that no tile is copied per (query tile, key tile) pair:
// Q pre-scaled in its own layout; K and V transposed tile by tile, [B, Hkv, S/BK, D, BK], so each
// key tile is one contiguous block (a [D, S] layout would put its rows S floats apart, and a stride
// that is a multiple of 4 KiB maps every row to the same L1 set).
struct Packed {
  std::vector<float> qs, kt, vt;
  int64_t nkb = 0;
  int64_t tileOff(const Dims& d, int64_t b, int64_t kh, int64_t kb) const { return ((b * d.Hkv + kh) * nkb + kb) * d.D * BK; }
};

static void pack(const Dims& d, const float* q, const float* k, const float* v, bool withVt, Packed& p) {
  // Sizes only grow, so a training loop reuses the same memory every call (a fresh multi-MB vector
  // per call costs page faults and a memset). Tile columns past S are never read, so no clearing.
  p.qs.resize(d.B * d.T * d.Hq * d.D);
  p.nkb = (d.S + BK - 1) / BK;
  p.kt.resize(d.B * d.Hkv * p.nkb * d.D * BK);
  if (withVt) p.vt.resize(p.kt.size());
  parallel_for(d.B * d.T, 64, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; r++) {
      const float* src = q + r * d.Hq * d.D;
      float* dst = p.qs.data() + r * d.Hq * d.D;
      for (int64_t x = 0; x < d.Hq * d.D; x++) dst[x] = src[x] * d.scale;
    }
  });
  parallel_for(d.B * d.Hkv, 1, [&](int64_t g0, int64_t g1, int) {
    for (int64_t g = g0; g < g1; g++) {
      int64_t b = g / d.Hkv, kh = g % d.Hkv;
      for (int64_t s = 0; s < d.S; s++) {
        const float* kr = k + d.krow(b, s, kh);
        const float* vr = v + d.krow(b, s, kh);
        int64_t off = p.tileOff(d, b, kh, s / BK) + s % BK;
        for (int64_t x = 0; x < d.D; x++) {
          p.kt[off + x * BK] = kr[x];
          if (withVt) p.vt[off + x * BK] = vr[x];
        }
      }
    }
  });
}

template <class V>
HCX_INL void fwd_task(const Dims& d, const Packed& pk, const float* v, float* o, float* lse, int64_t task) {
  const int D = (int)d.D;
  int64_t nqb = (d.T + BQ - 1) / BQ;
  int64_t qb = task % nqb, h = (task / nqb) % d.Hq, b = task / (nqb * d.Hq);
  int64_t kh = h / (d.Hq / d.Hkv);
  int64_t q0 = qb * BQ;
  int nq = (int)std::min<int64_t>(BQ, d.T - q0);
  const int64_t ldq = d.Hq * d.D, ldv = d.Hkv * d.D;
  const float* Qs = pk.qs.data() + d.qrow(b, q0, h);
  std::vector<float> O(BQ * D, 0.f), Sb(BQ * BK), m(BQ, -INFINITY), l(BQ, 0.f);
  int64_t kend = d.visible(q0 + nq - 1);
  for (int64_t k0 = d.first(q0) / BK * BK; k0 < kend; k0 += BK) {
    if (d.disjoint(b, qb, k0 / BK)) continue;
    bool mixed = !d.uniform(b, qb, k0 / BK);
    int nk = (int)std::min<int64_t>(BK, kend - k0);
    mm_rows_t<V>(Qs, ldq, nq, pk.kt.data() + pk.tileOff(d, b, kh, k0 / BK), BK, nk, D, Sb.data(), BK);
    for (int i = 0; i < nq; i++) {
      float* s = &Sb[i * BK];
      // Keys j0 <= j < lim are visible to this row; a row may see none of this tile.
      int lim = (int)std::max<int64_t>(0, std::min<int64_t>(nk, d.visible(q0 + i) - k0));
      int j0 = (int)std::max<int64_t>(0, d.first(q0 + i) - k0);
      if (lim > j0 && mixed && mask_segment(d, b, q0 + i, k0, s, j0, lim) == 0) lim = 0;
      if (lim <= j0) { for (int j = 0; j < nk; j++) s[j] = 0.f; continue; }
      float mx = max_row<V>(s + j0, lim - j0, m[i]);
      float alpha = std::exp(m[i] - mx);
      float sum = exp_shift<V>(s + j0, lim - j0, mx);
      for (int j = 0; j < j0; j++) s[j] = 0.f;
      for (int j = lim; j < nk; j++) s[j] = 0.f;
      l[i] = l[i] * alpha + sum;
      m[i] = mx;
      if (alpha != 1.f) for (int x = 0; x < D; x++) O[i * D + x] *= alpha;
    }
    mm_rows_acc<V>(Sb.data(), BK, nq, nk, v + d.krow(b, k0, kh), ldv, D, O.data(), D);
  }
  for (int i = 0; i < nq; i++) {
    // A row that sees no key at all (only possible with segment ids that exclude the query's own
    // position) outputs zeros; lse = +inf makes its backward probabilities exactly 0.
    float inv = l[i] > 0 ? 1.f / l[i] : 0.f;
    float* orow = o + d.qrow(b, q0 + i, h);
    for (int x = 0; x < D; x++) orow[x] = O[i * D + x] * inv;
    lse[(b * d.Hq + h) * d.T + q0 + i] = l[i] > 0 ? m[i] + std::log(l[i]) : INFINITY;
  }
}

template <class V>
HCX_INL void bwd_task(const Dims& d, const Packed& pk, const float* k, const float* go, const float* lse,
                      const float* delta, float* gq_t, float* gk, float* gv, int64_t task) {
  const int D = (int)d.D;
  int64_t nkb = (d.S + BK - 1) / BK;
  int64_t kb = task % nkb, kh = (task / nkb) % d.Hkv, b = task / (nkb * d.Hkv);
  int64_t group = d.Hq / d.Hkv;
  int64_t k0 = kb * BK;
  int nk = (int)std::min<int64_t>(BK, d.S - k0);
  const int64_t ldq = d.Hq * d.D, ldk = d.Hkv * d.D;
  const float* Kb = k + d.krow(b, k0, kh);
  const float* Kt = pk.kt.data() + pk.tileOff(d, b, kh, kb);
  const float* Vt = pk.vt.data() + pk.tileOff(d, b, kh, kb);
  std::vector<float> dK(BK * D, 0.f), dV(BK * D, 0.f), P(BQ * BK), PT(BK * BQ), dP(BQ * BK);
  // First query row that sees key k0: qOffset + t >= k0.
  int64_t tstart = d.causal ? std::max<int64_t>(0, k0 - d.qOffset) : 0;
  // Past the last query row whose window still reaches the tile's last key: qOffset + t + 1 - W <= k0 + nk - 1.
  int64_t tend = d.window > 0 ? std::min<int64_t>(d.T, k0 + nk - 1 + d.window - d.qOffset) : d.T;
  for (int64_t hh = 0; hh < group; hh++) {
    int64_t h = kh * group + hh;
    for (int64_t q0 = (tstart / BQ) * BQ; q0 < tend; q0 += BQ) {
      if (d.disjoint(b, q0 / BQ, kb)) continue;
      bool mixed = !d.uniform(b, q0 / BQ, kb);
      int nq = (int)std::min<int64_t>(BQ, d.T - q0);
      const float* Qs = pk.qs.data() + d.qrow(b, q0, h);
      const float* dO = go + d.qrow(b, q0, h);
      mm_rows_t<V>(Qs, ldq, nq, Kt, BK, nk, D, P.data(), BK);
      mm_rows_t<V>(dO, ldq, nq, Vt, BK, nk, D, dP.data(), BK);
      for (int i = 0; i < nq; i++) {
        int64_t row = (b * d.Hq + h) * d.T + q0 + i;
        float L = lse[row], Di = delta[row];
        int lim = (int)std::max<int64_t>(0, std::min<int64_t>(nk, d.visible(q0 + i) - k0));
        int j0 = (int)std::min<int64_t>(lim, std::max<int64_t>(0, d.first(q0 + i) - k0));
        float* p = &P[i * BK];
        float* dp = &dP[i * BK];
        if (lim > j0 && mixed) mask_segment(d, b, q0 + i, k0, p, j0, lim);  // exp(-inf) below gives 0
        exp_shift<V>(p + j0, lim - j0, L);
        for (int j = j0; j < lim; j++) dp[j] = p[j] * (dp[j] - Di);  // dS
        for (int j = 0; j < j0; j++) { p[j] = 0.f; dp[j] = 0.f; }
        for (int j = lim; j < nk; j++) { p[j] = 0.f; dp[j] = 0.f; }
      }
      // dV += P^T dO
      for (int i = 0; i < nq; i++) for (int j = 0; j < nk; j++) PT[j * BQ + i] = P[i * BK + j];
      mm_rows_acc<V>(PT.data(), BQ, nk, nq, dO, ldq, D, dV.data(), D);
      // dK += dS^T (Q * scale)
      for (int i = 0; i < nq; i++) for (int j = 0; j < nk; j++) PT[j * BQ + i] = dP[i * BK + j];
      mm_rows_acc<V>(PT.data(), BQ, nk, nq, Qs, ldq, D, dK.data(), D);
      // dQ += scale * dS K
      for (int i = 0; i < nq; i++) for (int j = 0; j < nk; j++) dP[i * BK + j] *= d.scale;
      mm_rows_acc<V>(dP.data(), BK, nq, nk, Kb, ldk, D, gq_t + d.qrow(b, q0, h), ldq);
    }
  }
  for (int j = 0; j < nk; j++) {
    float* kr = gk + d.krow(b, k0 + j, kh);
    float* vr = gv + d.krow(b, k0 + j, kh);
    for (int x = 0; x < D; x++) { kr[x] += dK[j * D + x]; vr[x] += dV[j * D + x]; }
  }
}

HCX_TARGET_512 static void fwd_512(const Dims& d, const Packed& p, const float* v, float* o, float* l, int64_t t) { fwd_task<v16f>(d, p, v, o, l, t); }
HCX_TARGET_256 static void fwd_256(const Dims& d, const Packed& p, const float* v, float* o, float* l, int64_t t) { fwd_task<v8f>(d, p, v, o, l, t); }
HCX_TARGET_512 static void bwd_512(const Dims& d, const Packed& p, const float* k, const float* go, const float* l, const float* dl, float* gq, float* gk, float* gv, int64_t t) { bwd_task<v16f>(d, p, k, go, l, dl, gq, gk, gv, t); }
HCX_TARGET_256 static void bwd_256(const Dims& d, const Packed& p, const float* k, const float* go, const float* l, const float* dl, float* gq, float* gk, float* gv, int64_t t) { bwd_task<v8f>(d, p, k, go, l, dl, gq, gk, gv, t); }

static bool read_dims(Args& a, size_t at, Dims& d) {
  d.B = a.i64(at); d.T = a.i64(at + 1); d.S = a.i64(at + 2); d.Hq = a.i64(at + 3); d.Hkv = a.i64(at + 4);
  d.D = a.i64(at + 5); d.scale = (float)a.num(at + 6); d.causal = a.num(at + 7) != 0; d.qOffset = a.i64(at + 8);
  d.Scap = d.S;
  if (a.failed) return false;
  if (d.Hkv <= 0 || d.Hq % d.Hkv) { a.fail("attention: query heads must be a multiple of KV heads"); return false; }
  return true;
}

// Optional segment ids at argument `at`: an Int32Array of B * S, or null/undefined.
static bool read_segments(Args& a, size_t at, Dims& d) {
  if (a.argc <= at) return true;
  size_t n = 0;
  napi_valuetype t;
  napi_typeof(a.env, a.argv[at], &t);
  if (t == napi_null || t == napi_undefined) return true;
  d.seg = a.arr<int32_t>(at, &n);
  if (a.failed) return false;
  if ((int64_t)n != d.B * d.S) { a.fail("attention: segment ids must have B * S entries"); return false; }
  if (d.qOffset < 0 || d.qOffset + d.T > d.S) { a.fail("attention: with segment ids, queries must sit inside the keys (0 <= qOffset, qOffset + T <= S)"); return false; }
  return true;
}

// attention(q, k, v, o, lse, B, T, S, Hq, Hkv, D, scale, causal, qOffset[, kvCapacity[, segmentIds[, window]]])
// kvCapacity: rows per batch allocated in k and v (default S), so a KV cache is read in place.
// window: a causal sliding window of that many keys (0: none).
static napi_value AttentionFwd(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const float* q = a.arr<float>(0);
  const float* k = a.arr<float>(1);
  const float* v = a.arr<float>(2);
  float* o = a.arr<float>(3);
  float* lse = a.arr<float>(4);
  Dims d;
  if (a.failed || !read_dims(a, 5, d)) return nullptr;
  if (a.argc > 14) d.Scap = a.i64(14);
  if (a.argc > 16) d.window = a.i64(16);
  if (a.failed || d.Scap < d.S) { a.fail("attention: kvCapacity must be >= S"); return nullptr; }
  if (!read_segments(a, 15, d)) return nullptr;
  if (d.window < 0 || (d.window > 0 && !d.causal)) { a.fail("attention: window must be >= 0, and only with causal attention"); return nullptr; }
  static SegTiles st;
  st.build(d);
  int64_t tasks = d.B * d.Hq * ((d.T + BQ - 1) / BQ);
  Isa is = isa();
  static Packed pk;  // entry points run on the JS thread only, never concurrently
  pack(d, q, k, v, false, pk);
  // Tasks are dealt round-robin: under a causal mask later query tiles cost more.
  parallel_run(num_threads(), [&](int th, int nth) {
    for (int64_t t = th; t < tasks; t += nth) {
      if (is == Isa::Avx512) fwd_512(d, pk, v, o, lse, t);
      else if (is == Isa::Avx2) fwd_256(d, pk, v, o, lse, t);
      else fwd_task<v4f>(d, pk, v, o, lse, t);
    }
  });
  return undef(env);
}

// attentionBackward(q, k, v, o, lse, go, gq, gk, gv, B, T, S, Hq, Hkv, D, scale, causal, qOffset, accumulate[, segmentIds[, window]])
static napi_value AttentionBwd(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const float* q = a.arr<float>(0);
  const float* k = a.arr<float>(1);
  const float* v = a.arr<float>(2);
  const float* o = a.arr<float>(3);
  const float* lse = a.arr<float>(4);
  const float* go = a.arr<float>(5);
  size_t nq_el, nk_el;
  float* gq = a.arr<float>(6, &nq_el);
  float* gk = a.arr<float>(7, &nk_el);
  float* gv = a.arr<float>(8);
  Dims d;
  if (a.failed || !read_dims(a, 9, d)) return nullptr;
  bool acc = a.num(18) != 0;
  if (a.failed || !read_segments(a, 19, d)) return nullptr;
  if (a.argc > 20) d.window = a.i64(20);
  if (a.failed) return nullptr;
  if (d.window < 0 || (d.window > 0 && !d.causal)) { a.fail("attentionBackward: window must be >= 0, and only with causal attention"); return nullptr; }
  static SegTiles st;
  st.build(d);
  if (!acc) {
    std::fill(gq, gq + nq_el, 0.f);
    std::fill(gk, gk + nk_el, 0.f);
    std::fill(gv, gv + nk_el, 0.f);
  }
  // delta[b, h, t] = dot(dO, O) for the row: the softmax backward's per-row correction.
  static std::vector<float> delta;
  delta.resize(d.B * d.Hq * d.T);
  parallel_for(d.B * d.T, 16, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; r++) {
      int64_t b = r / d.T, t = r % d.T;
      for (int64_t h = 0; h < d.Hq; h++) {
        const float* orow = o + d.qrow(b, t, h);
        const float* grow = go + d.qrow(b, t, h);
        float s = 0;
        for (int64_t x = 0; x < d.D; x++) s += orow[x] * grow[x];
        delta[(b * d.Hq + h) * d.T + t] = s;
      }
    }
  });
  int nt = num_threads();
  static std::vector<std::vector<float>> gq_parts;
  if ((int)gq_parts.size() < nt) gq_parts.resize(nt);
  std::vector<char> used(nt, 0);  // not vector<bool>: threads set their own entries concurrently
  int64_t tasks = d.B * d.Hkv * ((d.S + BK - 1) / BK);
  Isa is = isa();
  static Packed pk;
  pack(d, q, k, v, true, pk);
  parallel_run(nt, [&](int th, int nth) {
    float* part = gq;
    if (th > 0) {
      gq_parts[th].resize(nq_el);
      std::fill(gq_parts[th].begin(), gq_parts[th].begin() + nq_el, 0.f);
      part = gq_parts[th].data();
      used[th] = 1;
    }
    // Key tiles are dealt round-robin so causal work is balanced between threads.
    for (int64_t t = th; t < tasks; t += nth) {
      if (is == Isa::Avx512) bwd_512(d, pk, k, go, lse, delta.data(), part, gk, gv, t);
      else if (is == Isa::Avx2) bwd_256(d, pk, k, go, lse, delta.data(), part, gk, gv, t);
      else bwd_task<v4f>(d, pk, k, go, lse, delta.data(), part, gk, gv, t);
    }
  });
  for (int th = 1; th < nt; th++)
    if (used[th]) {
      const float* p = gq_parts[th].data();
      for (size_t i = 0; i < nq_el; i++) gq[i] += p[i];
    }
  return undef(env);
}

void register_attention(napi_env env, napi_value exports) {
  define(env, exports, "attention", AttentionFwd);
  define(env, exports, "attentionBackward", AttentionBwd);
}

}  // namespace hcx

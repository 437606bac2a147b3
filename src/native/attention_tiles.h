// Tile products and row helpers of the flash attention kernels (attention.cc): register-blocked
// products of a query tile with a key tile, the vectorised exp/max of a score row.
#pragma once
#include <cmath>
#include <cstdint>
#include "simd.h"

namespace hcx {

// Register-blocked tile products. Four rows of the left operand times NV vectors of columns keep
// 4*NV accumulators in registers: per step, NV vector loads and 4 broadcasts feed 4*NV FMAs.

// out[i][j0 .. j0+NV*W) = sum_d A[i*lda + d] * Bt[d*ldb + j]  for rows i0..i0+R
template <class V, int NV, int R> HCX_INL void mmt_block(const float* A, int64_t lda, const float* Bt, int ldb, int D, float* out, int ldo) {
  constexpr int W = VT<V>::W;
  V c[R][NV];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) c[r][v] = V{};
  for (int d = 0; d < D; d++) {
    V b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) b[v] = vload<V>(Bt + d * ldb + v * W);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      V a = vset<V>(A[r * lda + d]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) c[r][v] += a * b[v];
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) vstore(out + r * ldo + v * W, c[r][v]);
}

// One or two vectors of columns take 8 rows at a time (8 * NV accumulators), like acc_rows.
template <class V, int NV> HCX_INL void mmt_rows(const float* A, int64_t lda, int R, const float* Bt, int ldb, int D, float* out, int ldo) {
  constexpr int RB = NV >= 4 ? 4 : 8;
  int i = 0;
  for (; i + RB <= R; i += RB) mmt_block<V, NV, RB>(A + i * lda, lda, Bt, ldb, D, out + i * ldo, ldo);
  for (; i < R; i++) mmt_block<V, NV, 1>(A + i * lda, lda, Bt, ldb, D, out + i * ldo, ldo);
}

// out[i][0..C) = sum_d A[i*lda + d] * Bt[d*ldb + j]  (vectorised over j). With `padded`, Bt and out
// have room (ldb, ldo) for C rounded up to the vector width: a partial last vector is computed whole
// (columns past C get scores nobody reads) instead of in the scalar loop.
template <class V> HCX_INL void mm_rows_t(const float* A, int64_t lda, int R, const float* Bt, int ldb, int C, int D,
                                          float* out, int ldo, bool padded = false) {
  constexpr int W = VT<V>::W;
  if (padded) C = (C + W - 1) / W * W;
  int j = 0;
  for (; j + 4 * W <= C; j += 4 * W) mmt_rows<V, 4>(A, lda, R, Bt + j, ldb, D, out + j, ldo);
  if (j + 2 * W <= C) { mmt_rows<V, 2>(A, lda, R, Bt + j, ldb, D, out + j, ldo); j += 2 * W; }
  for (; j + W <= C; j += W) mmt_rows<V, 1>(A, lda, R, Bt + j, ldb, D, out + j, ldo);
  for (; j < C; j++)
    for (int i = 0; i < R; i++) {
      float s = 0;
      for (int d = 0; d < D; d++) s += A[i * lda + d] * Bt[d * ldb + j];
      out[i * ldo + j] = s;
    }
}

// out[i*ldo + d0 .. d0+NV*W) += sum_j P[i*ldp + j] * X[j*ldx + d]  for rows i0..i0+R
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

}  // namespace hcx

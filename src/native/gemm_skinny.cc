// Skinny (decode-shaped) fp32 kernels, AVX-512: few rows of X against a big W that is streamed once, with no
// packing, either as dot products along K (W stored [N,K], the y = x W^T case) or as rows (W stored [K,N]).
// X is M x K row-major (ldx); the accumulators are scaled by alpha on store.
#include "gemm_skinny.h"
#include <immintrin.h>
#include <algorithm>

namespace hcx {
namespace {

inline void store_c(float* c, float v, float alpha, float beta) { *c = beta == 0.f ? alpha * v : alpha * v + beta * *c; }

// W stored [N, K]: C[m, n] = dot(X[m, :], W[n, :]); C element (m, n) at C + m*rsc + n*csc.
template <int MRR, int NRR>
HCX_T512 void dot_tile(int64_t K, const float* x, int64_t ldx, const float* w, int64_t ldw, float* c, int64_t rsc,
                       int64_t csc, float alpha, float beta) {
  __m512 acc[MRR][NRR];
  for (int i = 0; i < MRR; i++) for (int j = 0; j < NRR; j++) acc[i][j] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= K; k += 16) {
    __m512 xv[MRR], wv[NRR];
    for (int j = 0; j < NRR; j++) wv[j] = _mm512_loadu_ps(w + j * ldw + k);
    for (int i = 0; i < MRR; i++) xv[i] = _mm512_loadu_ps(x + i * ldx + k);
    for (int i = 0; i < MRR; i++) for (int j = 0; j < NRR; j++) acc[i][j] = _mm512_fmadd_ps(xv[i], wv[j], acc[i][j]);
  }
  if (k < K) {
    __mmask16 mk = (__mmask16)((1u << (K - k)) - 1);
    __m512 xv[MRR], wv[NRR];
    for (int j = 0; j < NRR; j++) wv[j] = _mm512_maskz_loadu_ps(mk, w + j * ldw + k);
    for (int i = 0; i < MRR; i++) xv[i] = _mm512_maskz_loadu_ps(mk, x + i * ldx + k);
    for (int i = 0; i < MRR; i++) for (int j = 0; j < NRR; j++) acc[i][j] = _mm512_fmadd_ps(xv[i], wv[j], acc[i][j]);
  }
  for (int i = 0; i < MRR; i++)
    for (int j = 0; j < NRR; j++) store_c(c + i * rsc + j * csc, _mm512_reduce_add_ps(acc[i][j]), alpha, beta);
}

template <int NRR>
HCX_T512 void dot_rows(int64_t M, int64_t K, const float* x, int64_t ldx, const float* w, int64_t ldw, float* c,
                       int64_t rsc, int64_t csc, float alpha, float beta) {
  int64_t m = 0;
  for (; m + 4 <= M; m += 4) dot_tile<4, NRR>(K, x + m * ldx, ldx, w, ldw, c + m * rsc, rsc, csc, alpha, beta);
  switch (M - m) {
    case 3: dot_tile<3, NRR>(K, x + m * ldx, ldx, w, ldw, c + m * rsc, rsc, csc, alpha, beta); break;
    case 2: dot_tile<2, NRR>(K, x + m * ldx, ldx, w, ldw, c + m * rsc, rsc, csc, alpha, beta); break;
    case 1: dot_tile<1, NRR>(K, x + m * ldx, ldx, w, ldw, c + m * rsc, rsc, csc, alpha, beta); break;
  }
}

}  // namespace

HCX_T512 void skinny_nt_avx512(int64_t M, int64_t n0, int64_t n1, int64_t K, const float* x, int64_t ldx,
                               const float* w, int64_t ldw, float* c, int64_t rsc, int64_t csc, float alpha,
                               float beta) {
  int64_t n = n0;
  for (; n + 4 <= n1; n += 4) dot_rows<4>(M, K, x, ldx, w + n * ldw, ldw, c + n * csc, rsc, csc, alpha, beta);
  switch (n1 - n) {
    case 3: dot_rows<3>(M, K, x, ldx, w + n * ldw, ldw, c + n * csc, rsc, csc, alpha, beta); break;
    case 2: dot_rows<2>(M, K, x, ldx, w + n * ldw, ldw, c + n * csc, rsc, csc, alpha, beta); break;
    case 1: dot_rows<1>(M, K, x, ldx, w + n * ldw, ldw, c + n * csc, rsc, csc, alpha, beta); break;
  }
}

namespace {

// W stored [K, N]: C[m, n0:n0+64] accumulated over rows of W (16 * NV columns, masked at the edge).
template <int MRR, int NV>
HCX_T512 void row_tile(int64_t K, const float* x, int64_t ldx, const float* w, int64_t ldw, float* c, int64_t ldc,
                       int ncols, float alpha, float beta) {
  __mmask16 mk[NV];
  for (int v = 0; v < NV; v++) {
    int r = ncols - 16 * v;
    mk[v] = r >= 16 ? (__mmask16)0xFFFF : r <= 0 ? (__mmask16)0 : (__mmask16)((1u << r) - 1);
  }
  __m512 acc[MRR][NV];
  for (int i = 0; i < MRR; i++) for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();
  if (ncols == 16 * NV) {
    for (int64_t k = 0; k < K; k++) {
      __m512 bv[NV];
      for (int v = 0; v < NV; v++) bv[v] = _mm512_loadu_ps(w + k * ldw + 16 * v);
      for (int i = 0; i < MRR; i++) {
        __m512 a = _mm512_set1_ps(x[i * ldx + k]);
        for (int v = 0; v < NV; v++) acc[i][v] = _mm512_fmadd_ps(a, bv[v], acc[i][v]);
      }
    }
  } else {
    for (int64_t k = 0; k < K; k++) {
      __m512 bv[NV];
      for (int v = 0; v < NV; v++) bv[v] = _mm512_maskz_loadu_ps(mk[v], w + k * ldw + 16 * v);
      for (int i = 0; i < MRR; i++) {
        __m512 a = _mm512_set1_ps(x[i * ldx + k]);
        for (int v = 0; v < NV; v++) acc[i][v] = _mm512_fmadd_ps(a, bv[v], acc[i][v]);
      }
    }
  }
  __m512 al = _mm512_set1_ps(alpha), be = _mm512_set1_ps(beta);
  for (int i = 0; i < MRR; i++)
    for (int v = 0; v < NV; v++) {
      float* cp = c + i * ldc + 16 * v;
      __m512 r = _mm512_mul_ps(al, acc[i][v]);
      if (beta != 0.f) r = _mm512_fmadd_ps(be, _mm512_maskz_loadu_ps(mk[v], cp), r);
      _mm512_mask_storeu_ps(cp, mk[v], r);
    }
}

}  // namespace

HCX_T512 void skinny_nn_avx512(int64_t M, int64_t n0, int64_t n1, int64_t K, const float* x, int64_t ldx,
                               const float* w, int64_t ldw, float* c, int64_t ldc, float alpha, float beta) {
  // One or two rows: wide column tiles (16 or 8 zmm) so each W row is read in long runs.
  if (M == 1) {
    for (int64_t n = n0; n < n1; n += 256)
      row_tile<1, 16>(K, x, ldx, w + n, ldw, c + n, ldc, (int)std::min<int64_t>(256, n1 - n), alpha, beta);
    return;
  }
  if (M == 2) {
    for (int64_t n = n0; n < n1; n += 128)
      row_tile<2, 8>(K, x, ldx, w + n, ldw, c + n, ldc, (int)std::min<int64_t>(128, n1 - n), alpha, beta);
    return;
  }
  constexpr int NV = 4;
  for (int64_t n = n0; n < n1; n += 16 * NV) {
    int nc = (int)std::min<int64_t>(16 * NV, n1 - n);
    int64_t m = 0;
    for (; m + 6 <= M; m += 6) row_tile<6, NV>(K, x + m * ldx, ldx, w + n, ldw, c + m * ldc + n, ldc, nc, alpha, beta);
    const float* xm = x + m * ldx;
    float* cm = c + m * ldc + n;
    switch (M - m) {
      case 5: row_tile<5, NV>(K, xm, ldx, w + n, ldw, cm, ldc, nc, alpha, beta); break;
      case 4: row_tile<4, NV>(K, xm, ldx, w + n, ldw, cm, ldc, nc, alpha, beta); break;
      case 3: row_tile<3, NV>(K, xm, ldx, w + n, ldw, cm, ldc, nc, alpha, beta); break;
      case 2: row_tile<2, NV>(K, xm, ldx, w + n, ldw, cm, ldc, nc, alpha, beta); break;
      case 1: row_tile<1, NV>(K, xm, ldx, w + n, ldw, cm, ldc, nc, alpha, beta); break;
    }
  }
}

}  // namespace hcx

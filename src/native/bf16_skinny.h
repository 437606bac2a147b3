// The bf16 GEMM's skinny kernels (few rows of A; bf16.cc chooses them): W is streamed once without packing,
// as 16-lane dot products along K reduced as a tree (W stored [N,K]), or as rows with k pairs interleaved in
// registers (W stored [K,N]). Dot is DotHw (vdpbf16ps) or DotEmu (the same rounding in AVX-512F).
#pragma once
#include "bf16_kernels.h"

namespace hcx {
namespace bf16k {

// Tree sum of 16 lanes: halves, then quarters, ... (the order the portable code repeats).
HCX_TBF inline float lane_sum(__m512 v) {
  __m256 a = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  __m128 c = _mm_add_ps(b, _mm_movehl_ps(b, b));
  return _mm_cvtss_f32(_mm_add_ss(c, _mm_shuffle_ps(c, c, 1)));
}


template <class Dot, int MRR, int NRR>
HCX_TBF void dot_tile_bf16(int64_t K, const uint16_t* x, int64_t ldx, const uint16_t* w, int64_t ldw, float* c,
                           int64_t ldc, float alpha, float beta) {
  __m512 acc[MRR][NRR];
  for (int i = 0; i < MRR; i++) for (int j = 0; j < NRR; j++) acc[i][j] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 32 <= K; k += 32) {
    __m512i xv[MRR], wv[NRR];
    for (int j = 0; j < NRR; j++) wv[j] = _mm512_loadu_si512(w + j * ldw + k);
    for (int i = 0; i < MRR; i++) xv[i] = _mm512_loadu_si512(x + i * ldx + k);
    for (int i = 0; i < MRR; i++) for (int j = 0; j < NRR; j++) acc[i][j] = Dot::dp(acc[i][j], xv[i], wv[j]);
  }
  if (k < K) {
    __mmask32 mk = (__mmask32)((1u << (K - k)) - 1);
    __m512i xv[MRR], wv[NRR];
    for (int j = 0; j < NRR; j++) wv[j] = _mm512_maskz_loadu_epi16(mk, w + j * ldw + k);
    for (int i = 0; i < MRR; i++) xv[i] = _mm512_loadu_si512(x + i * ldx + k);  // X is zero padded
    for (int i = 0; i < MRR; i++) for (int j = 0; j < NRR; j++) acc[i][j] = Dot::dp(acc[i][j], xv[i], wv[j]);
  }
  for (int i = 0; i < MRR; i++)
    for (int j = 0; j < NRR; j++) store1(c + i * ldc + j, lane_sum(acc[i][j]), alpha, beta);
}

template <class Dot, int NRR>
HCX_TBF void dot_rows_bf16(const Problem& pr, int64_t n) {
  int64_t m = 0;
  const uint16_t* w = pr.W + n * pr.ldw;
  for (; m + 4 <= pr.M; m += 4)
    dot_tile_bf16<Dot, 4, NRR>(pr.K, pr.X + m * pr.ldx, pr.ldx, w, pr.ldw, pr.C + m * pr.ldc + n, pr.ldc, pr.alpha, pr.beta);
  const uint16_t* xm = pr.X + m * pr.ldx;
  float* cm = pr.C + m * pr.ldc + n;
  switch (pr.M - m) {
    case 3: dot_tile_bf16<Dot, 3, NRR>(pr.K, xm, pr.ldx, w, pr.ldw, cm, pr.ldc, pr.alpha, pr.beta); break;
    case 2: dot_tile_bf16<Dot, 2, NRR>(pr.K, xm, pr.ldx, w, pr.ldw, cm, pr.ldc, pr.alpha, pr.beta); break;
    case 1: dot_tile_bf16<Dot, 1, NRR>(pr.K, xm, pr.ldx, w, pr.ldw, cm, pr.ldc, pr.alpha, pr.beta); break;
  }
}

template <class Dot>
void skinny_dot_avx512(const Problem& pr, int64_t n0, int64_t n1) {
  int64_t n = n0;
  for (; n + 4 <= n1; n += 4) dot_rows_bf16<Dot, 4>(pr, n);
  switch (n1 - n) {
    case 3: dot_rows_bf16<Dot, 3>(pr, n); break;
    case 2: dot_rows_bf16<Dot, 2>(pr, n); break;
    case 1: dot_rows_bf16<Dot, 1>(pr, n); break;
  }
}

// W stored [K,N]: MRR rows x (32*NV) columns; rows 2p and 2p+1 of W interleaved into pairs in registers.
template <class Dot, int MRR, int NV>
HCX_TBF void row_tile_bf16(const Problem& pr, int64_t m, int64_t n, int ncols) {
  const int64_t K = pr.K, ldw = pr.ldw;
  const uint16_t* w = pr.W + n;
  const uint32_t* x = reinterpret_cast<const uint32_t*>(pr.X + m * pr.ldx);
  const int64_t ldx32 = pr.ldx / 2;
  __mmask32 mk[NV];
  for (int v = 0; v < NV; v++) {
    int r = ncols - 32 * v;
    mk[v] = r >= 32 ? (__mmask32)0xFFFFFFFFu : r <= 0 ? (__mmask32)0 : (__mmask32)((1u << r) - 1);
  }
  __m512 acc[MRR][2 * NV];
  for (int i = 0; i < MRR; i++) for (int v = 0; v < 2 * NV; v++) acc[i][v] = _mm512_setzero_ps();
  int64_t P = cdiv(K, 2);
  for (int64_t p = 0; p < P; p++) {
    const uint16_t* w0 = w + 2 * p * ldw;
    bool has1 = 2 * p + 1 < K;
    __m512i lo[NV], hi[NV];
    for (int v = 0; v < NV; v++) {
      __m512i a = _mm512_maskz_loadu_epi16(mk[v], w0 + 32 * v);
      __m512i b = has1 ? _mm512_maskz_loadu_epi16(mk[v], w0 + ldw + 32 * v) : _mm512_setzero_si512();
      lo[v] = _mm512_unpacklo_epi16(a, b);
      hi[v] = _mm512_unpackhi_epi16(a, b);
    }
    for (int i = 0; i < MRR; i++) {
      __m512i xa = _mm512_set1_epi32((int)x[i * ldx32 + p]);
      for (int v = 0; v < NV; v++) {
        acc[i][2 * v] = Dot::dp(acc[i][2 * v], xa, lo[v]);
        acc[i][2 * v + 1] = Dot::dp(acc[i][2 * v + 1], xa, hi[v]);
      }
    }
  }
  // lo holds columns {0-3, 8-11, 16-19, 24-27} of each 32, hi the others: put them back in order.
  const __m512i i0 = _mm512_set_epi32(23, 22, 21, 20, 7, 6, 5, 4, 19, 18, 17, 16, 3, 2, 1, 0);
  const __m512i i1 = _mm512_set_epi32(31, 30, 29, 28, 15, 14, 13, 12, 27, 26, 25, 24, 11, 10, 9, 8);
  __m512 al = _mm512_set1_ps(pr.alpha), be = _mm512_set1_ps(pr.beta);
  for (int i = 0; i < MRR; i++)
    for (int v = 0; v < NV; v++) {
      __m512 o[2] = {_mm512_permutex2var_ps(acc[i][2 * v], i0, acc[i][2 * v + 1]),
                     _mm512_permutex2var_ps(acc[i][2 * v], i1, acc[i][2 * v + 1])};
      for (int h = 0; h < 2; h++) {
        __mmask16 sm = (__mmask16)(mk[v] >> (16 * h));
        if (!sm) continue;
        float* cp = pr.C + (m + i) * pr.ldc + n + 32 * v + 16 * h;
        __m512 r = _mm512_mul_ps(al, o[h]);
        if (pr.beta != 0.f) r = _mm512_fmadd_ps(be, _mm512_maskz_loadu_ps(sm, cp), r);
        _mm512_mask_storeu_ps(cp, sm, r);
      }
    }
}

template <class Dot>
void skinny_rows_avx512(const Problem& pr, int64_t n0, int64_t n1) {
  const int64_t M = pr.M;
  if (M == 1) {
    for (int64_t n = n0; n < n1; n += 256) row_tile_bf16<Dot, 1, 8>(pr, 0, n, (int)std::min<int64_t>(256, n1 - n));
    return;
  }
  if (M == 2) {
    for (int64_t n = n0; n < n1; n += 128) row_tile_bf16<Dot, 2, 4>(pr, 0, n, (int)std::min<int64_t>(128, n1 - n));
    return;
  }
  for (int64_t n = n0; n < n1; n += 64) {
    int nc = (int)std::min<int64_t>(64, n1 - n);
    int64_t m = 0;
    for (; m + 6 <= M; m += 6) row_tile_bf16<Dot, 6, 2>(pr, m, n, nc);
    switch (M - m) {
      case 5: row_tile_bf16<Dot, 5, 2>(pr, m, n, nc); break;
      case 4: row_tile_bf16<Dot, 4, 2>(pr, m, n, nc); break;
      case 3: row_tile_bf16<Dot, 3, 2>(pr, m, n, nc); break;
      case 2: row_tile_bf16<Dot, 2, 2>(pr, m, n, nc); break;
      case 1: row_tile_bf16<Dot, 1, 2>(pr, m, n, nc); break;
    }
  }
}

}  // namespace bf16k
}  // namespace hcx

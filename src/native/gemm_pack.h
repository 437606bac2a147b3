// Packing for the fp32 GEMM (included by gemm.cc only). A panel: for each k, MR consecutive row values
// (alpha applied, rows past m zero). B panel: for each k, NR consecutive column values (columns past n zero).
#pragma once
#include <immintrin.h>
#include <algorithm>
#include <cstdint>
#include "gemm_common.h"
#include "transpose16.h"

namespace hcx {
namespace {

constexpr int MR512 = 14, NR512 = 32;  // the AVX-512 microkernel's tile

template <int MR>
void pack_a(bool tA, const float* A, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float alpha,
            float* dst) {
  if (tA) {  // A stored K x M: a row of A at a time (sequential reads)
    for (int64_t k = 0; k < kc; k++) {
      const float* s = A + (p0 + k) * lda + i0;
      float* d = dst + k * MR;
      for (int64_t ip = 0; ip < mc; ip += MR, d += MR * kc) {
        int mr = (int)std::min<int64_t>(MR, mc - ip);
        int r = 0;
        if (alpha == 1.f) for (; r < mr; r++) d[r] = s[ip + r];
        else for (; r < mr; r++) d[r] = alpha * s[ip + r];
        for (; r < MR; r++) d[r] = 0.f;
      }
    }
    return;
  }
  for (int64_t ip = 0; ip < mc; ip += MR, dst += MR * kc) {
    int mr = (int)std::min<int64_t>(MR, mc - ip);
    for (int r = 0; r < mr; r++) {
      const float* s = A + (i0 + ip + r) * lda + p0;
      if (alpha == 1.f) for (int64_t k = 0; k < kc; k++) dst[k * MR + r] = s[k];
      else for (int64_t k = 0; k < kc; k++) dst[k * MR + r] = alpha * s[k];
    }
    for (int r = mr; r < MR; r++) for (int64_t k = 0; k < kc; k++) dst[k * MR + r] = 0.f;
  }
}

// Packs the panels covering columns [j0, j0 + ncols) of op(B) rows [p0, p0 + kc); panel q at dst + q*kc*NR.
template <int NR>
void pack_b_range(bool tB, const float* B, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t ncols, float* dst) {
  int64_t np = cdiv(ncols, NR);
  if (!tB) {  // row by row: sequential reads of B, one NR-wide write per panel
    for (int64_t k = 0; k < kc; k++) {
      const float* s = B + (p0 + k) * ldb + j0;
      for (int64_t q = 0; q < np; q++) {
        float* d = dst + q * kc * NR + k * NR;
        const float* sq = s + q * NR;
        int nr = (int)std::min<int64_t>(NR, ncols - q * NR);
        if (nr == NR) { for (int j = 0; j < NR; j++) d[j] = sq[j]; }
        else { int j = 0; for (; j < nr; j++) d[j] = sq[j]; for (; j < NR; j++) d[j] = 0.f; }
      }
    }
    return;
  }
  for (int64_t q = 0; q < np; q++, dst += kc * NR) {
    int nr = (int)std::min<int64_t>(NR, ncols - q * NR);
    for (int j = 0; j < nr; j++) {
      const float* s = B + (j0 + q * NR + j) * ldb + p0;
      for (int64_t k = 0; k < kc; k++) dst[k * NR + j] = s[k];
    }
    for (int j = nr; j < NR; j++) for (int64_t k = 0; k < kc; k++) dst[k * NR + j] = 0.f;
  }
}

// 32-column panel of B stored N x K: 16x16 blocks transposed in registers (scalar for edges).
HCX_T512 void pack_b_t_avx512(const float* B, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int nr, float* dst) {
  constexpr int NR = 32;
  if (nr != NR) { pack_b_range<NR>(true, B, ldb, p0, kc, j0, nr, dst); return; }
  int64_t k = 0;
  for (int h = 0; h < 2; h++) {
    const float* src = B + (j0 + h * 16) * ldb + p0;
    for (k = 0; k + 16 <= kc; k += 16) {
      __m512 r[16];
      for (int j = 0; j < 16; j++) {
        _mm_prefetch((const char*)(src + j * ldb + k + 64), _MM_HINT_T0);
        r[j] = _mm512_loadu_ps(src + j * ldb + k);
      }
      transpose16(r);
      for (int q = 0; q < 16; q++) _mm512_store_ps(dst + (k + q) * NR + h * 16, r[q]);
    }
  }
  for (; k < kc; k++)
    for (int j = 0; j < NR; j++) dst[k * NR + j] = B[(j0 + j) * ldb + p0 + k];
}

// A stored M x K (not transposed), 14-row panels for the AVX-512 kernel: 16x16 transposes of 14 rows
// (plus two zero rows), each transposed vector stored 14 lanes wide.
HCX_T512 void pack_a_avx512(bool tA, const float* A, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
                            float alpha, float* dst) {
  constexpr int MR = 14;
  if (tA) { pack_a<MR>(tA, A, lda, i0, mc, p0, kc, alpha, dst); return; }
  __m512 al = _mm512_set1_ps(alpha);
  for (int64_t ip = 0; ip < mc; ip += MR, dst += MR * kc) {
    int mr = (int)std::min<int64_t>(MR, mc - ip);
    const float* src = A + (i0 + ip) * lda + p0;
    int64_t k = 0;
    for (; k + 16 <= kc; k += 16) {
      __m512 r[16];
      for (int j = 0; j < 16; j++) r[j] = j < mr ? _mm512_loadu_ps(src + j * lda + k) : _mm512_setzero_ps();
      if (alpha != 1.f) for (int j = 0; j < 16; j++) r[j] = _mm512_mul_ps(r[j], al);
      transpose16(r);
      for (int q = 0; q < 15; q++) _mm512_storeu_ps(dst + (k + q) * MR, r[q]);  // lanes 14,15 overwritten next
      _mm512_mask_storeu_ps(dst + (k + 15) * MR, 0x3FFF, r[15]);
    }
    for (; k < kc; k++)
      for (int j = 0; j < MR; j++) dst[k * MR + j] = j < mr ? alpha * src[j * lda + k] : 0.f;
  }
}


// B stored K x N, row by row (sequential reads): 32-wide row slices copied with zmm moves. The generic
// template compiles to SSE moves; with both threads packing at once the copy is bound by memory, and this
// version cut packing from 6.3% to 5.2% of a 2-thread 1024^3 GEMM's samples (perf, cpu-clock).
HCX_T512 void pack_b_n_avx512(const float* B, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t ncols, float* dst) {
  constexpr int NR = NR512;
  int64_t full = ncols / NR;
  for (int64_t k = 0; k < kc; k++) {
    const float* s = B + (p0 + k) * ldb + j0;
    float* d = dst + k * NR;
    for (int64_t q = 0; q < full; q++, d += kc * NR) {
      _mm512_store_ps(d, _mm512_loadu_ps(s + q * NR));
      _mm512_store_ps(d + 16, _mm512_loadu_ps(s + q * NR + 16));
    }
  }
  if (full * NR < ncols) pack_b_range<NR>(false, B, ldb, p0, kc, j0 + full * NR, ncols - full * NR, dst + full * kc * NR);
}

void pack_b512(bool tB, const float* B, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t ncols, float* dst) {
  if (!tB) { pack_b_n_avx512(B, ldb, p0, kc, j0, ncols, dst); return; }
  for (int64_t q = 0; q * NR512 < ncols; q++)
    pack_b_t_avx512(B, ldb, p0, kc, j0 + q * NR512, (int)std::min<int64_t>(NR512, ncols - q * NR512), dst + q * kc * NR512);
}

}  // namespace
}  // namespace hcx

// The bf16 GEMM's building blocks, shared by the per-call GEMM (bf16.cc) and the pre-packed weight path
// (bf16_prepacked.cc): scratch buffers, op(A) -> bf16 rows, k-pair panel packing, the 14x32 vdpbf16ps
// microkernel and its portable arithmetic. Panels: A holds, for each k pair, BMR dwords (one per row);
// W holds, for each k pair, BNR dwords (W[2p][j] | W[2p+1][j] << 16), K blocked in at most BKCP pairs.
#pragma once
#include <immintrin.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include "bf16.h"
#include "transpose16.h"
#include "gemm_common.h"

#define HCX_TBF __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma")))

namespace hcx {
// Lets tests and benchmarks run the vdpbf16ps emulation on a CPU that has the instruction.
extern bool g_no_bf16_dot;

namespace bf16k {

// One bf16 product C = alpha * op(A) W + beta * C as the kernels see it.
struct Problem {
  bool tW;
  int64_t M, N, K;
  float alpha;
  const uint16_t* X;
  int64_t ldx;
  const uint16_t* W;
  int64_t ldw;
  float beta;
  float* C;
  int64_t ldc;
  // op(A) rows for the packed path when X is null: float32 or bf16, row stride lda.
  const float* A;
  const uint16_t* Ab;
  int64_t lda;
};

constexpr int BMR = 14, BNR = 32;
constexpr int64_t BKCP = 512;  // k pairs per K block of the packed path (larger blocks: fewer passes over C)

inline void kblocks(int64_t K, int64_t* P, int64_t* KCP) {
  *P = cdiv(K, 2);
  int64_t nkb = cdiv(*P, BKCP);
  *KCP = cdiv(*P, nkb);
}

inline void store1(float* c, float v, float alpha, float beta) {
  float r = alpha * v;
  *c = beta == 0.f ? r : std::fma(beta, *c, r);
}

// op(A) -> bf16 rows [r0, r1) of X (ldx bf16 per row, zero padded past K).
inline void make_x(bool tA, const float* A, const uint16_t* Ab, int64_t lda, int64_t r0, int64_t r1, int64_t K, uint16_t* X,
            int64_t ldx) {
  for (int64_t i = r0; i < r1; i++) {
    uint16_t* x = X + i * ldx;
    if (!tA) {
      if (A) f32_to_bf16_n(A + i * lda, x, K);
      else std::memcpy(x, Ab + i * lda, K * 2);
    } else if (A) {
      for (int64_t k = 0; k < K; k++) x[k] = f32_to_bf16(A[k * lda + i]);
    } else {
      for (int64_t k = 0; k < K; k++) x[k] = Ab[k * lda + i];
    }
    for (int64_t k = K; k < ldx; k++) x[k] = 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Dot-product policies: acc + a_odd*b_odd + a_even*b_even on 16 lanes of bf16 pairs.
struct DotHw {
  static HCX_TBF inline __m512 dp(__m512 acc, __m512i a, __m512i b) {
    return _mm512_dpbf16_ps(acc, (__m512bh)a, (__m512bh)b);
  }
};
struct DotEmu {
  static HCX_TBF inline __m512 dp(__m512 acc, __m512i a, __m512i b) {
    const __m512i hi = _mm512_set1_epi32((int)0xFFFF0000u);
    __m512 ao = _mm512_castsi512_ps(_mm512_and_si512(a, hi)), bo = _mm512_castsi512_ps(_mm512_and_si512(b, hi));
    __m512 ae = _mm512_castsi512_ps(_mm512_slli_epi32(a, 16)), be = _mm512_castsi512_ps(_mm512_slli_epi32(b, 16));
    acc = _mm512_fmadd_ps(ao, bo, acc);  // exact products: fma == add of the product
    return _mm512_fmadd_ps(ae, be, acc);
  }
};

HCX_TBF inline void transpose16i(__m512i ri[16]) { transpose16(reinterpret_cast<__m512*>(ri)); }

// A panels: for each pair p of the block, BMR dwords (rows), from X (rows r0.., pairs p0..p0+kcp).
HCX_TBF inline void pack_a_bf16(const uint16_t* X, int64_t ldx, int64_t r0, int64_t mc, int64_t p0, int64_t kcp,
                         uint32_t* dst) {
  for (int64_t ip = 0; ip < mc; ip += BMR, dst += BMR * kcp) {
    int mr = (int)std::min<int64_t>(BMR, mc - ip);
    const uint32_t* src = reinterpret_cast<const uint32_t*>(X + (r0 + ip) * ldx) + p0;
    int64_t ld32 = ldx / 2;
    for (int64_t q = 0; q < kcp; q += 16) {
      int cnt = (int)std::min<int64_t>(16, kcp - q);
      __mmask16 lm = (__mmask16)((1u << cnt) - 1);
      __m512i r[16];
      for (int j = 0; j < 16; j++) r[j] = j < mr ? _mm512_maskz_loadu_epi32(lm, src + j * ld32 + q) : _mm512_setzero_si512();
      transpose16i(r);
      for (int t = 0; t < cnt; t++) _mm512_mask_storeu_epi32(dst + (q + t) * BMR, 0x3FFF, r[t]);
    }
  }
}

// 16 floats -> 16 bf16, round to nearest even (NaN quieted): the integer rounding of f32_to_bf16, so
// packing straight from float32 gives the bits make_x would.
HCX_TBF inline __m256i round_bf16x16(__m512 v) {
  const __m512i one = _mm512_set1_epi32(1), bias = _mm512_set1_epi32(0x7FFF), absm = _mm512_set1_epi32(0x7FFFFFFF),
                inf = _mm512_set1_epi32(0x7F800000), qb = _mm512_set1_epi32(0x40);
  __m512i u = _mm512_castps_si512(v);
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(bias, _mm512_and_si512(_mm512_srli_epi32(u, 16), one))), 16);
  __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, absm), inf);
  r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(_mm512_srli_epi32(u, 16), qb));
  return _mm512_cvtepi32_epi16(r);
}

// A panels straight from op(A) rows (not transposed), float32 (`A`) or bf16 (`Ab`), without the
// rounded copy X: one pass over A less. Pairs past K read as zero.
HCX_TBF inline void pack_a_rows_bf16(const float* A, const uint16_t* Ab, int64_t lda, int64_t K, int64_t r0, int64_t mc,
                                     int64_t p0, int64_t kcp, uint32_t* dst) {
  for (int64_t ip = 0; ip < mc; ip += BMR, dst += BMR * kcp) {
    const int mr = (int)std::min<int64_t>(BMR, mc - ip);
    for (int64_t q = 0; q < kcp; q += 16) {
      const int cnt = (int)std::min<int64_t>(16, kcp - q);
      const int64_t k0 = 2 * (p0 + q);
      const int64_t left = std::max<int64_t>(0, std::min<int64_t>(32, K - k0));  // valid elements of these 16 pairs
      __m512i r[16];
      for (int j = 0; j < 16; j++) {
        if (j >= mr || left == 0) { r[j] = _mm512_setzero_si512(); continue; }
        const int64_t row = r0 + ip + j;
        if (A) {
          const __mmask16 m0 = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
          const __mmask16 m1 = left >= 32 ? (__mmask16)0xFFFF : left <= 16 ? (__mmask16)0 : (__mmask16)((1u << (left - 16)) - 1);
          const float* src = A + row * lda + k0;
          __m256i lo = round_bf16x16(_mm512_maskz_loadu_ps(m0, src)), hi = round_bf16x16(_mm512_maskz_loadu_ps(m1, src + 16));
          r[j] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
        } else {
          const __mmask32 m = left >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << left) - 1);
          r[j] = _mm512_maskz_loadu_epi16(m, Ab + row * lda + k0);
        }
      }
      transpose16i(r);
      for (int t = 0; t < cnt; t++) _mm512_mask_storeu_epi32(dst + (q + t) * BMR, 0x3FFF, r[t]);
    }
  }
}

// W panels (BNR columns): for each pair p, BNR dwords (W[2p][j] | W[2p+1][j] << 16).
HCX_TBF inline void pack_w_bf16(bool tW, const uint16_t* W, int64_t ldw, int64_t K, int64_t p0, int64_t kcp, int64_t j0,
                         int nr, uint32_t* dst) {
  if (!tW) {
    __mmask32 m = nr >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << nr) - 1);
    const __m512i i0 = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0), i1 = _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4);
    for (int64_t p = 0; p < kcp; p++) {
      int64_t k = 2 * (p0 + p);
      __m512i a = k < K ? _mm512_maskz_loadu_epi16(m, W + k * ldw + j0) : _mm512_setzero_si512();
      __m512i b = k + 1 < K ? _mm512_maskz_loadu_epi16(m, W + (k + 1) * ldw + j0) : _mm512_setzero_si512();
      __m512i lo = _mm512_unpacklo_epi16(a, b), hi = _mm512_unpackhi_epi16(a, b);
      _mm512_store_si512(dst + p * BNR, _mm512_permutex2var_epi64(lo, i0, hi));
      _mm512_store_si512(dst + p * BNR + 16, _mm512_permutex2var_epi64(lo, i1, hi));
    }
    return;
  }
  // W stored [N,K]: row j holds the pairs of column j contiguously; 16x16 dword transposes.
  int64_t full = std::min<int64_t>(kcp, std::max<int64_t>(0, K / 2 - p0));  // pairs with both halves inside K
  for (int h = 0; h < 2; h++) {
    int64_t q = 0;
    for (; q + 16 <= full; q += 16) {
      __m512i r[16];
      for (int j = 0; j < 16; j++) {
        int col = h * 16 + j;
        r[j] = col < nr ? _mm512_loadu_si512(W + (j0 + col) * ldw + 2 * (p0 + q)) : _mm512_setzero_si512();
      }
      transpose16i(r);
      for (int t = 0; t < 16; t++) _mm512_store_si512(dst + (q + t) * BNR + h * 16, r[t]);
    }
    for (; q < kcp; q++) {
      int64_t k = 2 * (p0 + q);
      for (int j = 0; j < 16; j++) {
        int col = h * 16 + j;
        uint32_t v = 0;
        if (col < nr) {
          const uint16_t* w = W + (j0 + col) * ldw;
          if (k < K) v = w[k];
          if (k + 1 < K) v |= (uint32_t)w[k + 1] << 16;
        }
        dst[q * BNR + col] = v;
      }
    }
  }
}

// MR rows of the BMR-row A panel are computed (MR < BMR for a short last block of rows); m <= MR are stored.
template <class Dot, int MR = BMR>
HCX_TBF inline void ukr_bf16(int64_t kcp, const uint32_t* a, const uint32_t* b, float* c, int64_t ldc, float alpha,
                             float beta, int m, int n) {
  __m512 acc[MR][2];
#pragma GCC unroll 14
  for (int i = 0; i < MR; i++) { acc[i][0] = _mm512_setzero_ps(); acc[i][1] = _mm512_setzero_ps(); }
  for (int i = 0; i < m; i++) _mm_prefetch((const char*)(c + i * ldc), _MM_HINT_T0), _mm_prefetch((const char*)(c + i * ldc + 16), _MM_HINT_T0);
  for (int64_t p = 0; p < kcp; p++) {
    __m512i b0 = _mm512_load_si512(b), b1 = _mm512_load_si512(b + 16);
#pragma GCC unroll 14
    for (int i = 0; i < MR; i++) {
      __m512i av = _mm512_set1_epi32((int)a[i]);
      acc[i][0] = Dot::dp(acc[i][0], av, b0);
      acc[i][1] = Dot::dp(acc[i][1], av, b1);
    }
    a += BMR;
    b += BNR;
  }
  __mmask16 m0 = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
  __mmask16 m1 = n >= 32 ? (__mmask16)0xFFFF : n <= 16 ? (__mmask16)0 : (__mmask16)((1u << (n - 16)) - 1);
  __m512 al = _mm512_set1_ps(alpha), bv = _mm512_set1_ps(beta);
#pragma GCC unroll 14
  for (int i = 0; i < MR; i++) {
    if (i >= m) break;
    float* cr = c + i * ldc;
    __m512 r0 = _mm512_mul_ps(al, acc[i][0]), r1 = _mm512_mul_ps(al, acc[i][1]);
    if (beta != 0.f) {
      r0 = _mm512_fmadd_ps(bv, _mm512_maskz_loadu_ps(m0, cr), r0);
      r1 = _mm512_fmadd_ps(bv, _mm512_maskz_loadu_ps(m1, cr + 16), r1);
    }
    _mm512_mask_storeu_ps(cr, m0, r0);
    _mm512_mask_storeu_ps(cr + 16, m1, r1);
  }
}

// Portable code with exactly the arithmetic of the AVX-512 paths (used below AVX-512).
inline float pair_dot(float acc, uint32_t a, uint32_t b) {
  acc = acc + bf16_to_f32((uint16_t)(a >> 16)) * bf16_to_f32((uint16_t)(b >> 16));
  return acc + bf16_to_f32((uint16_t)a) * bf16_to_f32((uint16_t)b);
}

}  // namespace bf16k
}  // namespace hcx

// Single-precision GEMM. Two families of kernels, each compiled for AVX-512, AVX2 and portable code
// in one binary (function target attributes) and chosen at run time through hcx::isa():
//  * packed (BLIS-style): B is packed into KC x NR panels, A into MC x KC blocks of MR-row panels,
//    and a register-blocked microkernel (AVX-512 14x32, AVX2 6x16, portable 4x8) updates C tiles.
//    Threads split the C tile grid; B panels are packed cooperatively, A blocks per thread.
//  * skinny (decode-shaped, few rows of A): no packing of the big operand; W is streamed once, either
//    as dot products along K (W stored [N,K], the y = x W^T case) or as rows (W stored [K,N]).
// Every path computes C = alpha * op(A) op(B) + beta * C with beta == 0 ignoring C's old values.
#include "gemm.h"
#include "cpu.h"
#include "napi_util.h"
#include "threadpool.h"
#include "transpose16.h"
#include <immintrin.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

#define HCX_T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
#define HCX_T2 __attribute__((target("avx2,fma")))

namespace hcx {
namespace {

// Grow-only, 64-byte-aligned scratch (one per thread per use).
struct Scratch {
  void* p = nullptr;
  size_t cap = 0;
  ~Scratch() { std::free(p); }
  float* get(size_t n) {
    size_t bytes = n * sizeof(float) + 64;
    if (bytes > cap) {
      std::free(p);
      cap = (bytes + 4095) & ~size_t(4095);
      p = std::aligned_alloc(64, cap);
    }
    return static_cast<float*>(p);
  }
};
thread_local Scratch tl_packA, tl_packB, tl_x;

inline int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// C = beta * C for the degenerate K == 0 / alpha == 0 case.
void scale_c(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; i++) {
    float* c = C + i * ldc;
    if (beta == 0.f) for (int64_t j = 0; j < N; j++) c[j] = 0.f;
    else if (beta != 1.f) for (int64_t j = 0; j < N; j++) c[j] *= beta;
  }
}

// Adds a tile kept in a dense buffer into C (edge tiles of the AVX2 / portable kernels).
inline void store_tile(const float* t, int ldt, float* c, int64_t ldc, float beta, int m, int n) {
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      float v = t[i * ldt + j];
      c[i * ldc + j] = beta == 0.f ? v : v + beta * c[i * ldc + j];
    }
}

// ---------------------------------------------------------------------------------------------
// Packing. A panel: for each k, MR consecutive row values (alpha applied, rows past m zero).
// B panel: for each k, NR consecutive column values (columns past n zero).
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

// ---------------------------------------------------------------------------------------------
// Microkernels: C[0:m, 0:n] = A_panel (kc x MR) * B_panel (kc x NR) + beta * C.
typedef void (*Ukr)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float beta, int m, int n);

constexpr int MR512 = 14, NR512 = 32;
HCX_T512 void ukr_avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float beta, int m,
                         int n) {
  __m512 acc[MR512][2];
#pragma GCC unroll 14
  for (int i = 0; i < MR512; i++) { acc[i][0] = _mm512_setzero_ps(); acc[i][1] = _mm512_setzero_ps(); }
  for (int i = 0; i < m; i++) _mm_prefetch((const char*)(c + i * ldc), _MM_HINT_T0), _mm_prefetch((const char*)(c + i * ldc + 16), _MM_HINT_T0);
  for (int64_t k = 0; k < kc; k++) {
    __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
    _mm_prefetch((const char*)(a + 14 * 8), _MM_HINT_T0);
#pragma GCC unroll 14
    for (int i = 0; i < MR512; i++) {
      __m512 av = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(av, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(av, b1, acc[i][1]);
    }
    a += MR512;
    b += NR512;
  }
  __mmask16 m0 = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
  __mmask16 m1 = n >= 32 ? (__mmask16)0xFFFF : n <= 16 ? (__mmask16)0 : (__mmask16)((1u << (n - 16)) - 1);
  __m512 bv = _mm512_set1_ps(beta);
  if (n == NR512) {
#pragma GCC unroll 14
    for (int i = 0; i < MR512; i++) {
      if (i >= m) break;
      float* cr = c + i * ldc;
      if (beta == 0.f) {
        _mm512_storeu_ps(cr, acc[i][0]);
        _mm512_storeu_ps(cr + 16, acc[i][1]);
      } else {
        _mm512_storeu_ps(cr, _mm512_fmadd_ps(bv, _mm512_loadu_ps(cr), acc[i][0]));
        _mm512_storeu_ps(cr + 16, _mm512_fmadd_ps(bv, _mm512_loadu_ps(cr + 16), acc[i][1]));
      }
    }
  } else {
#pragma GCC unroll 14
    for (int i = 0; i < MR512; i++) {
      if (i >= m) break;
      float* cr = c + i * ldc;
      if (beta == 0.f) {
        _mm512_mask_storeu_ps(cr, m0, acc[i][0]);
        _mm512_mask_storeu_ps(cr + 16, m1, acc[i][1]);
      } else {
        _mm512_mask_storeu_ps(cr, m0, _mm512_fmadd_ps(bv, _mm512_maskz_loadu_ps(m0, cr), acc[i][0]));
        _mm512_mask_storeu_ps(cr + 16, m1, _mm512_fmadd_ps(bv, _mm512_maskz_loadu_ps(m1, cr + 16), acc[i][1]));
      }
    }
  }
}

constexpr int MR2 = 6, NR2 = 16;
HCX_T2 void ukr_avx2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float beta, int m, int n) {
  __m256 acc[MR2][2];
#pragma GCC unroll 6
  for (int i = 0; i < MR2; i++) { acc[i][0] = _mm256_setzero_ps(); acc[i][1] = _mm256_setzero_ps(); }
  for (int64_t k = 0; k < kc; k++) {
    __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < MR2; i++) {
      __m256 av = _mm256_broadcast_ss(a + i);
      acc[i][0] = _mm256_fmadd_ps(av, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(av, b1, acc[i][1]);
    }
    a += MR2;
    b += NR2;
  }
  if (m == MR2 && n == NR2) {
    __m256 bv = _mm256_set1_ps(beta);
#pragma GCC unroll 6
    for (int i = 0; i < MR2; i++) {
      float* cr = c + i * ldc;
      if (beta == 0.f) {
        _mm256_storeu_ps(cr, acc[i][0]);
        _mm256_storeu_ps(cr + 8, acc[i][1]);
      } else {
        _mm256_storeu_ps(cr, _mm256_fmadd_ps(bv, _mm256_loadu_ps(cr), acc[i][0]));
        _mm256_storeu_ps(cr + 8, _mm256_fmadd_ps(bv, _mm256_loadu_ps(cr + 8), acc[i][1]));
      }
    }
  } else {
    alignas(32) float t[MR2 * NR2];
#pragma GCC unroll 6
    for (int i = 0; i < MR2; i++) { _mm256_store_ps(t + i * NR2, acc[i][0]); _mm256_store_ps(t + i * NR2 + 8, acc[i][1]); }
    store_tile(t, NR2, c, ldc, beta, m, n);
  }
}

constexpr int MRP = 4, NRP = 8;
void ukr_portable(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float beta, int m, int n) {
  float acc[MRP][NRP] = {};
  for (int64_t k = 0; k < kc; k++) {
    for (int i = 0; i < MRP; i++)
      for (int j = 0; j < NRP; j++) acc[i][j] += a[i] * b[j];
    a += MRP;
    b += NRP;
  }
  store_tile(&acc[0][0], NRP, c, ldc, beta, m, n);
}

struct Arch {
  int mr, nr, mc, kc;
  Ukr ukr;
  void (*pack_a)(bool, const float*, int64_t, int64_t, int64_t, int64_t, int64_t, float, float*);
  void (*pack_b)(bool, const float*, int64_t, int64_t, int64_t, int64_t, int64_t, float*);
};

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

const Arch& arch_for(Isa is) {
  // Large K blocks (KC 1024) measured best: fewer passes over C outweigh B panels spilling from L1 to L2.
  static const Arch a512{MR512, NR512, MR512 * 8, 1024, ukr_avx512, pack_a_avx512, pack_b512};
  static const Arch a2{MR2, NR2, MR2 * 32, 256, ukr_avx2, pack_a<MR2>, pack_b_range<NR2>};
  static const Arch ap{MRP, NRP, MRP * 32, 256, ukr_portable, pack_a<MRP>, pack_b_range<NRP>};
  return is == Isa::Avx512 ? a512 : is == Isa::Avx2 ? a2 : ap;
}

void gemm_packed(const Arch& ar, bool tA, bool tB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                 int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, int nt) {
  const int MR = ar.mr, NR = ar.nr;
  // K blocks of near-equal size <= kc (a last sliver of K would waste a pass over C).
  int64_t nkb = cdiv(K, ar.kc), KC = cdiv(K, nkb);
  // Column blocks: keep a packed B block to about 4M floats.
  int64_t NC = std::max<int64_t>(NR, ((int64_t)(4 << 20) / KC) / NR * NR);
  if (NC >= N) NC = cdiv(N, NR) * NR;
  int64_t mb = cdiv(M, MR);
  float* Bp = tl_packB.get((size_t)KC * NC);
  for (int64_t jc = 0; jc < N; jc += NC) {
    int64_t nc = std::min(NC, N - jc), np = cdiv(nc, NR);
    int tm, tn;
    choose_thread_grid(nt, mb, MR, np, NR, tm, tn);
    int used = tm * tn;
    for (int64_t pc = 0; pc < K; pc += KC) {
      int64_t kc = std::min(KC, K - pc);
      float beta_eff = pc == 0 ? beta : 1.f;
      auto packB = [&](int64_t p0, int64_t p1) {
        if (p0 < p1) ar.pack_b(tB, B, ldb, pc, kc, jc + p0 * NR, std::min(nc, p1 * NR) - p0 * NR, Bp + p0 * kc * NR);
      };
      auto compute = [&](int t) {
        int ti = t / tn, tj = t % tn;
        int64_t r0 = mb * ti / tm * MR, r1 = std::min(M, mb * (ti + 1) / tm * MR);
        int64_t q0 = np * tj / tn, q1 = np * (tj + 1) / tn;
        float* Ap = tl_packA.get((size_t)ar.mc * kc);
        for (int64_t ic = r0; ic < r1; ic += ar.mc) {
          int64_t mc = std::min<int64_t>(ar.mc, r1 - ic);
          ar.pack_a(tA, A, lda, ic, mc, pc, kc, alpha, Ap);
          for (int64_t q = q0; q < q1; q++) {
            const float* bp = Bp + q * kc * NR;
            int nr = (int)std::min<int64_t>(NR, nc - q * NR);
            float* cq = C + jc + q * NR;
            for (int64_t ir = 0; ir < mc; ir += MR)
              ar.ukr(kc, Ap + ir * kc, bp, cq + (ic + ir) * ldc, ldc, beta_eff, (int)std::min<int64_t>(MR, mc - ir), nr);
          }
        }
      };
      if (used <= 1) {
        packB(0, np);
        compute(0);
      } else if (tm == 1) {
        // Column split: each thread packs exactly the panels it multiplies, so no barrier between.
        parallel_run(used, [&](int t, int n) { packB(np * t / n, np * (t + 1) / n); compute(t); });
      } else {
        parallel_run(used, [&](int t, int n) { packB(np * t / n, np * (t + 1) / n); });
        parallel_run(used, [&](int t, int) { compute(t); });
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Skinny kernels (AVX-512). X is M x K row-major (ldx); acc scaled by alpha on store.
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

// Up to this many rows the skinny kernels beat packing (measured: packing wins from about M = 48).
constexpr int64_t SKINNY_M = 40;

// Decode-shaped product via the skinny kernels. X = op(A) is made contiguous if A is transposed.
void gemm_skinny(bool tA, bool tB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                 const float* B, int64_t ldb, float beta, float* C, int64_t ldc, int nt) {
  const float* x = A;
  int64_t ldx = lda;
  if (tA) {
    float* xb = tl_x.get((size_t)M * K);
    for (int64_t k = 0; k < K; k++)
      for (int64_t i = 0; i < M; i++) xb[i * K + k] = A[k * lda + i];
    x = xb;
    ldx = K;
  }
  // Columns per thread chunk: multiples of 4 (dot) or 64 (rows) for whole tiles.
  int64_t unit = tB ? 4 : 64;
  int64_t units = cdiv(N, unit);
  double flops = 2.0 * M * N * K;
  int use = flops < (1 << 18) ? 1 : std::min<int64_t>(nt, units);
  auto body = [&](int t, int n) {
    int64_t n0 = std::min(N, units * t / n * unit), n1 = std::min(N, units * (t + 1) / n * unit);
    if (n0 >= n1) return;
    if (tB) skinny_nt_avx512(M, n0, n1, K, x, ldx, B, ldb, C, ldc, 1, alpha, beta);
    else skinny_nn_avx512(M, n0, n1, K, x, ldx, B, ldb, C, ldc, alpha, beta);
  };
  if (use <= 1) body(0, 1);
  else parallel_run(use, body);
}

void sgemm_impl(bool tA, bool tB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                const float* B, int64_t ldb, float beta, float* C, int64_t ldc, int nt) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.f) { scale_c(M, N, beta, C, ldc); return; }
  double flops = 2.0 * M * N * K;
  if (flops < (1 << 20)) nt = 1;
  Isa is = isa();
  if (is == Isa::Avx512 && M <= SKINNY_M) {
    gemm_skinny(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, nt);
    return;
  }
  // Few columns, many rows: C^T = op(B)^T op(A)^T has few rows, A (untransposed) becomes a [N,K] weight.
  if (is == Isa::Avx512 && N <= 16 && !tA) {
    const float* x = B;
    int64_t ldx = ldb;
    if (!tB) {  // op(B)^T rows must be contiguous along K
      float* xb = tl_x.get((size_t)N * K);
      for (int64_t k = 0; k < K; k++)
        for (int64_t j = 0; j < N; j++) xb[j * K + k] = B[k * ldb + j];
      x = xb;
      ldx = K;
    }
    int64_t units = cdiv(M, 4);
    int use = std::min<int64_t>(nt, units);
    auto body = [&](int t, int n) {
      int64_t i0 = std::min(M, units * t / n * 4), i1 = std::min(M, units * (t + 1) / n * 4);
      if (i0 < i1) skinny_nt_avx512(N, i0, i1, K, x, ldx, A, lda, C, 1, ldc, alpha, beta);
    };
    if (use <= 1) body(0, 1);
    else parallel_run(use, body);
    return;
  }
  gemm_packed(arch_for(is), tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, nt);
}

}  // namespace

void sgemm(bool tA, bool tB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  sgemm_impl(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, num_threads());
}

void sgemm_serial(bool tA, bool tB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                  const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  sgemm_impl(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, 1);
}

void sgemm_batched(bool tA, bool tB, int64_t batch, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                   int64_t lda, int64_t sA, const float* B, int64_t ldb, int64_t sB, float beta, float* C,
                   int64_t ldc, int64_t sC) {
  if (batch <= 0) return;
  int nt = num_threads();
  double flops = 2.0 * M * N * K;
  // Many small products: one thread per product. Large ones: each product uses every thread.
  if (batch > 1 && nt > 1 && flops < 64.0 * 64 * 64 * 2 * 8 && sC != 0) {
    parallel_for(batch, 1, [&](int64_t b0, int64_t b1, int) {
      for (int64_t b = b0; b < b1; b++)
        sgemm_impl(tA, tB, M, N, K, alpha, A + b * sA, lda, B + b * sB, ldb, beta, C + b * sC, ldc, 1);
    });
    return;
  }
  for (int64_t b = 0; b < batch; b++)
    sgemm_impl(tA, tB, M, N, K, alpha, A + b * sA, lda, B + b * sB, ldb, beta, C + b * sC, ldc, nt);
}

// ---------------------------------------------------------------------------------------------
// Peak FLOPS: register-only FMA chains (16 independent zmm accumulators), timed per thread.
namespace {
HCX_T512 void fma_loop_f32(int64_t iters) {
  __asm__ volatile(
      "vxorps %%xmm0,%%xmm0,%%xmm0\n vxorps %%xmm1,%%xmm1,%%xmm1\n vxorps %%xmm2,%%xmm2,%%xmm2\n"
      "vxorps %%xmm3,%%xmm3,%%xmm3\n vxorps %%xmm4,%%xmm4,%%xmm4\n vxorps %%xmm5,%%xmm5,%%xmm5\n"
      "vxorps %%xmm6,%%xmm6,%%xmm6\n vxorps %%xmm7,%%xmm7,%%xmm7\n vxorps %%xmm8,%%xmm8,%%xmm8\n"
      "vxorps %%xmm9,%%xmm9,%%xmm9\n vxorps %%xmm10,%%xmm10,%%xmm10\n vxorps %%xmm11,%%xmm11,%%xmm11\n"
      "vxorps %%xmm12,%%xmm12,%%xmm12\n vxorps %%xmm13,%%xmm13,%%xmm13\n vxorps %%xmm14,%%xmm14,%%xmm14\n"
      "vxorps %%xmm15,%%xmm15,%%xmm15\n vxorps %%xmm16,%%xmm16,%%xmm16\n vxorps %%xmm17,%%xmm17,%%xmm17\n"
      "1:\n"
      "vfmadd231ps %%zmm16,%%zmm17,%%zmm0\n vfmadd231ps %%zmm16,%%zmm17,%%zmm1\n"
      "vfmadd231ps %%zmm16,%%zmm17,%%zmm2\n vfmadd231ps %%zmm16,%%zmm17,%%zmm3\n"
      "vfmadd231ps %%zmm16,%%zmm17,%%zmm4\n vfmadd231ps %%zmm16,%%zmm17,%%zmm5\n"
      "vfmadd231ps %%zmm16,%%zmm17,%%zmm6\n vfmadd231ps %%zmm16,%%zmm17,%%zmm7\n"
      "vfmadd231ps %%zmm16,%%zmm17,%%zmm8\n vfmadd231ps %%zmm16,%%zmm17,%%zmm9\n"
      "vfmadd231ps %%zmm16,%%zmm17,%%zmm10\n vfmadd231ps %%zmm16,%%zmm17,%%zmm11\n"
      "vfmadd231ps %%zmm16,%%zmm17,%%zmm12\n vfmadd231ps %%zmm16,%%zmm17,%%zmm13\n"
      "vfmadd231ps %%zmm16,%%zmm17,%%zmm14\n vfmadd231ps %%zmm16,%%zmm17,%%zmm15\n"
      "dec %0\n jnz 1b\n vzeroupper\n"
      : "+r"(iters)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "cc");
}
__attribute__((target("avx512f,avx512bf16"))) void fma_loop_bf16(int64_t iters) {
  __asm__ volatile(
      "vxorps %%xmm0,%%xmm0,%%xmm0\n vxorps %%xmm1,%%xmm1,%%xmm1\n vxorps %%xmm2,%%xmm2,%%xmm2\n"
      "vxorps %%xmm3,%%xmm3,%%xmm3\n vxorps %%xmm4,%%xmm4,%%xmm4\n vxorps %%xmm5,%%xmm5,%%xmm5\n"
      "vxorps %%xmm6,%%xmm6,%%xmm6\n vxorps %%xmm7,%%xmm7,%%xmm7\n vxorps %%xmm8,%%xmm8,%%xmm8\n"
      "vxorps %%xmm9,%%xmm9,%%xmm9\n vxorps %%xmm10,%%xmm10,%%xmm10\n vxorps %%xmm11,%%xmm11,%%xmm11\n"
      "vxorps %%xmm12,%%xmm12,%%xmm12\n vxorps %%xmm13,%%xmm13,%%xmm13\n vxorps %%xmm14,%%xmm14,%%xmm14\n"
      "vxorps %%xmm15,%%xmm15,%%xmm15\n vxorps %%xmm16,%%xmm16,%%xmm16\n vxorps %%xmm17,%%xmm17,%%xmm17\n"
      "1:\n"
      "vdpbf16ps %%zmm16,%%zmm17,%%zmm0\n vdpbf16ps %%zmm16,%%zmm17,%%zmm1\n"
      "vdpbf16ps %%zmm16,%%zmm17,%%zmm2\n vdpbf16ps %%zmm16,%%zmm17,%%zmm3\n"
      "vdpbf16ps %%zmm16,%%zmm17,%%zmm4\n vdpbf16ps %%zmm16,%%zmm17,%%zmm5\n"
      "vdpbf16ps %%zmm16,%%zmm17,%%zmm6\n vdpbf16ps %%zmm16,%%zmm17,%%zmm7\n"
      "vdpbf16ps %%zmm16,%%zmm17,%%zmm8\n vdpbf16ps %%zmm16,%%zmm17,%%zmm9\n"
      "vdpbf16ps %%zmm16,%%zmm17,%%zmm10\n vdpbf16ps %%zmm16,%%zmm17,%%zmm11\n"
      "vdpbf16ps %%zmm16,%%zmm17,%%zmm12\n vdpbf16ps %%zmm16,%%zmm17,%%zmm13\n"
      "vdpbf16ps %%zmm16,%%zmm17,%%zmm14\n vdpbf16ps %%zmm16,%%zmm17,%%zmm15\n"
      "dec %0\n jnz 1b\n vzeroupper\n"
      : "+r"(iters)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "cc");
}
HCX_T2 void fma_loop_avx2(int64_t iters) {
  __asm__ volatile(
      "vxorps %%xmm0,%%xmm0,%%xmm0\n vxorps %%xmm1,%%xmm1,%%xmm1\n vxorps %%xmm2,%%xmm2,%%xmm2\n"
      "vxorps %%xmm3,%%xmm3,%%xmm3\n vxorps %%xmm4,%%xmm4,%%xmm4\n vxorps %%xmm5,%%xmm5,%%xmm5\n"
      "vxorps %%xmm6,%%xmm6,%%xmm6\n vxorps %%xmm7,%%xmm7,%%xmm7\n vxorps %%xmm8,%%xmm8,%%xmm8\n"
      "vxorps %%xmm9,%%xmm9,%%xmm9\n vxorps %%xmm10,%%xmm10,%%xmm10\n vxorps %%xmm11,%%xmm11,%%xmm11\n"
      "vxorps %%xmm14,%%xmm14,%%xmm14\n vxorps %%xmm15,%%xmm15,%%xmm15\n"
      "1:\n"
      "vfmadd231ps %%ymm14,%%ymm15,%%ymm0\n vfmadd231ps %%ymm14,%%ymm15,%%ymm1\n"
      "vfmadd231ps %%ymm14,%%ymm15,%%ymm2\n vfmadd231ps %%ymm14,%%ymm15,%%ymm3\n"
      "vfmadd231ps %%ymm14,%%ymm15,%%ymm4\n vfmadd231ps %%ymm14,%%ymm15,%%ymm5\n"
      "vfmadd231ps %%ymm14,%%ymm15,%%ymm6\n vfmadd231ps %%ymm14,%%ymm15,%%ymm7\n"
      "vfmadd231ps %%ymm14,%%ymm15,%%ymm8\n vfmadd231ps %%ymm14,%%ymm15,%%ymm9\n"
      "vfmadd231ps %%ymm14,%%ymm15,%%ymm10\n vfmadd231ps %%ymm14,%%ymm15,%%ymm11\n"
      "dec %0\n jnz 1b\n vzeroupper\n"
      : "+r"(iters)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm14", "xmm15", "cc");
}
}  // namespace

// Returns GFLOPS summed over `threads` threads, each running FMA chains for about `ms` ms.
// dtype 1 = bf16 (vdpbf16ps: 64 flops per instruction), else fp32 (zmm: 32; ymm on AVX2: 16).
// Returns 0 where the instruction is unavailable.
double peak_gflops(int dtype, int threads, double ms) {
  Isa is = isa();
  if (dtype == 1 && !use_bf16_dot()) return 0;
  if (is == Isa::Portable) return 0;
  double flops_per_iter = dtype == 1 ? 16 * 64 : is == Isa::Avx512 ? 16 * 32 : 12 * 16;
  auto loop = [&](int64_t it) {
    if (dtype == 1) fma_loop_bf16(it);
    else if (is == Isa::Avx512) fma_loop_f32(it);
    else fma_loop_avx2(it);
  };
  int nt = std::max(1, std::min(threads, num_threads()));
  std::atomic<double> total{0};
  parallel_run(nt, [&](int, int) {
    loop(10000);  // warm up (clock ramp, AVX-512 power state)
    const int64_t chunk = 100000;
    int64_t iters = 0;
    auto t0 = std::chrono::steady_clock::now();
    double el = 0;
    do {
      loop(chunk);
      iters += chunk;
      el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    } while (el * 1000 < ms);
    double g = iters * flops_per_iter / el / 1e9;
    double cur = total.load();
    while (!total.compare_exchange_weak(cur, cur + g)) {}
  });
  return total.load();
}

// sgemm(A, B, C, batch, M, N, K, transA, transB, alpha, beta, strideA, strideB, strideC)
static napi_value Sgemm(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const float* A = a.arr<float>(0);
  const float* B = a.arr<float>(1);
  float* C = a.arr<float>(2);
  int64_t batch = a.i64(3), M = a.i64(4), N = a.i64(5), K = a.i64(6);
  bool tA = a.num(7) != 0, tB = a.num(8) != 0;
  float alpha = (float)a.num(9), beta = (float)a.num(10);
  int64_t sA = a.i64(11), sB = a.i64(12), sC = a.i64(13);
  if (a.failed) return nullptr;
  sgemm_batched(tA, tB, batch, M, N, K, alpha, A, tA ? M : K, sA, B, tB ? K : N, sB, beta, C, N, sC);
  return undef(env);
}

// peakFlops(dtype: 'f32' | 'bf16', threads, ms) -> GFLOPS
static napi_value PeakFlops(napi_env env, napi_callback_info info) {
  Args a(env, info);
  char buf[16] = {0};
  size_t len = 0;
  if (a.argc < 1 || napi_get_value_string_utf8(env, a.argv[0], buf, sizeof buf, &len) != napi_ok) {
    a.fail("peakFlops: dtype must be 'f32' or 'bf16'");
    return nullptr;
  }
  int threads = (int)a.i64(1);
  double ms = a.num(2);
  if (a.failed) return nullptr;
  return number(env, peak_gflops(std::string(buf) == "bf16" ? 1 : 0, threads, ms));
}

void register_gemm(napi_env env, napi_value exports) {
  define(env, exports, "sgemm", Sgemm);
  define(env, exports, "peakFlops", PeakFlops);
}

}  // namespace hcx

// Single-precision GEMM. Two families of kernels, each compiled for AVX-512, AVX2 and portable code
// in one binary (function target attributes) and chosen at run time through hcx::isa():
//  * packed (BLIS-style): B is packed into KC x NR panels, A into MC x KC blocks of MR-row panels,
//    and a register-blocked microkernel (AVX-512 14x32, AVX2 6x16, portable 4x8) updates C tiles.
//    Threads split the C tile grid; B panels are packed cooperatively, A blocks per thread.
//    Packing lives in gemm_pack.h.
//  * skinny (decode-shaped, few rows of A; gemm_skinny.cc): no packing of the big operand; W is streamed
//    once, as dot products along K (W stored [N,K], the y = x W^T case) or as rows (W stored [K,N]).
// Every path computes C = alpha * op(A) op(B) + beta * C with beta == 0 ignoring C's old values. The peak
// FLOPS the benchmarks compare against are measured in peak.cc.
#include "gemm.h"
#include "gemm_common.h"
#include "gemm_pack.h"
#include "gemm_skinny.h"
#include "cpu.h"
#include "napi_util.h"
#include "threadpool.h"
#include <immintrin.h>
#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace hcx {
namespace {

thread_local AlignedScratch tl_packA, tl_packB, tl_x;

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
// Microkernels: C[0:m, 0:n] = A_panel (kc x MR) * B_panel (kc x NR) + beta * C.
typedef void (*Ukr)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float beta, int m, int n);

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
  float* Bp = tl_packB.floats((size_t)KC * NC);
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
        float* Ap = tl_packA.floats((size_t)ar.mc * kc);
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

// Up to this many rows the skinny kernels beat packing (measured: packing wins from about M = 48).
constexpr int64_t SKINNY_M = 40;

// Decode-shaped product via the skinny kernels. X = op(A) is made contiguous if A is transposed.
void gemm_skinny(bool tA, bool tB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                 const float* B, int64_t ldb, float beta, float* C, int64_t ldc, int nt) {
  const float* x = A;
  int64_t ldx = lda;
  if (tA) {
    float* xb = tl_x.floats((size_t)M * K);
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
      float* xb = tl_x.floats((size_t)N * K);
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

void register_gemm(napi_env env, napi_value exports) {
  define(env, exports, "sgemm", Sgemm);
}

}  // namespace hcx

// bf16 conversions and GEMM with bf16 weights (see bf16.h).
//
// op(A) is first rounded to bf16 into a row-major scratch X (rows padded with zeros to a multiple of
// 32), then one of three paths runs, chosen by shape alone so that every ISA takes the same path:
//  * packed (M > 40): X and W packed into k-pair panels, 14x32 microkernel of vdpbf16ps,
//    K blocked in BKCP pairs; each C element accumulates its pairs sequentially within a block.
//  * skinny dot (M <= 40, W stored [N,K]): 16-lane dot products along K, reduced as a tree.
//  * skinny rows (M <= 40, W stored [K,N]): W rows streamed, k pairs interleaved in registers.
// vdpbf16ps adds the odd product, then the even one, each rounded (measured on Zen 5, as Intel's
// pseudo-code says); the emulation (AVX-512F without BF16) and the portable code do the same, so all
// ISA levels give bit-identical results.
#include "bf16.h"
#include "bf16_kernels.h"
#include "bf16_skinny.h"
#include "cpu.h"
#include "napi_util.h"
#include "gemm.h"
#include "threadpool.h"
#include "transpose16.h"
#include <immintrin.h>
#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace hcx {
namespace {
using namespace bf16k;
thread_local AlignedScratch tl_x, tl_pa, tl_pb;

// Rows up to which the skinny kernels run instead of the packed GEMM, for W stored [N,K] (dot) and [K,N] (rows).
static const int64_t SKINNY_M_DOT = 40;
static const int64_t SKINNY_M_ROWS = 6;
inline bool use_packed(const struct Problem& pr);

// ---------------------------------------------------------------------------------------------
// Conversions.
HCX_T512 void f32_to_bf16_avx512(const float* s, uint16_t* d, int64_t n) {
  const __m512i one = _mm512_set1_epi32(1), bias = _mm512_set1_epi32(0x7FFF), absm = _mm512_set1_epi32(0x7FFFFFFF),
                inf = _mm512_set1_epi32(0x7F800000), q = _mm512_set1_epi32(0x40);
  int64_t i = 0;
  for (; i < n; i += 16) {
    __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
    __m512i u = _mm512_castps_si512(_mm512_maskz_loadu_ps(m, s + i));
    __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(bias, _mm512_and_si512(_mm512_srli_epi32(u, 16), one))), 16);
    __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, absm), inf);
    r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(_mm512_srli_epi32(u, 16), q));
    _mm256_mask_storeu_epi16(d + i, m, _mm512_cvtepi32_epi16(r));
  }
}
HCX_T512 void bf16_to_f32_avx512(const uint16_t* s, float* d, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
    __m512i v = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, s + i));
    _mm512_mask_storeu_ps(d + i, m, _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)));
  }
}

}  // namespace

void f32_to_bf16_n(const float* s, uint16_t* d, int64_t n) {
  if (isa() == Isa::Avx512) { f32_to_bf16_avx512(s, d, n); return; }
  for (int64_t i = 0; i < n; i++) d[i] = f32_to_bf16(s[i]);
}
void bf16_to_f32_n(const uint16_t* s, float* d, int64_t n) {
  if (isa() == Isa::Avx512) { bf16_to_f32_avx512(s, d, n); return; }
  for (int64_t i = 0; i < n; i++) d[i] = bf16_to_f32(s[i]);
}

namespace {
using namespace bf16k;

inline bool use_packed(const Problem& pr) { return pr.M > (pr.tW ? SKINNY_M_DOT : SKINNY_M_ROWS); }


template <class Dot>
void packed_avx512(const Problem& pr, int nt) {
  const int64_t M = pr.M, N = pr.N;
  int64_t P, KCP;
  kblocks(pr.K, &P, &KCP);
  const int64_t MC = BMR * 16;
  int64_t NC = std::max<int64_t>(BNR, ((int64_t)(2 << 20) / KCP) / BNR * BNR);
  if (NC >= N) NC = cdiv(N, BNR) * BNR;
  int64_t mb = cdiv(M, BMR);
  uint32_t* Wp = static_cast<uint32_t*>(tl_pb.get((size_t)KCP * NC * 4));
  for (int64_t jc = 0; jc < N; jc += NC) {
    int64_t nc = std::min(NC, N - jc), np = cdiv(nc, BNR);
    int tm, tn;
    choose_thread_grid(nt, mb, BMR, np, BNR, tm, tn);
    int used = tm * tn;
    for (int64_t pc = 0; pc < P; pc += KCP) {
      int64_t kcp = std::min(KCP, P - pc);
      float beta_eff = pc == 0 ? pr.beta : 1.f;
      auto packW = [&](int64_t q0, int64_t q1) {
        for (int64_t q = q0; q < q1; q++)
          pack_w_bf16(pr.tW, pr.W, pr.ldw, pr.K, pc, kcp, jc + q * BNR, (int)std::min<int64_t>(BNR, nc - q * BNR),
                      Wp + q * kcp * BNR);
      };
      auto compute = [&](int t) {
        int ti = t / tn, tj = t % tn;
        int64_t r0 = mb * ti / tm * BMR, r1 = std::min(M, mb * (ti + 1) / tm * BMR);
        int64_t q0 = np * tj / tn, q1 = np * (tj + 1) / tn;
        uint32_t* Ap = static_cast<uint32_t*>(tl_pa.get((size_t)MC * kcp * 4));
        for (int64_t ic = r0; ic < r1; ic += MC) {
          int64_t mc = std::min<int64_t>(MC, r1 - ic);
          if (pr.X) pack_a_bf16(pr.X, pr.ldx, ic, mc, pc, kcp, Ap);
          else pack_a_rows_bf16(pr.A, pr.Ab, pr.lda, pr.K, ic, mc, pc, kcp, Ap);
          for (int64_t q = q0; q < q1; q++) {
            const uint32_t* bp = Wp + q * kcp * BNR;
            int nr = (int)std::min<int64_t>(BNR, nc - q * BNR);
            float* cq = pr.C + jc + q * BNR;
            for (int64_t ir = 0; ir < mc; ir += BMR)
              ukr_bf16<Dot>(kcp, Ap + ir * kcp, bp, cq + (ic + ir) * pr.ldc, pr.ldc, pr.alpha, beta_eff,
                            (int)std::min<int64_t>(BMR, mc - ir), nr);
          }
        }
      };
      if (used <= 1) {
        packW(0, np);
        compute(0);
      } else if (tm == 1) {
        // Column split: each thread packs exactly the panels it multiplies, so no barrier between.
        parallel_run(used, [&](int t, int n) { packW(np * t / n, np * (t + 1) / n); compute(t); });
      } else {
        parallel_run(used, [&](int t, int n) { packW(np * t / n, np * (t + 1) / n); });
        parallel_run(used, [&](int t, int) { compute(t); });
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
inline uint32_t w_pair(const Problem& pr, int64_t p, int64_t j) {
  int64_t k = 2 * p;
  uint32_t v = 0;
  if (pr.tW) {
    const uint16_t* w = pr.W + j * pr.ldw;
    if (k < pr.K) v = w[k];
    if (k + 1 < pr.K) v |= (uint32_t)w[k + 1] << 16;
  } else {
    if (k < pr.K) v = pr.W[k * pr.ldw + j];
    if (k + 1 < pr.K) v |= (uint32_t)pr.W[(k + 1) * pr.ldw + j] << 16;
  }
  return v;
}

void portable_rows(const Problem& pr, int64_t n0, int64_t n1) {
  int64_t P, KCP;
  kblocks(pr.K, &P, &KCP);
  bool packed = use_packed(pr);
  for (int64_t i = 0; i < pr.M; i++) {
    const uint32_t* x = reinterpret_cast<const uint32_t*>(pr.X + i * pr.ldx);
    for (int64_t j = n0; j < n1; j++) {
      float* c = pr.C + i * pr.ldc + j;
      if (packed) {
        for (int64_t pc = 0; pc < P; pc += KCP) {
          float acc = 0.f;
          for (int64_t p = pc; p < std::min(P, pc + KCP); p++) acc = pair_dot(acc, x[p], w_pair(pr, p, j));
          store1(c, acc, pr.alpha, pc == 0 ? pr.beta : 1.f);
        }
      } else if (pr.tW) {
        float lane[16] = {};
        for (int64_t p0 = 0; p0 < P; p0 += 16)
          for (int l = 0; l < 16; l++) {
            int64_t p = p0 + l;
            lane[l] = pair_dot(lane[l], 2 * p < pr.ldx ? x[p] : 0u, p < P ? w_pair(pr, p, j) : 0u);
          }
        for (int l = 0; l < 8; l++) lane[l] += lane[l + 8];
        for (int l = 0; l < 4; l++) lane[l] += lane[l + 4];
        for (int l = 0; l < 2; l++) lane[l] += lane[l + 2];
        store1(c, lane[0] + lane[1], pr.alpha, pr.beta);
      } else {
        float acc = 0.f;
        for (int64_t p = 0; p < P; p++) acc = pair_dot(acc, x[p], w_pair(pr, p, j));
        store1(c, acc, pr.alpha, pr.beta);
      }
    }
  }
}


void run_problem(const Problem& pr, int nt) {
  bool avx = isa() == Isa::Avx512, hw = use_bf16_dot() && !g_no_bf16_dot;
  double flops = 2.0 * pr.M * pr.N * pr.K;
  if (flops < (1 << 19)) nt = 1;
  if (avx && use_packed(pr)) {
    if (hw) packed_avx512<DotHw>(pr, nt);
    else packed_avx512<DotEmu>(pr, nt);
    return;
  }
  int64_t unit = !avx ? 1 : pr.tW ? 4 : 64;
  int64_t units = cdiv(pr.N, unit);
  int use = (int)std::min<int64_t>(nt, units);
  auto body = [&](int t, int n) {
    int64_t n0 = std::min(pr.N, units * t / n * unit), n1 = std::min(pr.N, units * (t + 1) / n * unit);
    if (n0 >= n1) return;
    if (!avx) portable_rows(pr, n0, n1);
    else if (pr.tW) hw ? skinny_dot_avx512<DotHw>(pr, n0, n1) : skinny_dot_avx512<DotEmu>(pr, n0, n1);
    else hw ? skinny_rows_avx512<DotHw>(pr, n0, n1) : skinny_rows_avx512<DotEmu>(pr, n0, n1);
  };
  if (use <= 1) body(0, 1);
  else parallel_run(use, body);
}

void gemm_bf16_impl(bool tA, bool tW, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                    const uint16_t* Ab, int64_t lda, const uint16_t* W, int64_t ldw, float beta, float* C, int64_t ldc,
                    int nt) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.f) {
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) C[i * ldc + j] = beta == 0.f ? 0.f : beta * C[i * ldc + j];
    return;
  }
  int64_t ldx = cdiv(K, 32) * 32;
  Problem pr{tW, M, N, K, alpha, nullptr, ldx, W, ldw, beta, C, ldc, A, Ab, lda};
  // The AVX-512 packed path packs op(A) straight from its rows; the other paths read a rounded copy X.
  if (tA || isa() != Isa::Avx512 || !use_packed(pr)) {
    uint16_t* X = static_cast<uint16_t*>(tl_x.get((size_t)M * ldx * 2));
    if (nt > 1 && M * K >= (1 << 16))
      parallel_for(M, 16, [&](int64_t r0, int64_t r1, int) { make_x(tA, A, Ab, lda, r0, r1, K, X, ldx); });
    else make_x(tA, A, Ab, lda, 0, M, K, X, ldx);
    pr.X = X;
  }
  run_problem(pr, nt);
}

}  // namespace

bool g_no_bf16_dot = false;

void gemm_bf16(bool tA, bool tW, int64_t M, int64_t N, int64_t K, float alpha, const float* A, const uint16_t* Ab,
               int64_t lda, const uint16_t* W, int64_t ldw, float beta, float* C, int64_t ldc) {
  gemm_bf16_impl(tA, tW, M, N, K, alpha, A, Ab, lda, W, ldw, beta, C, ldc, num_threads());
}
void gemm_bf16_serial(bool tA, bool tW, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                      const uint16_t* Ab, int64_t lda, const uint16_t* W, int64_t ldw, float beta, float* C,
                      int64_t ldc) {
  gemm_bf16_impl(tA, tW, M, N, K, alpha, A, Ab, lda, W, ldw, beta, C, ldc, 1);
}
void gemm_bf16_batched(bool tA, bool tW, int64_t batch, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                       const uint16_t* Ab, int64_t lda, int64_t sA, const uint16_t* W, int64_t ldw, int64_t sW,
                       float beta, float* C, int64_t ldc, int64_t sC) {
  int nt = num_threads();
  if (batch > 1 && nt > 1 && 2.0 * M * N * K < 64.0 * 64 * 64 * 2 * 8 && sC != 0) {
    parallel_for(batch, 1, [&](int64_t b0, int64_t b1, int) {
      for (int64_t b = b0; b < b1; b++)
        gemm_bf16_impl(tA, tW, M, N, K, alpha, A ? A + b * sA : nullptr, Ab ? Ab + b * sA : nullptr, lda, W + b * sW,
                       ldw, beta, C + b * sC, ldc, 1);
    });
    return;
  }
  for (int64_t b = 0; b < batch; b++)
    gemm_bf16_impl(tA, tW, M, N, K, alpha, A ? A + b * sA : nullptr, Ab ? Ab + b * sA : nullptr, lda, W + b * sW, ldw,
                   beta, C + b * sC, ldc, nt);
}

// ---------------------------------------------------------------------------------------------
// JS bindings.
static bool typed(napi_env env, napi_value v, napi_typedarray_type* type, void** data, size_t* len) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  napi_value ab;
  size_t off;
  return napi_get_typedarray_info(env, v, type, len, data, &ab, &off) == napi_ok;
}

// f32ToBf16(src: Float32Array, dst: Uint16Array)
static napi_value F32ToBf16(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t n = 0, m = 0;
  const float* s = a.arr<float>(0, &n);
  uint16_t* d = a.arr<uint16_t>(1, &m);
  if (a.failed) return nullptr;
  if (m < n) { a.fail("f32ToBf16: dst is shorter than src"); return nullptr; }
  f32_to_bf16_n(s, d, (int64_t)n);
  return undef(env);
}
// bf16ToF32(src: Uint16Array, dst: Float32Array)
static napi_value Bf16ToF32(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t n = 0, m = 0;
  const uint16_t* s = a.arr<uint16_t>(0, &n);
  float* d = a.arr<float>(1, &m);
  if (a.failed) return nullptr;
  if (m < n) { a.fail("bf16ToF32: dst is shorter than src"); return nullptr; }
  bf16_to_f32_n(s, d, (int64_t)n);
  return undef(env);
}
// gemmBf16(a: Float32Array | Uint16Array (bf16), w: Uint16Array (bf16), c: Float32Array, batch, m, n, k,
//          transA, transW, alpha, beta, strideA, strideW, strideC)
static napi_value GemmBf16(napi_env env, napi_callback_info info) {
  Args a(env, info);
  napi_typedarray_type ta;
  void* adata = nullptr;
  size_t alen = 0;
  if (a.argc < 14 || !typed(env, a.argv[0], &ta, &adata, &alen) ||
      (ta != napi_float32_array && ta != napi_uint16_array)) {
    a.fail("gemmBf16: a must be a Float32Array or a Uint16Array of bf16");
    return nullptr;
  }
  const uint16_t* W = a.arr<uint16_t>(1);
  float* C = a.arr<float>(2);
  int64_t batch = a.i64(3), M = a.i64(4), N = a.i64(5), K = a.i64(6);
  bool tA = a.num(7) != 0, tW = a.num(8) != 0;
  float alpha = (float)a.num(9), beta = (float)a.num(10);
  int64_t sA = a.i64(11), sW = a.i64(12), sC = a.i64(13);
  if (a.failed) return nullptr;
  const float* Af = ta == napi_float32_array ? static_cast<const float*>(adata) : nullptr;
  const uint16_t* Ab = ta == napi_uint16_array ? static_cast<const uint16_t*>(adata) : nullptr;
  gemm_bf16_batched(tA, tW, batch, M, N, K, alpha, Af, Ab, tA ? M : K, sA, W, tW ? K : N, sW, beta, C, N, sC);
  return undef(env);
}

// setBf16Dot(enabled): 0 makes gemmBf16 emulate vdpbf16ps even where the CPU has it (for tests).
static napi_value SetBf16Dot(napi_env env, napi_callback_info info) {
  Args a(env, info);
  double v = a.num(0);
  if (a.failed) return nullptr;
  g_no_bf16_dot = v == 0;
  return undef(env);
}

void register_bf16(napi_env env, napi_value exports) {
  define(env, exports, "setBf16Dot", SetBf16Dot);
  define(env, exports, "f32ToBf16", F32ToBf16);
  define(env, exports, "bf16ToF32", Bf16ToF32);
  define(env, exports, "gemmBf16", GemmBf16);
}

}  // namespace hcx

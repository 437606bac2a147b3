// Pre-packed bf16 weights for inference: y = x W^T with W [N,K] packed once into the microkernel's panel
// layout, so a decode step neither re-packs the weight (the packed GEMM packs it on every call) nor falls
// back to the skinny dot kernels, whose horizontal sums cost as much as the products when K is a few
// hundred. Layout: for each k block of kcp pairs (kblocks(K)), the NP = ceil(N/32) panels of that block,
// each kcp x 32 dwords; the buffer starts at the first 64-byte boundary of the array.
// Arithmetic is the packed GEMM's (pairs in order within a k block, blocks added into C), on every ISA.
#include "bf16_kernels.h"
#include "cpu.h"
#include "gemm.h"
#include "napi_util.h"
#include "threadpool.h"
#include <vector>

namespace hcx {
namespace {
using namespace bf16k;
thread_local AlignedScratch tl_px, tl_ppa;

int64_t packed_words(int64_t N, int64_t K) { return cdiv(K, 2) * cdiv(N, BNR) * BNR + 16; }
uint32_t* align64(uint32_t* p) { return reinterpret_cast<uint32_t*>((reinterpret_cast<uintptr_t>(p) + 63) & ~uintptr_t(63)); }
// Start of panel q of the k block that begins at pair pc (kcp pairs long).
inline int64_t panel_at(int64_t pc, int64_t kcp, int64_t NP, int64_t q) { return pc * NP * BNR + q * kcp * BNR; }

// Calls pack(pc, kcp, q, panel) for every (k block, weight panel) in the layout's order.
template <class F> void for_each_panel(int64_t N, int64_t K, uint32_t* dst, F&& pack) {
  int64_t P, KCP;
  kblocks(K, &P, &KCP);
  const int64_t NP = cdiv(N, BNR);
  for (int64_t pc = 0; pc < P; pc += KCP) {
    const int64_t kcp = std::min(KCP, P - pc);
    for (int64_t q = 0; q < NP; q++) pack(pc, kcp, q, dst + panel_at(pc, kcp, NP, q));
  }
}

void pack_portable(const uint16_t* W, int64_t N, int64_t K, uint32_t* dst) {
  for_each_panel(N, K, dst, [&](int64_t pc, int64_t kcp, int64_t q, uint32_t* out) {
    for (int64_t p = 0; p < kcp; p++)
      for (int col = 0; col < BNR; col++) {
        const int64_t j = q * BNR + col, k = 2 * (pc + p);
        uint32_t v = 0;
        if (j < N) {
          if (k < K) v = W[j * K + k];
          if (k + 1 < K) v |= (uint32_t)W[j * K + k + 1] << 16;
        }
        out[p * BNR + col] = v;
      }
  });
}

void pack_avx512(const uint16_t* W, int64_t N, int64_t K, uint32_t* dst) {
  for_each_panel(N, K, dst, [&](int64_t pc, int64_t kcp, int64_t q, uint32_t* out) {
    pack_w_bf16(true, W, K, K, pc, kcp, q * BNR, (int)std::min<int64_t>(BNR, N - q * BNR), out);
  });
}

// One microkernel call with the row count known at compile time (the last block of rows may be short).
template <class Dot>
HCX_TBF void ukr_rows(int m, int64_t kcp, const uint32_t* a, const uint32_t* b, float* c, int64_t ldc, float beta, int n) {
  switch (m) {
#define HCX_UKR_CASE(R) case R: ukr_bf16<Dot, R>(kcp, a, b, c, ldc, 1.f, beta, R, n); break;
    HCX_UKR_CASE(1) HCX_UKR_CASE(2) HCX_UKR_CASE(3) HCX_UKR_CASE(4) HCX_UKR_CASE(5) HCX_UKR_CASE(6) HCX_UKR_CASE(7)
    HCX_UKR_CASE(8) HCX_UKR_CASE(9) HCX_UKR_CASE(10) HCX_UKR_CASE(11) HCX_UKR_CASE(12) HCX_UKR_CASE(13)
#undef HCX_UKR_CASE
    default: ukr_bf16<Dot, BMR>(kcp, a, b, c, ldc, 1.f, beta, m, n);
  }
}

// A few rows against NPN panels at once: with one or two rows the 14x32 kernel would leave only two or
// four independent accumulator chains and wait on vdpbf16ps latency; here there are 2 * MR * NPN.
template <class Dot, int MR, int NPN>
HCX_TBF void ukr_wide(int64_t kcp, const uint32_t* a, const uint32_t* b, int64_t pstride, float* c, int64_t ldc, float beta,
                      int lastn) {
  __m512 acc[MR][2 * NPN];
  for (int i = 0; i < MR; i++) for (int v = 0; v < 2 * NPN; v++) acc[i][v] = _mm512_setzero_ps();
  for (int64_t p = 0; p < kcp; p++) {
    __m512i bv[2 * NPN];
    for (int j = 0; j < NPN; j++) {
      bv[2 * j] = _mm512_load_si512(b + j * pstride + p * BNR);
      bv[2 * j + 1] = _mm512_load_si512(b + j * pstride + p * BNR + 16);
    }
    for (int i = 0; i < MR; i++) {
      __m512i av = _mm512_set1_epi32((int)a[p * BMR + i]);
      for (int v = 0; v < 2 * NPN; v++) acc[i][v] = Dot::dp(acc[i][v], av, bv[v]);
    }
  }
  for (int i = 0; i < MR; i++)
    for (int v = 0; v < 2 * NPN; v++) {
      // Only the group's last panel may be partial (lastn columns).
      int cols = v / 2 == NPN - 1 ? lastn - 16 * (v % 2) : 16;
      if (cols <= 0) continue;
      __mmask16 mk = cols >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1);
      float* cp = c + i * ldc + 16 * v;
      __m512 r = acc[i][v];
      if (beta != 0.f) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(mk, cp));
      _mm512_mask_storeu_ps(cp, mk, r);
    }
}

// Rows [ic, ic + mc) (mc <= 4) against panels [q0, q1) of one k block, NPN panels per call.
template <class Dot>
HCX_TBF void few_rows(int mc, int64_t kcp, const uint32_t* Ap, const uint32_t* Wblock, int64_t q0, int64_t q1, int64_t N,
                      float* C, float beta) {
  const int64_t ps = kcp * BNR;
  int64_t q = q0;
  auto lastn = [&](int64_t qlast) { return (int)std::min<int64_t>(BNR, N - qlast * BNR); };
#define HCX_WIDE(R, P) ukr_wide<Dot, R, P>(kcp, Ap, Wblock + q * ps, ps, C + q * BNR, N, beta, lastn(q + P - 1))
  if (mc == 1) for (; q + 4 <= q1; q += 4) HCX_WIDE(1, 4);
  else if (mc == 2) for (; q + 4 <= q1; q += 4) HCX_WIDE(2, 4);
  else if (mc == 3) for (; q + 2 <= q1; q += 2) HCX_WIDE(3, 2);
  else for (; q + 2 <= q1; q += 2) HCX_WIDE(4, 2);
  for (; q < q1; q++) {
    if (mc == 1) HCX_WIDE(1, 1);
    else if (mc == 2) HCX_WIDE(2, 1);
    else if (mc == 3) HCX_WIDE(3, 1);
    else HCX_WIDE(4, 1);
  }
#undef HCX_WIDE
}

template <class Dot>
void gemm_avx512(int64_t M, int64_t N, int64_t K, const uint16_t* X, int64_t ldx, const uint32_t* Wp, float* C, int nt) {
  int64_t P, KCP;
  kblocks(K, &P, &KCP);
  // Rows per A panel: as even as the panel count allows (32 rows: 11 + 11 + 10, not 14 + 14 + 4, which
  // would compute 42 rows), so decode batches waste little of the microkernel.
  const int64_t mr = cdiv(M, cdiv(M, BMR));
  const int64_t NP = cdiv(N, BNR), mb = cdiv(M, mr);
  // Tasks: groups of up to 16 row panels (an A block that stays in L2) times groups of weight panels,
  // about four tasks per thread, so a thread the OS deschedules holds back one small task, not half.
  const int64_t rg = cdiv(mb, 16), pg = nt <= 1 ? 1 : std::min<int64_t>(NP, std::max<int64_t>(1, cdiv(4 * nt, rg)));
  uint32_t* Ap = static_cast<uint32_t*>(tl_ppa.get((size_t)(mb * BMR * std::min(KCP, P)) * 4));
  for (int64_t pc = 0; pc < P; pc += KCP) {
    const int64_t kcp = std::min(KCP, P - pc);
    const float beta = pc == 0 ? 0.f : 1.f;
    auto pack = [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; i++) pack_a_bf16(X, ldx, i * mr, std::min(mr, M - i * mr), pc, kcp, Ap + i * BMR * kcp);
    };
    if (nt > 1 && M * kcp >= (1 << 15)) parallel_for(mb, 1, [&](int64_t i0, int64_t i1, int) { pack(i0, i1); });
    else pack(0, mb);
    auto task = [&](int t, int) {
      const int64_t gi = t / pg, gj = t % pg;
      const int64_t i0 = gi * 16, i1 = std::min(mb, i0 + 16), q0 = NP * gj / pg, q1 = NP * (gj + 1) / pg;
      if (M <= 4) {
        few_rows<Dot>((int)M, kcp, Ap, Wp + panel_at(pc, kcp, NP, 0), q0, q1, N, C, beta);
        return;
      }
      for (int64_t q = q0; q < q1; q++) {
        const uint32_t* bp = Wp + panel_at(pc, kcp, NP, q);
        const int nr = (int)std::min<int64_t>(BNR, N - q * BNR);
        for (int64_t i = i0; i < i1; i++)
          ukr_rows<Dot>((int)std::min(mr, M - i * mr), kcp, Ap + i * BMR * kcp, bp, C + i * mr * N + q * BNR, N, beta, nr);
      }
    };
    const int tasks = (int)(rg * pg);
    if (nt <= 1 || tasks <= 1) for (int t = 0; t < tasks; t++) task(t, tasks);
    else parallel_tasks(tasks, task);
  }
}

void gemm_portable(int64_t M, int64_t N, int64_t K, const uint16_t* X, int64_t ldx, const uint32_t* Wp, float* C) {
  int64_t P, KCP;
  kblocks(K, &P, &KCP);
  const int64_t NP = cdiv(N, BNR);
  for (int64_t i = 0; i < M; i++) {
    const uint32_t* x = reinterpret_cast<const uint32_t*>(X + i * ldx);
    for (int64_t j = 0; j < N; j++)
      for (int64_t pc = 0; pc < P; pc += KCP) {
        const int64_t kcp = std::min(KCP, P - pc);
        const uint32_t* w = Wp + panel_at(pc, kcp, NP, j / BNR) + j % BNR;
        float acc = 0.f;
        for (int64_t p = 0; p < kcp; p++) acc = pair_dot(acc, x[pc + p], w[p * BNR]);
        store1(C + i * N + j, acc, 1.f, pc == 0 ? 0.f : 1.f);
      }
  }
}

// packedBf16Words(N, K): the Uint32Array length packBf16 needs.
napi_value PackedWords(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t N = a.i64(0), K = a.i64(1);
  if (a.failed) return nullptr;
  if (N <= 0 || K <= 0) { a.fail("packedBf16Words: N and K must be positive"); return nullptr; }
  return number(env, (double)packed_words(N, K));
}

// packBf16(w: Float32Array [N,K] (rounded to bf16) or Uint16Array of bf16 bits, N, K, dst: Uint32Array of
// packedBf16Words(N, K)): packs the weight. bf16 bits pack as they are, so a bf16 checkpoint needs no fp32 copy.
napi_value PackBf16(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t nw = 0, nd = 0;
  napi_typedarray_type type = napi_float32_array;
  void* wdata = nullptr;
  napi_value ab;
  size_t off = 0;
  if (a.argc < 4 || napi_get_typedarray_info(env, a.argv[0], &type, &nw, &wdata, &ab, &off) != napi_ok ||
      (type != napi_float32_array && type != napi_uint16_array)) {
    a.fail("packBf16: the weight must be a Float32Array or a Uint16Array of bf16 bits");
    return nullptr;
  }
  int64_t N = a.i64(1), K = a.i64(2);
  uint32_t* dst = a.arr<uint32_t>(3, &nd);
  if (a.failed) return nullptr;
  if (N <= 0 || K <= 0 || nw < (size_t)(N * K) || nd < (size_t)packed_words(N, K)) {
    a.fail("packBf16: the weight must hold N*K values and dst packedBf16Words(N, K) words");
    return nullptr;
  }
  std::vector<uint16_t> rounded;
  const uint16_t* bits = static_cast<const uint16_t*>(wdata);
  if (type == napi_float32_array) {
    rounded.resize((size_t)(N * K));
    f32_to_bf16_n(static_cast<const float*>(wdata), rounded.data(), N * K);
    bits = rounded.data();
  }
  if (isa() == Isa::Avx512) pack_avx512(bits, N, K, align64(dst));
  else pack_portable(bits, N, K, align64(dst));
  return undef(env);
}

// embeddingPackedBf16(wp: Uint32Array from packBf16, ids: Int32Array, out: Float32Array [ids, K], N, K): rows of the
// packed [N, K] weight as float32, so a tied embedding is looked up in the output projection's packed copy.
napi_value EmbeddingPacked(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t nw = 0, ni = 0, no = 0;
  const uint32_t* wp = a.arr<uint32_t>(0, &nw);
  const int32_t* ids = a.arr<int32_t>(1, &ni);
  float* out = a.arr<float>(2, &no);
  int64_t N = a.i64(3), K = a.i64(4);
  if (a.failed) return nullptr;
  if (N <= 0 || K <= 0 || nw < (size_t)packed_words(N, K) || no < ni * (size_t)K) {
    a.fail("embeddingPackedBf16: buffer sizes do not match N, K and the ids");
    return nullptr;
  }
  for (size_t t = 0; t < ni; t++)
    if (ids[t] < 0 || ids[t] >= N) { a.fail("embeddingPackedBf16: id outside 0..N-1"); return nullptr; }
  const uint32_t* W = align64(const_cast<uint32_t*>(wp));
  int64_t P, KCP;
  kblocks(K, &P, &KCP);
  const int64_t NP = cdiv(N, BNR);
  uint32_t* o = reinterpret_cast<uint32_t*>(out);
  for (size_t t = 0; t < ni; t++) {
    const int64_t j = ids[t], q = j / BNR, col = j % BNR;
    uint32_t* row = o + t * K;
    for (int64_t pc = 0; pc < P; pc += KCP) {
      const int64_t kcp = std::min(KCP, P - pc);
      const uint32_t* w = W + panel_at(pc, kcp, NP, q) + col;
      for (int64_t p = 0; p < kcp; p++) {
        const uint32_t pair = w[p * BNR];
        const int64_t k = 2 * (pc + p);
        row[k] = pair << 16;
        if (k + 1 < K) row[k + 1] = pair & 0xFFFF0000u;
      }
    }
  }
  return undef(env);
}

// gemmBf16Prepacked(x: Float32Array [M,K], wp: Uint32Array from packBf16, c: Float32Array [M,N], M, N, K): c = x W^T.
napi_value GemmPrepacked(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t nx = 0, nw = 0, nc = 0;
  const float* x = a.arr<float>(0, &nx);
  uint32_t* wp = a.arr<uint32_t>(1, &nw);
  float* c = a.arr<float>(2, &nc);
  int64_t M = a.i64(3), N = a.i64(4), K = a.i64(5);
  if (a.failed) return nullptr;
  if (M < 0 || N <= 0 || K <= 0 || nx < (size_t)(M * K) || nc < (size_t)(M * N) || nw < (size_t)packed_words(N, K)) {
    a.fail("gemmBf16Prepacked: buffer sizes do not match M, N, K");
    return nullptr;
  }
  if (M == 0) return undef(env);
  const int64_t ldx = cdiv(K, 32) * 32;
  uint16_t* X = static_cast<uint16_t*>(tl_px.get((size_t)(M * ldx * 2)));
  for (int64_t i = 0; i < M; i++) {
    f32_to_bf16_n(x + i * K, X + i * ldx, K);
    std::memset(X + i * ldx + K, 0, (size_t)(ldx - K) * 2);
  }
  const uint32_t* W = align64(wp);
  const int nt = 2.0 * M * N * K < (1 << 19) ? 1 : num_threads();
  if (isa() != Isa::Avx512) gemm_portable(M, N, K, X, ldx, W, c);
  else if (use_bf16_dot() && !g_no_bf16_dot) gemm_avx512<DotHw>(M, N, K, X, ldx, W, c, nt);
  else gemm_avx512<DotEmu>(M, N, K, X, ldx, W, c, nt);
  return undef(env);
}

}  // namespace

void register_bf16_prepacked(napi_env env, napi_value exports) {
  define(env, exports, "packedBf16Words", PackedWords);
  define(env, exports, "packBf16", PackBf16);
  define(env, exports, "gemmBf16Prepacked", GemmPrepacked);
  define(env, exports, "embeddingPackedBf16", EmbeddingPacked);
}

}  // namespace hcx

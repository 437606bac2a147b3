// Peak FLOPS measured on the spot: register-only FMA chains (16 independent zmm accumulators; vdpbf16ps for
// bf16), timed per thread and summed. The benchmarks report GEMM throughput as a share of it.
#include "gemm.h"
#include "cpu.h"
#include "bf16.h"
#include "gemm_common.h"
#include "napi_util.h"
#include "threadpool.h"
#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>

namespace hcx {
namespace {
// 16 independent accumulator chains of one zmm instruction OP (zmm0-15 += zmm16 . zmm17), iters times.
#define HCX_ZMM_CHAINS(OP, iters)                                                                             \
  __asm__ volatile(                                                                                           \
      "vxorps %%xmm0,%%xmm0,%%xmm0\n vxorps %%xmm1,%%xmm1,%%xmm1\n vxorps %%xmm2,%%xmm2,%%xmm2\n"               \
      "vxorps %%xmm3,%%xmm3,%%xmm3\n vxorps %%xmm4,%%xmm4,%%xmm4\n vxorps %%xmm5,%%xmm5,%%xmm5\n"               \
      "vxorps %%xmm6,%%xmm6,%%xmm6\n vxorps %%xmm7,%%xmm7,%%xmm7\n vxorps %%xmm8,%%xmm8,%%xmm8\n"               \
      "vxorps %%xmm9,%%xmm9,%%xmm9\n vxorps %%xmm10,%%xmm10,%%xmm10\n vxorps %%xmm11,%%xmm11,%%xmm11\n"         \
      "vxorps %%xmm12,%%xmm12,%%xmm12\n vxorps %%xmm13,%%xmm13,%%xmm13\n vxorps %%xmm14,%%xmm14,%%xmm14\n"      \
      "vxorps %%xmm15,%%xmm15,%%xmm15\n vxorps %%xmm16,%%xmm16,%%xmm16\n vxorps %%xmm17,%%xmm17,%%xmm17\n"      \
      "1:\n"                                                                                                  \
      OP " %%zmm16,%%zmm17,%%zmm0\n" OP " %%zmm16,%%zmm17,%%zmm1\n" \
      OP " %%zmm16,%%zmm17,%%zmm2\n" OP " %%zmm16,%%zmm17,%%zmm3\n" \
      OP " %%zmm16,%%zmm17,%%zmm4\n" OP " %%zmm16,%%zmm17,%%zmm5\n" \
      OP " %%zmm16,%%zmm17,%%zmm6\n" OP " %%zmm16,%%zmm17,%%zmm7\n" \
      OP " %%zmm16,%%zmm17,%%zmm8\n" OP " %%zmm16,%%zmm17,%%zmm9\n" \
      OP " %%zmm16,%%zmm17,%%zmm10\n" OP " %%zmm16,%%zmm17,%%zmm11\n" \
      OP " %%zmm16,%%zmm17,%%zmm12\n" OP " %%zmm16,%%zmm17,%%zmm13\n" \
      OP " %%zmm16,%%zmm17,%%zmm14\n" OP " %%zmm16,%%zmm17,%%zmm15\n" \
      "dec %0\n jnz 1b\n vzeroupper\n"                                                                      \
      : "+r"(iters)                                                                                           \
      :                                                                                                       \
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",       \
        "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "cc")

HCX_T512 void fma_loop_f32(int64_t iters) { HCX_ZMM_CHAINS("vfmadd231ps", iters); }
__attribute__((target("avx512f,avx512bf16"))) void fma_loop_bf16(int64_t iters) { HCX_ZMM_CHAINS("vdpbf16ps", iters); }
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


void register_peak(napi_env env, napi_value exports) { define(env, exports, "peakFlops", PeakFlops); }

}  // namespace hcx

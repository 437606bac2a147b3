// Pieces shared by the fp32 GEMM (gemm.cc, gemm_pack.h, gemm_skinny.cc) and the bf16 GEMMs (bf16_kernels.h):
// per-function ISA targets, grow-only aligned scratch buffers, and ceiling division.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#define HCX_T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
#define HCX_T2 __attribute__((target("avx2,fma")))

namespace hcx {

// Grow-only, 64-byte-aligned scratch (one per thread per use: declare thread_local). 128 bytes of slack
// let kernels read a vector past the end.
struct AlignedScratch {
  void* p = nullptr;
  size_t cap = 0;
  ~AlignedScratch() { std::free(p); }
  void* get(size_t bytes) {
    bytes += 128;
    if (bytes > cap) {
      std::free(p);
      cap = (bytes + 4095) & ~size_t(4095);
      p = std::aligned_alloc(64, cap);
    }
    return p;
  }
  float* floats(size_t n) { return static_cast<float*>(get(n * sizeof(float))); }
};

inline int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace hcx

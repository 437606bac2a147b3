// bfloat16 storage and GEMM with bf16 operands.
// Conversion from float rounds to nearest even; NaN stays NaN (quieted), infinities stay infinite.
#pragma once
#include <cstdint>
#include <cstring>

namespace hcx {

inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x40u);  // NaN: keep sign/payload, quiet
  u += 0x7FFFu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}
inline float bf16_to_f32(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
void f32_to_bf16_n(const float* src, uint16_t* dst, int64_t n);
void bf16_to_f32_n(const uint16_t* src, float* dst, int64_t n);

// C = alpha * op(A) * op(W) + beta * C, row-major, fp32 accumulation of bf16 products.
// A is fp32 (`A`, rounded to bf16 on the way in) or already bf16 (`Abf`, pass A = nullptr);
// op(A) is M x K (stored K x M when transA). W is bf16, stored K x N, or N x K when transW (the
// nn.Linear weight layout, y = x W^T). Uses vdpbf16ps where the CPU has AVX512_BF16 and an fp32
// emulation of it elsewhere that gives bit-identical results (denormals aside: vdpbf16ps flushes them).
void gemm_bf16(bool transA, bool transW, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
               const uint16_t* Abf, int64_t lda, const uint16_t* W, int64_t ldw, float beta, float* C, int64_t ldc);
// Single-threaded, for calls from inside a parallel_for / parallel_run body.
void gemm_bf16_serial(bool transA, bool transW, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                      const uint16_t* Abf, int64_t lda, const uint16_t* W, int64_t ldw, float beta, float* C,
                      int64_t ldc);
// Batched at fixed element strides (0 broadcasts that operand).
void gemm_bf16_batched(bool transA, bool transW, int64_t batch, int64_t M, int64_t N, int64_t K, float alpha,
                       const float* A, const uint16_t* Abf, int64_t lda, int64_t strideA, const uint16_t* W,
                       int64_t ldw, int64_t strideW, float beta, float* C, int64_t ldc, int64_t strideC);

}  // namespace hcx

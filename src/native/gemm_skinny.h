// Skinny (decode-shaped) fp32 kernels (gemm_skinny.cc), called by sgemm for few rows; AVX-512 only.
#pragma once
#include <cstdint>
#include "gemm_common.h"

namespace hcx {
// W stored [N, K]: C[m, n] = alpha * dot(X[m, :], W[n, :]) + beta * C[m, n] for n in [n0, n1); C element
// (m, n) at C + m*rsc + n*csc (csc = 1 and rsc = ldc normally; swapped for the transposed product).
HCX_T512 void skinny_nt_avx512(int64_t M, int64_t n0, int64_t n1, int64_t K, const float* x, int64_t ldx,
                               const float* w, int64_t ldw, float* c, int64_t rsc, int64_t csc, float alpha,
                               float beta);
// W stored [K, N]: C[m, n0:n1] = alpha * X[m, :] W[:, n0:n1] + beta * C (row-major C, ldc).
HCX_T512 void skinny_nn_avx512(int64_t M, int64_t n0, int64_t n1, int64_t K, const float* x, int64_t ldx,
                               const float* w, int64_t ldw, float* c, int64_t ldc, float alpha, float beta);
}  // namespace hcx

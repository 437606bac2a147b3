// Reference blocked GEMM, correct for every shape (the packed SIMD kernels are the fast path).
#include "gemm.h"
#include "napi_util.h"
#include "threadpool.h"
#include <vector>

namespace hcx {

void sgemm(bool tA, bool tB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  parallel_for(M, 4, [&](int64_t m0, int64_t m1, int) {
    std::vector<float> acc(N);
    for (int64_t i = m0; i < m1; i++) {
      for (int64_t j = 0; j < N; j++) acc[j] = 0.f;
      for (int64_t k = 0; k < K; k++) {
        float a = tA ? A[k * lda + i] : A[i * lda + k];
        if (tB) for (int64_t j = 0; j < N; j++) acc[j] += a * B[j * ldb + k];
        else for (int64_t j = 0; j < N; j++) acc[j] += a * B[k * ldb + j];
      }
      float* c = C + i * ldc;
      for (int64_t j = 0; j < N; j++) c[j] = alpha * acc[j] + (beta == 0.f ? 0.f : beta * c[j]);
    }
  });
}

void sgemm_batched(bool tA, bool tB, int64_t batch, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                   int64_t lda, int64_t sA, const float* B, int64_t ldb, int64_t sB, float beta, float* C,
                   int64_t ldc, int64_t sC) {
  for (int64_t b = 0; b < batch; b++)
    sgemm(tA, tB, M, N, K, alpha, A + b * sA, lda, B + b * sB, ldb, beta, C + b * sC, ldc);
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

void register_gemm(napi_env env, napi_value exports) { define(env, exports, "sgemm", Sgemm); }

}  // namespace hcx

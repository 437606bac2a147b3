// Single-precision GEMM, row-major: C = alpha * op(A) * op(B) + beta * C.
// op(A) is M x K (A stored K x M when transA), op(B) is K x N (B stored N x K when transB).
// beta == 0 overwrites C without reading it. Uses the thread pool (sgemm_serial does not).
#pragma once
#include <cstdint>
namespace hcx {
void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
// The same over `batch` matrices at fixed strides (a stride of 0 broadcasts that operand).
void sgemm_batched(bool transA, bool transB, int64_t batch, int64_t M, int64_t N, int64_t K, float alpha,
                   const float* A, int64_t lda, int64_t strideA, const float* B, int64_t ldb,
                   int64_t strideB, float beta, float* C, int64_t ldc, int64_t strideC);
// Single-threaded sgemm: the one to call from inside a parallel_for / parallel_run body (the pool
// does not nest: calling sgemm there would re-enter it).
void sgemm_serial(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                  int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
// Measured peak GFLOPS of register-only FMA chains on `threads` threads for about `ms` ms each:
// dtype 0 = fp32 (vfmadd231ps), 1 = bf16 (vdpbf16ps; 0 when unavailable).
double peak_gflops(int dtype, int threads, double ms);

// Thread grid tm x tn over (row panels, column panels) for a packed GEMM: minimises the busiest
// thread's work plus the duplicated packing of A that splitting columns costs. Shared by the fp32
// and bf16 GEMMs.
inline void choose_thread_grid(int nt, int64_t mb, int64_t mr, int64_t np, int64_t nr, int& tm, int& tn) {
  tm = 1;
  tn = 1;
  if (nt <= 1) return;
  double best = 1e300;
  for (int a = 1; a <= nt; a++) {
    if (nt % a) continue;
    int b = nt / a;
    if (a > mb || b > np) continue;
    double rows = (double)((mb + a - 1) / a) * mr, cols = (double)((np + b - 1) / b) * nr;
    double work = rows * cols + rows * 16.0;
    if (work < best) { best = work; tm = a; tn = b; }
  }
}

}  // namespace hcx

// Fused inference ops for the serving step, where a batch of 32 tokens makes every elementwise pass
// small and each extra call and buffer shows: SwiGLU's silu(gate) * up in one pass, the residual add
// fused with the next RMSNorm, and greedy/log-prob statistics of all logit rows in one call.
// No autograd here: training keeps the separate differentiable ops.
#include <algorithm>
#include <cmath>
#include "napi_util.h"
#include "simd.h"
#include "threadpool.h"

namespace hcx {
namespace {

template <class V> HCX_INL void swiglu_k(const float* g, const float* u, float* y, int64_t b, int64_t e) {
  constexpr int W = VT<V>::W;
  int64_t i = b;
  for (; i + W <= e; i += W) {
    V x = vload<V>(g + i);
    vstore(y + i, x / (1.0f + vexp<V>(-x)) * vload<V>(u + i));
  }
  for (; i < e; i++) y[i] = g[i] / (1.f + std::exp(-g[i])) * u[i];
}

// x += alpha * y, then out = x / rms(x) * w, row by row (alpha: muP's residual multiplier; x + 1 * y is exact).
template <class V> HCX_INL void add_rmsnorm_k(float* x, const float* y, const float* w, float* out, int64_t r0, int64_t r1,
                                             int64_t D, float eps, float alpha) {
  constexpr int W = VT<V>::W;
  const V va = vset<V>(alpha);
  for (int64_t r = r0; r < r1; r++) {
    float* xr = x + r * D;
    const float* yr = y + r * D;
    float* o = out + r * D;
    V acc{};
    float s = 0.f;
    int64_t j = 0;
    for (; j + W <= D; j += W) {
      V v = vload<V>(xr + j) + vload<V>(yr + j) * va;
      vstore(xr + j, v);
      acc += v * v;
    }
    for (; j < D; j++) { xr[j] += alpha * yr[j]; s += xr[j] * xr[j]; }
    s += vsum<V>(acc);
    const float rs = 1.f / std::sqrt(s / (float)D + eps);
    j = 0;
    for (; j + W <= D; j += W) vstore(o + j, vload<V>(xr + j) * rs * vload<V>(w + j));
    for (; j < D; j++) o[j] = xr[j] * rs * w[j];
  }
}

// Per row: the first index of the maximum, and log(sum(exp(row))).
template <class V> HCX_INL void row_stats_k(const float* z, int64_t r0, int64_t r1, int64_t n, int32_t* best, float* lse) {
  constexpr int W = VT<V>::W;
  for (int64_t r = r0; r < r1; r++) {
    const float* x = z + r * n;
    float mx = -INFINITY;
    int64_t at = 0, j = 0;
    V vm = vset<V>(-INFINITY);
    for (; j + W <= n; j += W) vm = vmax(vm, vload<V>(x + j));
    float m = vmaxr<V>(vm);
    for (; j < n; j++) m = x[j] > m ? x[j] : m;
    for (j = 0; j < n; j++) if (x[j] == m) { at = j; break; }  // first maximum, as argmax does
    mx = m;
    V acc{};
    float s = 0.f;
    j = 0;
    for (; j + W <= n; j += W) acc += vexp<V>(vload<V>(x + j) - mx);
    for (; j < n; j++) s += std::exp(x[j] - mx);
    s += vsum<V>(acc);
    best[r] = (int32_t)at;
    lse[r] = mx + std::log(s);
  }
}

HCX_TARGET_512 void swiglu_512(const float* g, const float* u, float* y, int64_t b, int64_t e) { swiglu_k<v16f>(g, u, y, b, e); }
HCX_TARGET_256 void swiglu_256(const float* g, const float* u, float* y, int64_t b, int64_t e) { swiglu_k<v8f>(g, u, y, b, e); }
HCX_TARGET_512 void addn_512(float* x, const float* y, const float* w, float* o, int64_t r0, int64_t r1, int64_t D, float eps, float al) { add_rmsnorm_k<v16f>(x, y, w, o, r0, r1, D, eps, al); }
HCX_TARGET_256 void addn_256(float* x, const float* y, const float* w, float* o, int64_t r0, int64_t r1, int64_t D, float eps, float al) { add_rmsnorm_k<v8f>(x, y, w, o, r0, r1, D, eps, al); }
HCX_TARGET_512 void stats_512(const float* z, int64_t r0, int64_t r1, int64_t n, int32_t* b, float* l) { row_stats_k<v16f>(z, r0, r1, n, b, l); }
HCX_TARGET_256 void stats_256(const float* z, int64_t r0, int64_t r1, int64_t n, int32_t* b, float* l) { row_stats_k<v8f>(z, r0, r1, n, b, l); }

// swiglu(gate, up, out): out = silu(gate) * up, elementwise.
napi_value Swiglu(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t n = 0, nu = 0, no = 0;
  const float* g = a.arr<float>(0, &n);
  const float* u = a.arr<float>(1, &nu);
  float* y = a.arr<float>(2, &no);
  if (a.failed) return nullptr;
  if (nu != n || no < n) { a.fail("swiglu: gate, up and out must have the same length"); return nullptr; }
  const Isa is = isa();
  parallel_for((int64_t)n, 1 << 15, [&](int64_t b, int64_t e, int) {
    if (is == Isa::Avx512) swiglu_512(g, u, y, b, e);
    else if (is == Isa::Avx2) swiglu_256(g, u, y, b, e);
    else swiglu_k<v4f>(g, u, y, b, e);
  });
  return undef(env);
}

// addRmsnorm(x, y, w, out, rows, dim, eps[, alpha]): x += alpha * y in place (alpha default 1), out = rmsnorm(x) * w.
napi_value AddRmsnorm(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t nx = 0, ny = 0, nw = 0, no = 0;
  float* x = a.arr<float>(0, &nx);
  const float* y = a.arr<float>(1, &ny);
  const float* w = a.arr<float>(2, &nw);
  float* o = a.arr<float>(3, &no);
  const int64_t rows = a.i64(4), D = a.i64(5);
  const float eps = (float)a.num(6);
  const float alpha = a.argc > 7 ? (float)a.num(7) : 1.f;
  if (a.failed) return nullptr;
  if (rows < 0 || D <= 0 || nx < (size_t)(rows * D) || ny < nx || no < nx || nw < (size_t)D) {
    a.fail("addRmsnorm: buffer sizes do not match rows x dim");
    return nullptr;
  }
  const Isa is = isa();
  parallel_for(rows, std::max<int64_t>(1, 16384 / D), [&](int64_t r0, int64_t r1, int) {
    if (is == Isa::Avx512) addn_512(x, y, w, o, r0, r1, D, eps, alpha);
    else if (is == Isa::Avx2) addn_256(x, y, w, o, r0, r1, D, eps, alpha);
    else add_rmsnorm_k<v4f>(x, y, w, o, r0, r1, D, eps, alpha);
  });
  return undef(env);
}

// rowStats(logits, rows, n, argmax: Int32Array, lse: Float32Array)
napi_value RowStats(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t nz = 0, nb = 0, nl = 0;
  const float* z = a.arr<float>(0, &nz);
  const int64_t rows = a.i64(1), n = a.i64(2);
  int32_t* best = a.arr<int32_t>(3, &nb);
  float* lse = a.arr<float>(4, &nl);
  if (a.failed) return nullptr;
  if (rows < 0 || n <= 0 || nz < (size_t)(rows * n) || nb < (size_t)rows || nl < (size_t)rows) {
    a.fail("rowStats: buffer sizes do not match rows x n");
    return nullptr;
  }
  const Isa is = isa();
  parallel_for(rows, std::max<int64_t>(1, 65536 / n), [&](int64_t r0, int64_t r1, int) {
    if (is == Isa::Avx512) stats_512(z, r0, r1, n, best, lse);
    else if (is == Isa::Avx2) stats_256(z, r0, r1, n, best, lse);
    else row_stats_k<v4f>(z, r0, r1, n, best, lse);
  });
  return undef(env);
}

}  // namespace

void register_decode_ops(napi_env env, napi_value exports) {
  define(env, exports, "swiglu", Swiglu);
  define(env, exports, "addRmsnorm", AddRmsnorm);
  define(env, exports, "rowStats", RowStats);
}

}  // namespace hcx

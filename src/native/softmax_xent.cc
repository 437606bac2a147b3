// Row softmax / log-softmax and fused cross-entropy over the last dimension. Cross-entropy never
// materialises probabilities in the forward pass: it keeps log-sum-exp per row, and the backward
// pass writes (softmax - onehot) * coefficient straight into the logits' gradient.
#include <cmath>
#include "napi_util.h"
#include "simd.h"
#include "threadpool.h"

namespace hcx {

template <class V> HCX_INL float row_max(const float* x, int64_t n) {
  constexpr int W = VT<V>::W;
  V m = vset<V>(-INFINITY);
  int64_t j = 0;
  for (; j + W <= n; j += W) m = vmax(m, vload<V>(x + j));
  float r = vmaxr(m);
  for (; j < n; j++) r = x[j] > r ? x[j] : r;
  return r;
}
// Returns sum(exp(x - mx)); writes the exponentials to y when y is not null.
template <class V> HCX_INL float row_expsum(const float* x, float* y, int64_t n, float mx) {
  constexpr int W = VT<V>::W;
  V s = V{};
  int64_t j = 0;
  for (; j + W <= n; j += W) {
    V e = vexp<V>(vload<V>(x + j) - mx);
    if (y) vstore(y + j, e);
    s += e;
  }
  float r = vsum(s);
  for (; j < n; j++) {
    float e = std::exp(x[j] - mx);
    if (y) y[j] = e;
    r += e;
  }
  return r;
}
template <class V> HCX_INL float row_lse(const float* x, int64_t n) {
  float mx = row_max<V>(x, n);
  if (mx == -INFINITY) return -INFINITY;
  return mx + std::log(row_expsum<V>(x, nullptr, n, mx));
}

// mode 0: softmax, 1: log-softmax
template <class V> HCX_INL void softmax_rows(const float* x, float* y, int64_t r0, int64_t r1, int64_t n, int mode) {
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    float mx = row_max<V>(xr, n);
    if (mode == 0) {
      float s = row_expsum<V>(xr, yr, n, mx), inv = 1.f / s;
      for (int64_t j = 0; j < n; j++) yr[j] *= inv;
    } else {
      float l = mx + std::log(row_expsum<V>(xr, nullptr, n, mx));
      for (int64_t j = 0; j < n; j++) yr[j] = xr[j] - l;
    }
  }
}
HCX_TARGET_512 static void softmax_512(const float* x, float* y, int64_t a, int64_t b, int64_t n, int m) { softmax_rows<v16f>(x, y, a, b, n, m); }
HCX_TARGET_256 static void softmax_256(const float* x, float* y, int64_t a, int64_t b, int64_t n, int m) { softmax_rows<v8f>(x, y, a, b, n, m); }
static void softmax_any(const float* x, float* y, int64_t a, int64_t b, int64_t n, int m) {
  if (isa() == Isa::Avx512) softmax_512(x, y, a, b, n, m);
  else if (isa() == Isa::Avx2) softmax_256(x, y, a, b, n, m);
  else softmax_rows<v4f>(x, y, a, b, n, m);
}

// softmax(mode, x, y, rows, n)
static napi_value Softmax(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int mode = (int)a.i64(0);
  const float* x = a.arr<float>(1);
  float* y = a.arr<float>(2);
  int64_t rows = a.i64(3), n = a.i64(4);
  if (a.failed) return nullptr;
  parallel_for(rows, std::max<int64_t>(1, 8192 / n), [&](int64_t r0, int64_t r1, int) { softmax_any(x, y, r0, r1, n, mode); });
  return undef(env);
}

// softmaxBackward(mode, y, gy, gx, rows, n, accumulate)
//   softmax:     gx = y * (gy - sum(gy * y))
//   log-softmax: gx = gy - exp(y) * sum(gy)
static napi_value SoftmaxBwd(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int mode = (int)a.i64(0);
  const float* y = a.arr<float>(1);
  const float* gy = a.arr<float>(2);
  float* gx = a.arr<float>(3);
  int64_t rows = a.i64(4), n = a.i64(5);
  bool acc = a.num(6) != 0;
  if (a.failed) return nullptr;
  parallel_for(rows, std::max<int64_t>(1, 8192 / n), [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; r++) {
      const float* yr = y + r * n;
      const float* g = gy + r * n;
      float* o = gx + r * n;
      float s = 0;
      if (mode == 0) for (int64_t j = 0; j < n; j++) s += g[j] * yr[j];
      else for (int64_t j = 0; j < n; j++) s += g[j];
      for (int64_t j = 0; j < n; j++) {
        float v = mode == 0 ? yr[j] * (g[j] - s) : g[j] - std::exp(yr[j]) * s;
        o[j] = acc ? o[j] + v : v;
      }
    }
  });
  return undef(env);
}

template <class V> HCX_INL void lse_rows(const float* x, float* lse, int64_t r0, int64_t r1, int64_t n) {
  for (int64_t r = r0; r < r1; r++) lse[r] = row_lse<V>(x + r * n, n);
}
HCX_TARGET_512 static void lse_512(const float* x, float* l, int64_t a, int64_t b, int64_t n) { lse_rows<v16f>(x, l, a, b, n); }
HCX_TARGET_256 static void lse_256(const float* x, float* l, int64_t a, int64_t b, int64_t n) { lse_rows<v8f>(x, l, a, b, n); }

// crossEntropy(logits, targets: Int32Array, loss, lse, rows, vocab, ignoreIndex)
// loss[r] = lse[r] - logits[r, target[r]] (0 where the target is ignoreIndex).
static napi_value CrossEntropy(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const float* x = a.arr<float>(0);
  const int32_t* t = a.arr<int32_t>(1);
  float* loss = a.arr<float>(2);
  float* lse = a.arr<float>(3);
  int64_t rows = a.i64(4), V = a.i64(5), ignore = a.i64(6);
  if (a.failed) return nullptr;
  for (int64_t r = 0; r < rows; r++)
    if (t[r] != ignore && (t[r] < 0 || t[r] >= V)) { a.fail("cross-entropy: target id out of range"); return nullptr; }
  parallel_for(rows, 1, [&](int64_t r0, int64_t r1, int) {
    if (isa() == Isa::Avx512) lse_512(x, lse, r0, r1, V);
    else if (isa() == Isa::Avx2) lse_256(x, lse, r0, r1, V);
    else lse_rows<v4f>(x, lse, r0, r1, V);
    for (int64_t r = r0; r < r1; r++) loss[r] = t[r] == ignore ? 0.f : lse[r] - x[r * V + t[r]];
  });
  return undef(env);
}

template <class V> HCX_INL void xent_bwd_rows(const float* x, const int32_t* t, const float* lse, const float* coef, float* gx,
                                              int64_t r0, int64_t r1, int64_t n, int64_t ignore, bool acc) {
  constexpr int W = VT<V>::W;
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = x + r * n;
    float* o = gx + r * n;
    float c = t[r] == ignore ? 0.f : coef[r];
    if (c == 0.f) {
      if (!acc) for (int64_t j = 0; j < n; j++) o[j] = 0.f;
      continue;
    }
    float l = lse[r];
    int64_t j = 0;
    for (; j + W <= n; j += W) {
      V p = vexp<V>(vload<V>(xr + j) - l) * c;
      vstore(o + j, acc ? vload<V>(o + j) + p : p);
    }
    for (; j < n; j++) {
      float p = std::exp(xr[j] - l) * c;
      o[j] = acc ? o[j] + p : p;
    }
    o[t[r]] -= c;
  }
}
HCX_TARGET_512 static void xb_512(const float* x, const int32_t* t, const float* l, const float* c, float* g, int64_t a, int64_t b, int64_t n, int64_t ig, bool acc) { xent_bwd_rows<v16f>(x, t, l, c, g, a, b, n, ig, acc); }
HCX_TARGET_256 static void xb_256(const float* x, const int32_t* t, const float* l, const float* c, float* g, int64_t a, int64_t b, int64_t n, int64_t ig, bool acc) { xent_bwd_rows<v8f>(x, t, l, c, g, a, b, n, ig, acc); }

// crossEntropyBackward(logits, targets, lse, coef, gx, rows, vocab, ignoreIndex, accumulate)
// gx[r] = coef[r] * (softmax(logits[r]) - onehot(target[r]))
static napi_value CrossEntropyBwd(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const float* x = a.arr<float>(0);
  const int32_t* t = a.arr<int32_t>(1);
  const float* lse = a.arr<float>(2);
  const float* coef = a.arr<float>(3);
  float* gx = a.arr<float>(4);
  int64_t rows = a.i64(5), V = a.i64(6), ignore = a.i64(7);
  bool acc = a.num(8) != 0;
  if (a.failed) return nullptr;
  parallel_for(rows, 1, [&](int64_t r0, int64_t r1, int) {
    if (isa() == Isa::Avx512) xb_512(x, t, lse, coef, gx, r0, r1, V, ignore, acc);
    else if (isa() == Isa::Avx2) xb_256(x, t, lse, coef, gx, r0, r1, V, ignore, acc);
    else xent_bwd_rows<v4f>(x, t, lse, coef, gx, r0, r1, V, ignore, acc);
  });
  return undef(env);
}

void register_softmax_xent(napi_env env, napi_value exports) {
  define(env, exports, "softmax", Softmax);
  define(env, exports, "softmaxBackward", SoftmaxBwd);
  define(env, exports, "crossEntropy", CrossEntropy);
  define(env, exports, "crossEntropyBackward", CrossEntropyBwd);
}

}  // namespace hcx

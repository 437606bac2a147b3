// Reductions along one axis of a tensor viewed as [outer, n, inner], their backward passes, and the
// sum of squares used by gradient clipping.
#include <cmath>
#include <cfloat>
#include "napi_util.h"
#include "threadpool.h"

namespace hcx {

// reduceAxis(op, x, y, outer, n, inner, scale, argmax: Int32Array|null); op 0 = sum (times scale), 1 = max
static napi_value ReduceAxis(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int op = (int)a.i64(0);
  const float* x = a.arr<float>(1);
  float* y = a.arr<float>(2);
  int64_t outer = a.i64(3), n = a.i64(4), inner = a.i64(5);
  float scale = (float)a.num(6);
  int32_t* am = a.opt<int32_t>(7);
  if (a.failed) return nullptr;
  parallel_for(outer, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, n * inner)), [&](int64_t o0, int64_t o1, int) {
    for (int64_t o = o0; o < o1; o++) {
      const float* xo = x + o * n * inner;
      float* yo = y + o * inner;
      if (op == 0) {
        if (inner == 1) {
          double s = 0;
          for (int64_t j = 0; j < n; j++) s += xo[j];
          yo[0] = (float)s * scale;
        } else {
          for (int64_t i = 0; i < inner; i++) yo[i] = 0.f;
          for (int64_t j = 0; j < n; j++) for (int64_t i = 0; i < inner; i++) yo[i] += xo[j * inner + i];
          for (int64_t i = 0; i < inner; i++) yo[i] *= scale;
        }
      } else {
        for (int64_t i = 0; i < inner; i++) {
          float m = -INFINITY;
          int32_t best = 0;
          for (int64_t j = 0; j < n; j++) {
            float v = xo[j * inner + i];
            if (v > m || (j == 0)) { m = v; best = (int32_t)j; }
          }
          yo[i] = m;
          if (am) am[o * inner + i] = best;
        }
      }
    }
  });
  return undef(env);
}

// expandAxis(gy, gx, outer, n, inner, scale, accumulate): gx[o, j, i] (+)= scale * gy[o, i]
static napi_value ExpandAxis(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const float* gy = a.arr<float>(0);
  float* gx = a.arr<float>(1);
  int64_t outer = a.i64(2), n = a.i64(3), inner = a.i64(4);
  float scale = (float)a.num(5);
  bool acc = a.num(6) != 0;
  if (a.failed) return nullptr;
  parallel_for(outer, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, n * inner)), [&](int64_t o0, int64_t o1, int) {
    for (int64_t o = o0; o < o1; o++)
      for (int64_t j = 0; j < n; j++) {
        float* d = gx + (o * n + j) * inner;
        const float* s = gy + o * inner;
        if (acc) for (int64_t i = 0; i < inner; i++) d[i] += scale * s[i];
        else for (int64_t i = 0; i < inner; i++) d[i] = scale * s[i];
      }
  });
  return undef(env);
}

// scatterAxis(gy, idx, gx, outer, n, inner): gx[o, idx[o, i], i] += gy[o, i]  (gx pre-zeroed or accumulating)
static napi_value ScatterAxis(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const float* gy = a.arr<float>(0);
  const int32_t* idx = a.arr<int32_t>(1);
  float* gx = a.arr<float>(2);
  int64_t outer = a.i64(3), n = a.i64(4), inner = a.i64(5);
  if (a.failed) return nullptr;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      int64_t j = idx[o * inner + i];
      if (j >= 0 && j < n) gx[(o * n + j) * inner + i] += gy[o * inner + i];
    }
  return undef(env);
}

// gatherAxis(x, idx, y, outer, n, inner, m): y[o, j, i] = x[o, idx[o, j, i], i] for j < m
// and gatherAxisBackward(gy, idx, gx, outer, n, inner, m): gx[o, idx[o,j,i], i] += gy[o, j, i]
static bool gather_args(Args& a, int64_t& outer, int64_t& n, int64_t& inner, int64_t& m) {
  outer = a.i64(3); n = a.i64(4); inner = a.i64(5); m = a.i64(6);
  return !a.failed;
}
static napi_value GatherAxis(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const float* x = a.arr<float>(0);
  const int32_t* idx = a.arr<int32_t>(1);
  float* y = a.arr<float>(2);
  int64_t outer, n, inner, m;
  if (!gather_args(a, outer, n, inner, m)) return nullptr;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < m; j++)
      for (int64_t i = 0; i < inner; i++) {
        int64_t p = (o * m + j) * inner + i, k = idx[p];
        if (k < 0 || k >= n) { a.fail("gather index out of range"); return nullptr; }
        y[p] = x[(o * n + k) * inner + i];
      }
  return undef(env);
}
static napi_value GatherAxisBwd(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const float* gy = a.arr<float>(0);
  const int32_t* idx = a.arr<int32_t>(1);
  float* gx = a.arr<float>(2);
  int64_t outer, n, inner, m;
  if (!gather_args(a, outer, n, inner, m)) return nullptr;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < m; j++)
      for (int64_t i = 0; i < inner; i++) {
        int64_t p = (o * m + j) * inner + i;
        gx[(o * n + idx[p]) * inner + i] += gy[p];
      }
  return undef(env);
}

// sumSquares(x) -> double
static napi_value SumSquares(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t n;
  const float* x = a.arr<float>(0, &n);
  if (a.failed) return nullptr;
  double part[64] = {0};
  parallel_for((int64_t)n, 1 << 15, [&](int64_t b, int64_t e, int t) {
    double s = 0;
    for (int64_t i = b; i < e; i++) s += (double)x[i] * x[i];
    part[t] += s;
  });
  double s = 0;
  for (double p : part) s += p;
  return number(env, s);
}

void register_reduce(napi_env env, napi_value exports) {
  define(env, exports, "reduceAxis", ReduceAxis);
  define(env, exports, "expandAxis", ExpandAxis);
  define(env, exports, "scatterAxis", ScatterAxis);
  define(env, exports, "gatherAxis", GatherAxis);
  define(env, exports, "gatherAxisBackward", GatherAxisBwd);
  define(env, exports, "sumSquares", SumSquares);
}

}  // namespace hcx

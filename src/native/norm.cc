// Fused RMSNorm over the last dimension: y = x / sqrt(mean(x^2) + eps) * w.
// The forward saves 1/rms per row so the backward needs no second pass over statistics.
#include <cmath>
#include <vector>
#include "napi_util.h"
#include "threadpool.h"

namespace hcx {

// rmsnorm(x, w, y, rstd, rows, dim, eps)
static napi_value RmsNorm(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const float* x = a.arr<float>(0);
  const float* w = a.arr<float>(1);
  float* y = a.arr<float>(2);
  float* rstd = a.arr<float>(3);
  int64_t rows = a.i64(4), D = a.i64(5);
  float eps = (float)a.num(6);
  if (a.failed) return nullptr;
  parallel_for(rows, std::max<int64_t>(1, 16384 / D), [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; r++) {
      const float* xr = x + r * D;
      float* yr = y + r * D;
      float s = 0;
      for (int64_t j = 0; j < D; j++) s += xr[j] * xr[j];
      float rs = 1.f / std::sqrt(s / (float)D + eps);
      rstd[r] = rs;
      for (int64_t j = 0; j < D; j++) yr[j] = xr[j] * rs * w[j];
    }
  });
  return undef(env);
}

// rmsnormBackward(x, w, rstd, gy, gx, gw, rows, dim, accumulateGx); gw is always accumulated into.
static napi_value RmsNormBwd(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const float* x = a.arr<float>(0);
  const float* w = a.arr<float>(1);
  const float* rstd = a.arr<float>(2);
  const float* gy = a.arr<float>(3);
  float* gx = a.opt<float>(4);
  float* gw = a.opt<float>(5);
  int64_t rows = a.i64(6), D = a.i64(7);
  bool acc = a.num(8) != 0;
  if (a.failed) return nullptr;
  int nt = num_threads();
  std::vector<std::vector<float>> part(nt, std::vector<float>(gw ? D : 0, 0.f));
  parallel_for(rows, std::max<int64_t>(1, 16384 / D), [&](int64_t r0, int64_t r1, int t) {
    float* pw = gw ? part[t].data() : nullptr;
    for (int64_t r = r0; r < r1; r++) {
      const float* xr = x + r * D;
      const float* g = gy + r * D;
      float rs = rstd[r];
      if (pw) for (int64_t j = 0; j < D; j++) pw[j] += g[j] * xr[j] * rs;
      if (!gx) continue;
      float dot = 0;
      for (int64_t j = 0; j < D; j++) dot += g[j] * w[j] * xr[j];
      float c = dot * rs * rs / (float)D;
      float* o = gx + r * D;
      for (int64_t j = 0; j < D; j++) {
        float v = rs * (g[j] * w[j] - xr[j] * c);
        o[j] = acc ? o[j] + v : v;
      }
    }
  });
  if (gw) for (int t = 0; t < nt; t++) for (int64_t j = 0; j < D; j++) gw[j] += part[t][j];
  return undef(env);
}

void register_norm(napi_env env, napi_value exports) {
  define(env, exports, "rmsnorm", RmsNorm);
  define(env, exports, "rmsnormBackward", RmsNormBwd);
}

}  // namespace hcx

// Fused optimizer updates: one pass over parameter, gradient and state per tensor.
#include <cmath>
#include "napi_util.h"
#include "simd.h"
#include "threadpool.h"

namespace hcx {

// The AdamW update over [b, e); plain loops that GCC vectorises for whichever target it is compiled for.
static inline __attribute__((always_inline)) void adamw_loop(float* p, const float* g, float* m, float* v, int64_t b, int64_t e,
    float b1, float b2, float eps, float step_size, float rbc2, float decay) {
  for (int64_t i = b; i < e; i++) {
    float gi = g[i];
    float mi = b1 * m[i] + (1.f - b1) * gi;
    float vi = b2 * v[i] + (1.f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * decay - step_size * mi / (std::sqrt(vi) * rbc2 + eps);
  }
}
HCX_TARGET_512 static void adamw_512(float* p, const float* g, float* m, float* v, int64_t b, int64_t e, float b1, float b2, float eps, float ss, float r, float d) { adamw_loop(p, g, m, v, b, e, b1, b2, eps, ss, r, d); }
HCX_TARGET_256 static void adamw_256(float* p, const float* g, float* m, float* v, int64_t b, int64_t e, float b1, float b2, float eps, float ss, float r, float d) { adamw_loop(p, g, m, v, b, e, b1, b2, eps, ss, r, d); }

// adamw(p, g, m, v, lr, beta1, beta2, eps, weightDecay, step)  (decoupled weight decay, bias-corrected)
static napi_value AdamW(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t n;
  float* p = a.arr<float>(0, &n);
  const float* g = a.arr<float>(1);
  float* m = a.arr<float>(2);
  float* v = a.arr<float>(3);
  float lr = (float)a.num(4), b1 = (float)a.num(5), b2 = (float)a.num(6), eps = (float)a.num(7), wd = (float)a.num(8);
  double step = a.num(9);
  if (a.failed) return nullptr;
  float bc1 = (float)(1.0 - std::pow((double)b1, step)), bc2 = (float)(1.0 - std::pow((double)b2, step));
  float step_size = lr / bc1, rbc2 = 1.f / std::sqrt(bc2), decay = 1.f - lr * wd;
  Isa is = isa();
  parallel_for((int64_t)n, 1 << 14, [&](int64_t b, int64_t e, int) {
    if (is == Isa::Avx512) adamw_512(p, g, m, v, b, e, b1, b2, eps, step_size, rbc2, decay);
    else if (is == Isa::Avx2) adamw_256(p, g, m, v, b, e, b1, b2, eps, step_size, rbc2, decay);
    else adamw_loop(p, g, m, v, b, e, b1, b2, eps, step_size, rbc2, decay);
  });
  return undef(env);
}

// sgd(p, g, buf|null, lr, momentum, weightDecay, nesterov)
static napi_value Sgd(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t n;
  float* p = a.arr<float>(0, &n);
  const float* g = a.arr<float>(1);
  float* buf = a.opt<float>(2);
  float lr = (float)a.num(3), mom = (float)a.num(4), wd = (float)a.num(5);
  bool nesterov = a.num(6) != 0;
  if (a.failed) return nullptr;
  parallel_for((int64_t)n, 1 << 14, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; i++) {
      float d = g[i] + wd * p[i];
      if (buf) {
        buf[i] = mom * buf[i] + d;
        d = nesterov ? d + mom * buf[i] : buf[i];
      }
      p[i] -= lr * d;
    }
  });
  return undef(env);
}

void register_optim(napi_env env, napi_value exports) {
  define(env, exports, "adamw", AdamW);
  define(env, exports, "sgd", Sgd);
}

}  // namespace hcx

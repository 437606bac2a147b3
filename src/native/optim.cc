// Fused optimizer updates: one pass over parameter, gradient and state per tensor.
#include <cmath>
#include "napi_util.h"
#include "threadpool.h"

namespace hcx {

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
  parallel_for((int64_t)n, 1 << 14, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; i++) {
      float gi = g[i];
      float mi = b1 * m[i] + (1.f - b1) * gi;
      float vi = b2 * v[i] + (1.f - b2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = p[i] * decay - step_size * mi / (std::sqrt(vi) * rbc2 + eps);
    }
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

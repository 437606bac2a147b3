// Fused rotary position embedding on x laid out [tokens, heads, headDim], in the rotate-half
// convention of Hugging Face's Llama (dimension i pairs with i + headDim/2). The backward pass is
// the inverse rotation, so one kernel serves both with `direction` = +1 or -1.
#include <cmath>
#include <vector>
#include "napi_util.h"
#include "threadpool.h"

namespace hcx {

// rope(x, y, positions: Int32Array [tokens], tokens, heads, headDim, base, posScale, direction)
// y may alias x. Position p rotates pair i by angle (p * posScale) * base^(-2i/headDim).
static napi_value Rope(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const float* x = a.arr<float>(0);
  float* y = a.arr<float>(1);
  const int32_t* pos = a.arr<int32_t>(2);
  int64_t T = a.i64(3), H = a.i64(4), D = a.i64(5);
  double base = a.num(6), scale = a.num(7);
  float dir = (float)a.num(8);
  if (a.failed) return nullptr;
  if (D % 2) { a.fail("rope: head dimension must be even"); return nullptr; }
  int64_t half = D / 2;
  std::vector<double> invf(half);
  for (int64_t i = 0; i < half; i++) invf[i] = std::pow(base, -2.0 * (double)i / (double)D);
  parallel_for(T, 4, [&](int64_t t0, int64_t t1, int) {
    std::vector<float> c(half), s(half);
    for (int64_t t = t0; t < t1; t++) {
      double p = (double)pos[t] * scale;
      for (int64_t i = 0; i < half; i++) {
        double ang = p * invf[i];
        c[i] = (float)std::cos(ang);
        s[i] = dir * (float)std::sin(ang);
      }
      for (int64_t h = 0; h < H; h++) {
        const float* xr = x + (t * H + h) * D;
        float* yr = y + (t * H + h) * D;
        for (int64_t i = 0; i < half; i++) {
          float x1 = xr[i], x2 = xr[i + half];
          yr[i] = x1 * c[i] - x2 * s[i];
          yr[i + half] = x2 * c[i] + x1 * s[i];
        }
      }
    }
  });
  return undef(env);
}

void register_rope(napi_env env, napi_value exports) { define(env, exports, "rope", Rope); }

}  // namespace hcx

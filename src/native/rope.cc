// Fused rotary position embedding on x laid out [tokens, heads, headDim], in the rotate-half
// convention of Hugging Face's Llama (dimension i pairs with i + headDim/2). The backward pass is
// the inverse rotation, so one kernel serves both with `direction` = +1 or -1.
#include <cmath>
#include <vector>
#include <algorithm>
#include "napi_util.h"
#include "threadpool.h"

namespace hcx {

// cos/sin of every (position, pair) for one (base, scale, headDim, frequencies, factor), computed in double
// once and kept: training calls RoPE with the same positions in every layer and step. Only the JS thread
// calls it. Explicit inverse frequencies (RoPE scaling: Llama 3, YaRN) replace base^(-2i/headDim), and
// `factor` multiplies cos and sin (YaRN's attention factor).
struct Table { double base = 0, scale = 0, factor = 1; int64_t D = 0, npos = 0; std::vector<double> inv; std::vector<float> cos, sin; };

static const Table& table_for(double base, double scale, int64_t D, int64_t npos, const double* inv, double factor) {
  static Table t;
  int64_t half = D / 2;
  bool same = t.base == base && t.scale == scale && t.D == D && t.factor == factor && (int64_t)t.inv.size() == (inv ? half : 0) &&
              (!inv || std::equal(t.inv.begin(), t.inv.end(), inv));
  if (same && t.npos >= npos) return t;
  int64_t n = std::max<int64_t>(npos, same ? 2 * t.npos : npos);
  t = Table{base, scale, factor, D, n, inv ? std::vector<double>(inv, inv + half) : std::vector<double>(), std::vector<float>(n * half),
            std::vector<float>(n * half)};
  for (int64_t p = 0; p < n; p++)
    for (int64_t i = 0; i < half; i++) {
      double f = inv ? inv[i] : std::pow(base, -2.0 * (double)i / (double)D);
      double ang = (double)p * scale * f;
      t.cos[p * half + i] = (float)(std::cos(ang) * factor);
      t.sin[p * half + i] = (float)(std::sin(ang) * factor);
    }
  return t;
}

// rope(x, y, positions: Int32Array [tokens], tokens, heads, headDim, base, posScale, direction[, invFreq, factor])
// y may alias x. Position p rotates pair i by angle (p * posScale) * invFreq[i] (default base^(-2i/headDim))
// and scales it by factor (default 1); direction -1 is the transpose (the backward pass).
static napi_value Rope(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const float* x = a.arr<float>(0);
  float* y = a.arr<float>(1);
  const int32_t* pos = a.arr<int32_t>(2);
  int64_t T = a.i64(3), H = a.i64(4), D = a.i64(5);
  double base = a.num(6), scale = a.num(7);
  float dir = (float)a.num(8);
  const double* inv = a.opt<double>(9);
  double factor = a.argc > 10 ? a.num(10) : 1.0;
  if (a.failed) return nullptr;
  if (D % 2) { a.fail("rope: head dimension must be even"); return nullptr; }
  if (inv) {
    size_t n = 0;
    a.arr<double>(9, &n);
    if ((int64_t)n != D / 2) { a.fail("rope: invFreq must hold headDim / 2 frequencies"); return nullptr; }
  }
  int64_t half = D / 2;
  int32_t maxpos = 0;
  for (int64_t t = 0; t < T; t++) {
    if (pos[t] < 0) { a.fail("rope: negative position"); return nullptr; }
    maxpos = pos[t] > maxpos ? pos[t] : maxpos;
  }
  const Table& tab = table_for(base, scale, D, maxpos + 1, inv, factor);
  parallel_for(T, std::max<int64_t>(4, 16384 / std::max<int64_t>(1, H * D)), [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; t++) {
      const float* c = &tab.cos[(size_t)pos[t] * half];
      const float* s = &tab.sin[(size_t)pos[t] * half];
      for (int64_t h = 0; h < H; h++) {
        const float* xr = x + (t * H + h) * D;
        float* yr = y + (t * H + h) * D;
        for (int64_t i = 0; i < half; i++) {
          float x1 = xr[i], x2 = xr[i + half];
          yr[i] = x1 * c[i] - dir * x2 * s[i];
          yr[i + half] = x2 * c[i] + dir * x1 * s[i];
        }
      }
    }
  });
  return undef(env);
}

void register_rope(napi_env env, napi_value exports) { define(env, exports, "rope", Rope); }

}  // namespace hcx

// Embedding lookup (row gather) and its backward (scatter-add into the table's gradient).
#include "napi_util.h"
#include "threadpool.h"
#include <algorithm>
#include <cstring>

namespace hcx {

// embedding(table, ids: Int32Array, out, rows, dim)
static napi_value Embedding(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const float* W = a.arr<float>(0);
  size_t n;
  const int32_t* ids = a.arr<int32_t>(1, &n);
  float* out = a.arr<float>(2);
  int64_t V = a.i64(3), D = a.i64(4);
  if (a.failed) return nullptr;
  for (size_t i = 0; i < n; i++)
    if (ids[i] < 0 || ids[i] >= V) { a.fail("embedding: token id out of range"); return nullptr; }
  parallel_for((int64_t)n, std::max<int64_t>(16, 32768 / std::max<int64_t>(1, D)), [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; i++) std::memcpy(out + i * D, W + (int64_t)ids[i] * D, D * sizeof(float));
  });
  return undef(env);
}

// embeddingBackward(gout, ids, gtable, dim): gtable[ids[i]] += gout[i]. Threads split the columns,
// so repeated ids never race.
static napi_value EmbeddingBwd(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const float* g = a.arr<float>(0);
  size_t n;
  const int32_t* ids = a.arr<int32_t>(1, &n);
  float* G = a.arr<float>(2);
  int64_t D = a.i64(3);
  if (a.failed) return nullptr;
  parallel_for(D, 64, [&](int64_t c0, int64_t c1, int) {
    for (size_t i = 0; i < n; i++) {
      float* dst = G + (int64_t)ids[i] * D;
      const float* src = g + (int64_t)i * D;
      for (int64_t c = c0; c < c1; c++) dst[c] += src[c];
    }
  });
  return undef(env);
}

void register_embedding(napi_env env, napi_value exports) {
  define(env, exports, "embedding", Embedding);
  define(env, exports, "embeddingBackward", EmbeddingBwd);
}

}  // namespace hcx

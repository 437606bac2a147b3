// Entry point of the hcx kernel addon: registers every kernel file's functions on `exports`.
#include "napi_util.h"
#include "cpu.h"
#include "threadpool.h"

namespace hcx {

napi_value undef(napi_env env) { napi_value v; napi_get_undefined(env, &v); return v; }
napi_value number(napi_env env, double d) { napi_value v; napi_create_double(env, d, &v); return v; }

void define(napi_env env, napi_value exports, const char* name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &fn);
  napi_set_named_property(env, exports, name, fn);
}

void register_gemm(napi_env, napi_value);
void register_peak(napi_env, napi_value);
void register_bf16(napi_env, napi_value);
void register_elementwise(napi_env, napi_value);
void register_reduce(napi_env, napi_value);
void register_norm(napi_env, napi_value);
void register_rope(napi_env, napi_value);
void register_softmax_xent(napi_env, napi_value);
void register_attention(napi_env, napi_value);
void register_paged_attention(napi_env, napi_value);
void register_optim(napi_env, napi_value);
void register_embedding(napi_env, napi_value);
void register_bf16_prepacked(napi_env, napi_value);
void register_decode_ops(napi_env, napi_value);
void register_dequant(napi_env, napi_value);

static napi_value SetThreads(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int n = (int)a.i64(0);
  if (!a.failed) set_num_threads(n);
  return undef(env);
}
static napi_value WarmPool(napi_env env, napi_callback_info) {
  warm_pool();
  return undef(env);
}
static napi_value NumThreads(napi_env env, napi_callback_info) { return number(env, num_threads()); }
static napi_value SetIsa(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int n = (int)a.i64(0);
  if (!a.failed) set_isa(n);
  return undef(env);
}
static napi_value IsaName(napi_env env, napi_callback_info) {
  napi_value v;
  napi_create_string_utf8(env, isa_name(), NAPI_AUTO_LENGTH, &v);
  return v;
}
static napi_value HasBf16(napi_env env, napi_callback_info) {
  napi_value v;
  napi_get_boolean(env, cpu().avx512bf16, &v);
  return v;
}

static napi_value Init(napi_env env, napi_value exports) {
  define(env, exports, "setThreads", SetThreads);
  define(env, exports, "numThreads", NumThreads);
  define(env, exports, "warmPool", WarmPool);
  define(env, exports, "setIsa", SetIsa);
  define(env, exports, "isaName", IsaName);
  define(env, exports, "hasBf16Dot", HasBf16);
  register_gemm(env, exports);
  register_peak(env, exports);
  register_bf16(env, exports);
  register_bf16_prepacked(env, exports);
  register_decode_ops(env, exports);
  register_elementwise(env, exports);
  register_reduce(env, exports);
  register_norm(env, exports);
  register_rope(env, exports);
  register_softmax_xent(env, exports);
  register_attention(env, exports);
  register_paged_attention(env, exports);
  register_optim(env, exports);
  register_embedding(env, exports);
  register_dequant(env, exports);
  return exports;
}

}  // namespace hcx

NAPI_MODULE(NODE_GYP_MODULE_NAME, hcx::Init)

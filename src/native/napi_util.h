// Small helpers over the C Node-API: read numbers and typed-array pointers from call arguments.
// Kernels never allocate JS memory: every output buffer is allocated in JS and passed in.
#pragma once
#include <node_api.h>
#include <cstdint>
#include <cstddef>

namespace hcx {

struct Args {
  napi_env env;
  size_t argc = 24;
  napi_value argv[24];
  bool failed = false;
  Args(napi_env e, napi_callback_info info) : env(e) {
    napi_get_cb_info(e, info, &argc, argv, nullptr, nullptr);
  }
  void fail(const char* msg) {
    if (!failed) napi_throw_error(env, "HCX_NATIVE", msg);
    failed = true;
  }
  double num(size_t i) {
    double v = 0;
    if (i >= argc || napi_get_value_double(env, argv[i], &v) != napi_ok) fail("expected a number argument");
    return v;
  }
  int64_t i64(size_t i) { return (int64_t)num(i); }
  // Returns the data pointer of a typed array argument (byte offset applied) and its element count.
  template <typename T>
  T* arr(size_t i, size_t* len = nullptr) {
    if (len) *len = 0;
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    napi_value ab;
    size_t off = 0;
    if (i >= argc || napi_get_typedarray_info(env, argv[i], &type, &length, &data, &ab, &off) != napi_ok) {
      fail("expected a typed array argument");
      return nullptr;
    }
    if (len) *len = length;
    return static_cast<T*>(data);
  }
  // Optional typed array: null/undefined gives nullptr.
  template <typename T>
  T* opt(size_t i) {
    if (i >= argc) return nullptr;
    napi_valuetype t;
    napi_typeof(env, argv[i], &t);
    if (t == napi_null || t == napi_undefined) return nullptr;
    return arr<T>(i);
  }
};

napi_value undef(napi_env env);
napi_value number(napi_env env, double v);

// Each kernel file registers its functions through this.
void define(napi_env env, napi_value exports, const char* name, napi_callback cb);

}  // namespace hcx

// Elementwise kernels: unary math with its derivative, broadcast binary arithmetic, the reduction
// that undoes a broadcast (for gradients), permutation copies, clamp, masking and axpy.
#include <cmath>
#include <vector>
#include "napi_util.h"
#include "simd.h"
#include "threadpool.h"

namespace hcx {

enum Unary { EXP = 0, LOG, SQRT, TANH, SIGMOID, LOGSIGMOID, SILU, NEG, RELU, SQUARE, ABS, RSQRT, GELU };

static inline float sigm(float x) { return 1.f / (1.f + std::exp(-x)); }
static inline float unary_f(int op, float x) {
  switch (op) {
    case EXP: return std::exp(x);
    case LOG: return std::log(x);
    case SQRT: return std::sqrt(x);
    case TANH: return std::tanh(x);
    case SIGMOID: return sigm(x);
    case LOGSIGMOID: return x < 0 ? x - std::log1p(std::exp(x)) : -std::log1p(std::exp(-x));
    case SILU: return x * sigm(x);
    case NEG: return -x;
    case RELU: return x > 0 ? x : 0.f;
    case SQUARE: return x * x;
    case ABS: return std::fabs(x);
    case RSQRT: return 1.f / std::sqrt(x);
    case GELU: return 0.5f * x * (1.f + std::tanh(0.7978845608f * (x + 0.044715f * x * x * x)));
  }
  return NAN;
}
// d f / d x, given the input x and the output y.
static inline float unary_df(int op, float x, float y) {
  switch (op) {
    case EXP: return y;
    case LOG: return 1.f / x;
    case SQRT: return 0.5f / y;
    case TANH: return 1.f - y * y;
    case SIGMOID: return y * (1.f - y);
    case LOGSIGMOID: return 1.f - sigm(x);
    case SILU: { float s = sigm(x); return s * (1.f + x * (1.f - s)); }
    case NEG: return -1.f;
    case RELU: return x > 0 ? 1.f : 0.f;
    case SQUARE: return 2.f * x;
    case ABS: return x > 0 ? 1.f : x < 0 ? -1.f : 0.f;
    case RSQRT: return -0.5f * y * y * y;
    case GELU: {
      float u = 0.7978845608f * (x + 0.044715f * x * x * x), t = std::tanh(u);
      return 0.5f * (1.f + t) + 0.5f * x * (1.f - t * t) * 0.7978845608f * (1.f + 3.f * 0.044715f * x * x);
    }
  }
  return NAN;
}

// Vectorised forms of the ops that dominate a transformer step (SwiGLU's silu, sigmoid, exp).
// Returns false when op has no fast path.
template <class V> HCX_INL bool unary_fast(int op, const float* x, float* y, int64_t b, int64_t e) {
  constexpr int W = VT<V>::W;
  if (op != EXP && op != SIGMOID && op != SILU) return false;
  int64_t i = b;
  for (; i + W <= e; i += W) {
    V v = vload<V>(x + i);
    V r;
    if (op == EXP) r = vexp<V>(v);
    else {
      V s = 1.0f / (1.0f + vexp<V>(-v));
      r = op == SIGMOID ? s : v * s;
    }
    vstore(y + i, r);
  }
  for (; i < e; i++) y[i] = unary_f(op, x[i]);
  return true;
}
template <class V> HCX_INL bool unary_bwd_fast(int op, const float* x, const float* gy, float* gx, int64_t b, int64_t e, bool acc) {
  constexpr int W = VT<V>::W;
  if (op != SILU && op != SIGMOID) return false;
  int64_t i = b;
  for (; i + W <= e; i += W) {
    V v = vload<V>(x + i);
    V s = 1.0f / (1.0f + vexp<V>(-v));
    V d = op == SILU ? s * (1.0f + v * (1.0f - s)) : s * (1.0f - s);
    V g = vload<V>(gy + i) * d;
    vstore(gx + i, acc ? vload<V>(gx + i) + g : g);
  }
  for (; i < e; i++) {
    float g = gy[i] * unary_df(op, x[i], unary_f(op, x[i]));
    gx[i] = acc ? gx[i] + g : g;
  }
  return true;
}
HCX_TARGET_512 static bool uf_512(int op, const float* x, float* y, int64_t b, int64_t e) { return unary_fast<v16f>(op, x, y, b, e); }
HCX_TARGET_256 static bool uf_256(int op, const float* x, float* y, int64_t b, int64_t e) { return unary_fast<v8f>(op, x, y, b, e); }
HCX_TARGET_512 static bool ub_512(int op, const float* x, const float* gy, float* gx, int64_t b, int64_t e, bool acc) { return unary_bwd_fast<v16f>(op, x, gy, gx, b, e, acc); }
HCX_TARGET_256 static bool ub_256(int op, const float* x, const float* gy, float* gx, int64_t b, int64_t e, bool acc) { return unary_bwd_fast<v8f>(op, x, gy, gx, b, e, acc); }
static bool unary_dispatch(int op, const float* x, float* y, int64_t b, int64_t e) {
  Isa is = isa();
  return is == Isa::Avx512 ? uf_512(op, x, y, b, e) : is == Isa::Avx2 ? uf_256(op, x, y, b, e) : unary_fast<v4f>(op, x, y, b, e);
}
static bool unary_bwd_dispatch(int op, const float* x, const float* gy, float* gx, int64_t b, int64_t e, bool acc) {
  Isa is = isa();
  return is == Isa::Avx512 ? ub_512(op, x, gy, gx, b, e, acc) : is == Isa::Avx2 ? ub_256(op, x, gy, gx, b, e, acc) : unary_bwd_fast<v4f>(op, x, gy, gx, b, e, acc);
}

// unary(op, x, y)
static napi_value UnaryFwd(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int op = (int)a.i64(0);
  size_t n;
  const float* x = a.arr<float>(1, &n);
  float* y = a.arr<float>(2);
  if (a.failed) return nullptr;
  parallel_for((int64_t)n, 1 << 15, [&](int64_t b, int64_t e, int) {
    if (unary_dispatch(op, x, y, b, e)) return;
    for (int64_t i = b; i < e; i++) y[i] = unary_f(op, x[i]);
  });
  return undef(env);
}

// unaryBackward(op, x, y, gy, gx, accumulate): gx (+)= gy * f'(x)
static napi_value UnaryBwd(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int op = (int)a.i64(0);
  size_t n;
  const float* x = a.arr<float>(1, &n);
  const float* y = a.arr<float>(2);
  const float* gy = a.arr<float>(3);
  float* gx = a.arr<float>(4);
  bool acc = a.num(5) != 0;
  if (a.failed) return nullptr;
  parallel_for((int64_t)n, 1 << 15, [&](int64_t b, int64_t e, int) {
    if (unary_bwd_dispatch(op, x, gy, gx, b, e, acc)) return;
    for (int64_t i = b; i < e; i++) {
      float g = gy[i] * unary_df(op, x[i], y[i]);
      gx[i] = acc ? gx[i] + g : g;
    }
  });
  return undef(env);
}

enum Binary { ADD = 0, SUB, MUL, DIV, MAXIMUM, MINIMUM };
template <int OP> static inline float bin(float a, float b) {
  if (OP == ADD) return a + b;
  if (OP == SUB) return a - b;
  if (OP == MUL) return a * b;
  if (OP == DIV) return a / b;
  if (OP == MAXIMUM) return a > b ? a : b;
  return a < b ? a : b;
}

// Visits every row (all dims but the last) of an N-d iteration space with strided offsets.
struct RowIter {
  std::vector<int64_t> shape, sa, sb;
  int64_t rows = 1, inner = 1;
  void offsets(int64_t row, int64_t& oa, int64_t& ob) const {
    oa = ob = 0;
    for (int d = (int)shape.size() - 2; d >= 0; d--) {
      int64_t i = row % shape[d];
      row /= shape[d];
      oa += i * sa[d];
      ob += i * sb[d];
    }
  }
};

template <int OP>
static void binary_rows(const RowIter& it, const float* A, const float* B, float* O) {
  int64_t n = it.inner, ia = it.sa.back(), ib = it.sb.back();
  parallel_for(it.rows, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, n)), [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; r++) {
      int64_t oa, ob;
      it.offsets(r, oa, ob);
      const float* a = A + oa;
      const float* b = B + ob;
      float* o = O + r * n;
      if (ia == 1 && ib == 1) for (int64_t j = 0; j < n; j++) o[j] = bin<OP>(a[j], b[j]);
      else if (ia == 1 && ib == 0) { float bv = b[0]; for (int64_t j = 0; j < n; j++) o[j] = bin<OP>(a[j], bv); }
      else if (ia == 0 && ib == 1) { float av = a[0]; for (int64_t j = 0; j < n; j++) o[j] = bin<OP>(av, b[j]); }
      else for (int64_t j = 0; j < n; j++) o[j] = bin<OP>(a[j * ia], b[j * ib]);
    }
  });
}

// binary(op, a, b, out, shape: Int32Array, stridesA: Int32Array, stridesB: Int32Array)
// out is contiguous with `shape`; a stride of 0 broadcasts that operand along the dimension.
static napi_value BinaryFwd(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int op = (int)a.i64(0);
  const float* A = a.arr<float>(1);
  const float* B = a.arr<float>(2);
  float* O = a.arr<float>(3);
  size_t nd;
  const int32_t* shape = a.arr<int32_t>(4, &nd);
  const int32_t* sa = a.arr<int32_t>(5);
  const int32_t* sb = a.arr<int32_t>(6);
  if (a.failed) return nullptr;
  RowIter it;
  for (size_t d = 0; d < nd; d++) { it.shape.push_back(shape[d]); it.sa.push_back(sa[d]); it.sb.push_back(sb[d]); }
  if (nd == 0) { it.shape.push_back(1); it.sa.push_back(0); it.sb.push_back(0); }
  it.inner = it.shape.back();
  for (size_t d = 0; d + 1 < it.shape.size(); d++) it.rows *= it.shape[d];
  switch (op) {
    case ADD: binary_rows<ADD>(it, A, B, O); break;
    case SUB: binary_rows<SUB>(it, A, B, O); break;
    case MUL: binary_rows<MUL>(it, A, B, O); break;
    case DIV: binary_rows<DIV>(it, A, B, O); break;
    case MAXIMUM: binary_rows<MAXIMUM>(it, A, B, O); break;
    case MINIMUM: binary_rows<MINIMUM>(it, A, B, O); break;
    default: a.fail("unknown binary op");
  }
  return undef(env);
}

// sumToStrides(src, dst, shape: Int32Array, dstStrides: Int32Array, accumulate)
// dst[sum_d i_d * dstStrides[d]] += src[i] over the contiguous `shape`: undoes a broadcast.
static napi_value SumToStrides(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const float* S = a.arr<float>(0);
  size_t dn;
  float* D = a.arr<float>(1, &dn);
  size_t nd;
  const int32_t* shape = a.arr<int32_t>(2, &nd);
  const int32_t* ds = a.arr<int32_t>(3);
  bool acc = a.num(4) != 0;
  if (a.failed) return nullptr;
  if (!acc) std::fill(D, D + dn, 0.f);
  RowIter it;
  for (size_t d = 0; d < nd; d++) { it.shape.push_back(shape[d]); it.sa.push_back(ds[d]); it.sb.push_back(0); }
  if (nd == 0) { it.shape.push_back(1); it.sa.push_back(0); it.sb.push_back(0); }
  it.inner = it.shape.back();
  for (size_t d = 0; d + 1 < it.shape.size(); d++) it.rows *= it.shape[d];
  int64_t n = it.inner, id = it.sa.back();
  // Rows may map onto the same destination, so this runs on one thread.
  for (int64_t r = 0; r < it.rows; r++) {
    int64_t od, unused;
    it.offsets(r, od, unused);
    const float* s = S + r * n;
    float* d = D + od;
    if (id == 1) for (int64_t j = 0; j < n; j++) d[j] += s[j];
    else if (id == 0) { float t = 0; for (int64_t j = 0; j < n; j++) t += s[j]; d[0] += t; }
    else for (int64_t j = 0; j < n; j++) d[j * id] += s[j];
  }
  return undef(env);
}

// permute(src, dst, shape: Int32Array (of src), perm: Int32Array): dst = src.permute(perm), contiguous.
static napi_value Permute(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const float* S = a.arr<float>(0);
  float* D = a.arr<float>(1);
  size_t nd;
  const int32_t* shape = a.arr<int32_t>(2, &nd);
  const int32_t* perm = a.arr<int32_t>(3);
  if (a.failed) return nullptr;
  std::vector<int64_t> sstride(nd), oshape(nd), ostr(nd);
  int64_t s = 1;
  for (int d = (int)nd - 1; d >= 0; d--) { sstride[d] = s; s *= shape[d]; }
  for (size_t d = 0; d < nd; d++) { oshape[d] = shape[perm[d]]; ostr[d] = sstride[perm[d]]; }
  RowIter it;
  it.shape = oshape;
  it.sa = ostr;
  it.sb = std::vector<int64_t>(nd, 0);
  if (nd == 0) { it.shape = {1}; it.sa = {0}; it.sb = {0}; }
  it.inner = it.shape.back();
  for (size_t d = 0; d + 1 < it.shape.size(); d++) it.rows *= it.shape[d];
  int64_t n = it.inner, is = it.sa.back();
  parallel_for(it.rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, n)), [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; r++) {
      int64_t os, unused;
      it.offsets(r, os, unused);
      const float* src = S + os;
      float* dst = D + r * n;
      for (int64_t j = 0; j < n; j++) dst[j] = src[j * is];
    }
  });
  return undef(env);
}

// clamp(x, y, lo, hi) and clampBackward(x, gy, gx, lo, hi, accumulate)
static napi_value Clamp(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t n;
  const float* x = a.arr<float>(0, &n);
  float* y = a.arr<float>(1);
  float lo = (float)a.num(2), hi = (float)a.num(3);
  if (a.failed) return nullptr;
  for (size_t i = 0; i < n; i++) y[i] = x[i] < lo ? lo : x[i] > hi ? hi : x[i];
  return undef(env);
}
static napi_value ClampBwd(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t n;
  const float* x = a.arr<float>(0, &n);
  const float* gy = a.arr<float>(1);
  float* gx = a.arr<float>(2);
  float lo = (float)a.num(3), hi = (float)a.num(4);
  bool acc = a.num(5) != 0;
  if (a.failed) return nullptr;
  for (size_t i = 0; i < n; i++) {
    float g = (x[i] >= lo && x[i] <= hi) ? gy[i] : 0.f;
    gx[i] = acc ? gx[i] + g : g;
  }
  return undef(env);
}

// affine(x, y, scale, shift): y = scale * x + shift (y may alias x)
static napi_value Affine(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t n;
  const float* x = a.arr<float>(0, &n);
  float* y = a.arr<float>(1);
  float s = (float)a.num(2), t = (float)a.num(3);
  if (a.failed) return nullptr;
  parallel_for((int64_t)n, 1 << 15, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; i++) y[i] = s * x[i] + t;
  });
  return undef(env);
}

// axpy(y, x, alpha): y += alpha * x
static napi_value Axpy(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t n;
  float* y = a.arr<float>(0, &n);
  const float* x = a.arr<float>(1);
  float al = (float)a.num(2);
  if (a.failed) return nullptr;
  parallel_for((int64_t)n, 1 << 15, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; i++) y[i] += al * x[i];
  });
  return undef(env);
}

// maskedFill(x, mask: Uint8Array, y, value): y = mask ? value : x
static napi_value MaskedFill(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t n;
  const float* x = a.arr<float>(0, &n);
  const uint8_t* m = a.arr<uint8_t>(1);
  float* y = a.arr<float>(2);
  float v = (float)a.num(3);
  if (a.failed) return nullptr;
  for (size_t i = 0; i < n; i++) y[i] = m[i] ? v : x[i];
  return undef(env);
}

void register_elementwise(napi_env env, napi_value exports) {
  define(env, exports, "unary", UnaryFwd);
  define(env, exports, "unaryBackward", UnaryBwd);
  define(env, exports, "binary", BinaryFwd);
  define(env, exports, "sumToStrides", SumToStrides);
  define(env, exports, "permute", Permute);
  define(env, exports, "clamp", Clamp);
  define(env, exports, "clampBackward", ClampBwd);
  define(env, exports, "affine", Affine);
  define(env, exports, "axpy", Axpy);
  define(env, exports, "maskedFill", MaskedFill);
}

}  // namespace hcx

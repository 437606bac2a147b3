// Width-generic SIMD helpers on GCC vector extensions. A kernel is written once as a template over
// the vector type V and instantiated inside functions compiled for AVX-512, AVX2 or the baseline
// (see HCX_DISPATCH); GCC inlines the template into each target and emits that ISA's instructions.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include "cpu.h"

namespace hcx {

typedef float v16f __attribute__((vector_size(64)));
typedef float v8f __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v16i __attribute__((vector_size(64)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef int32_t v4i __attribute__((vector_size(16)));

template <class V> struct VT;
template <> struct VT<v16f> { static constexpr int W = 16; typedef v16i I; };
template <> struct VT<v8f> { static constexpr int W = 8; typedef v8i I; };
template <> struct VT<v4f> { static constexpr int W = 4; typedef v4i I; };

#define HCX_INL inline __attribute__((always_inline))

template <class V> HCX_INL V vload(const float* p) { V v; std::memcpy(&v, p, sizeof(V)); return v; }
template <class V> HCX_INL void vstore(float* p, V v) { std::memcpy(p, &v, sizeof(V)); }
template <class V> HCX_INL V vset(float x) { return V{} + x; }
template <class V> HCX_INL float vsum(V v) {
  float s = 0; for (int i = 0; i < VT<V>::W; i++) s += v[i]; return s;
}
template <class V> HCX_INL float vmaxr(V v) {
  float s = v[0]; for (int i = 1; i < VT<V>::W; i++) s = v[i] > s ? v[i] : s; return s;
}
template <class V> HCX_INL V vmax(V a, V b) { return a > b ? a : b; }
template <class V> HCX_INL V vmin(V a, V b) { return a < b ? a : b; }

// exp(x) with a degree-6 polynomial on [-ln2/2, ln2/2] and 2^n built in the exponent bits:
// max relative error about 2e-7 over the float range; inputs below -87 give 0.
template <class V> HCX_INL V vexp(V x) {
  typedef typename VT<V>::I I;
  x = vmin(x, vset<V>(88.3762626647949f));
  V lo = vset<V>(-87.0f);
  auto under = x < lo;
  x = vmax(x, lo);
  // Round x*log2(e) to the nearest integer with the 1.5*2^23 trick (exact for |t| < 2^22).
  V n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  V r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  V p = vset<V>(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  I e = (__builtin_convertvector(n, I) + 127) << 23;
  V scale; std::memcpy(&scale, &e, sizeof(V));
  V y = p * scale;
  return under ? V{} : y;
}

inline float sexp(float x) { return std::exp(x); }

// Runs body<V>(args...) with the widest vector type the selected ISA allows.
#define HCX_TARGET_512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,avx2")))
#define HCX_TARGET_256 __attribute__((target("avx2,fma")))

}  // namespace hcx

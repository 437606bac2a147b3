// ggml tensor data (GGUF) to float32 or bfloat16: the plain types F32, F16, BF16 and the block-quantised
// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K.
//
// Each block holds f16 scale(s) and packed integers; a value is scale * q (- min). The arithmetic is done in
// float32 in exactly the order of the reference dequantisation (gguf-py's quants.py, which matches ggml's
// dequantize_row_*): e.g. Q4_K is (d * sc) * q - (dmin * m), each product and difference rounded to float32.
// So results are bit-identical to the reference as long as no multiply-add is fused: this file is compiled
// without FMA (the only wide path, F16 -> F32, is a pure conversion), so the compiler cannot contract them.
// bf16 output rounds each float32 to nearest even (as f32_to_bf16 does everywhere).
#include "bf16.h"
#include "cpu.h"
#include "napi_util.h"
#include "threadpool.h"
#include <immintrin.h>
#include <sys/mman.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

namespace hcx {
namespace {

// ggml type ids (ggml.h) and their (values per block, bytes per block).
enum GgmlType { F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q2_K = 10, Q3_K = 11,
                Q4_K = 12, Q5_K = 13, Q6_K = 14, BF16 = 30 };
struct Layout { int64_t block, bytes; };
bool layout(int type, Layout* l) {
  switch (type) {
    case F32: *l = {1, 4}; return true;
    case F16: *l = {1, 2}; return true;
    case BF16: *l = {1, 2}; return true;
    case Q4_0: *l = {32, 18}; return true;
    case Q4_1: *l = {32, 20}; return true;
    case Q5_0: *l = {32, 22}; return true;
    case Q5_1: *l = {32, 24}; return true;
    case Q8_0: *l = {32, 34}; return true;
    case Q2_K: *l = {256, 84}; return true;
    case Q3_K: *l = {256, 110}; return true;
    case Q4_K: *l = {256, 144}; return true;
    case Q5_K: *l = {256, 176}; return true;
    case Q6_K: *l = {256, 210}; return true;
    default: return false;
  }
}

// IEEE half bits -> float, exact (subnormals normalised, inf/NaN kept).
inline float h2f(uint16_t h) {
  uint32_t s = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ffu, u;
  if (e == 0) {
    if (m == 0) u = s;
    else {
      int sh = __builtin_clz(m) - 21;  // moves the leading 1 to bit 10
      u = s | ((uint32_t)(113 - sh) << 23) | (((m << sh) & 0x3ffu) << 13);
    }
  } else if (e == 31) u = s | 0x7f800000u | (m << 13);
  else u = s | ((e + 112) << 23) | (m << 13);
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline float rd_h(const uint8_t* p) { uint16_t h; std::memcpy(&h, p, 2); return h2f(h); }

// Output sinks: float32 or bf16 (rounded to nearest even).
struct OutF32 { float* p; void put(int64_t i, float v) const { p[i] = v; } };
struct OutBf16 { uint16_t* p; void put(int64_t i, float v) const { p[i] = f32_to_bf16(v); } };

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block's 12 packed bytes.
inline void scale_min_k4(const uint8_t* s, int j, uint8_t* sc, uint8_t* mn) {
  if (j < 4) { *sc = s[j] & 63; *mn = s[j + 4] & 63; }
  else {
    *sc = (s[j + 4] & 0x0f) | ((s[j - 4] >> 2) & 0x30);
    *mn = (s[j + 4] >> 4) | ((s[j] >> 2) & 0x30);
  }
}

// Dequantises block b (of type t) into out[base .. base + block).
template <class Out>
inline void block(int t, const uint8_t* x, int64_t base, const Out& o) {
  switch (t) {
    case Q4_0: {
      float d = rd_h(x);
      const uint8_t* q = x + 2;
      for (int j = 0; j < 16; j++) {
        o.put(base + j, d * (float)((int)(q[j] & 0x0f) - 8));
        o.put(base + j + 16, d * (float)((int)(q[j] >> 4) - 8));
      }
      break;
    }
    case Q4_1: {
      float d = rd_h(x), m = rd_h(x + 2);
      const uint8_t* q = x + 4;
      for (int j = 0; j < 16; j++) {
        float lo = d * (float)(q[j] & 0x0f), hi = d * (float)(q[j] >> 4);
        o.put(base + j, lo + m);
        o.put(base + j + 16, hi + m);
      }
      break;
    }
    case Q5_0: case Q5_1: {
      bool one = t == Q5_1;
      float d = rd_h(x), m = one ? rd_h(x + 2) : 0.0f;
      const uint8_t* p = x + (one ? 4 : 2);
      uint32_t qh;
      std::memcpy(&qh, p, 4);
      const uint8_t* q = p + 4;
      for (int j = 0; j < 32; j++) {
        int v = ((q[j & 15] >> (j < 16 ? 0 : 4)) & 0x0f) | (int)(((qh >> j) & 1u) << 4);
        if (one) { float dq = d * (float)v; o.put(base + j, dq + m); }
        else o.put(base + j, d * (float)(v - 16));
      }
      break;
    }
    case Q8_0: {
      float d = rd_h(x);
      const int8_t* q = (const int8_t*)(x + 2);
      for (int j = 0; j < 32; j++) o.put(base + j, (float)q[j] * d);
      break;
    }
    case Q2_K: {
      const uint8_t* sc = x;            // 16 bytes: low nibble scale, high nibble min, per 16 values
      const uint8_t* q = x + 16;        // 64 bytes, 2-bit values
      float d = rd_h(x + 80), dmin = rd_h(x + 82);
      for (int c = 0; c < 2; c++) for (int s = 0; s < 4; s++) for (int l = 0; l < 32; l++) {
        int i = c * 128 + s * 32 + l;
        float dl = d * (float)(sc[i / 16] & 0x0f), ml = dmin * (float)(sc[i / 16] >> 4);
        float v = dl * (float)((q[c * 32 + l] >> (2 * s)) & 3);
        o.put(base + i, v - ml);
      }
      break;
    }
    case Q3_K: {
      const uint8_t* hm = x;            // 32 bytes: high bit of each value (set = no offset)
      const uint8_t* q = x + 32;        // 64 bytes, low 2 bits
      const uint8_t* s = x + 96;        // 12 bytes: 16 6-bit scales
      float d = rd_h(x + 108);
      float dl[16];
      for (int k = 0; k < 16; k++) {
        int lo = (s[k & 7] >> (4 * (k >> 3))) & 0x0f, hi = (s[8 + (k & 3)] >> (2 * (k >> 2))) & 3;
        dl[k] = d * (float)((lo | (hi << 4)) - 32);
      }
      for (int c = 0; c < 2; c++) for (int sh = 0; sh < 4; sh++) for (int l = 0; l < 32; l++) {
        int i = c * 128 + sh * 32 + l;
        int low = (q[c * 32 + l] >> (2 * sh)) & 3, high = (hm[l] >> (i / 32)) & 1;
        o.put(base + i, dl[i / 16] * (float)(low - ((high ^ 1) << 2)));
      }
      break;
    }
    case Q4_K: case Q5_K: {
      bool five = t == Q5_K;
      float d = rd_h(x), dmin = rd_h(x + 2);
      const uint8_t* s = x + 4;
      const uint8_t* qh = x + 16;
      const uint8_t* q = x + (five ? 48 : 16);
      for (int j = 0; j < 8; j++) {
        uint8_t sc, mn;
        scale_min_k4(s, j, &sc, &mn);
        float dj = d * (float)sc, mj = dmin * (float)mn;
        for (int l = 0; l < 32; l++) {
          int v = (q[(j >> 1) * 32 + l] >> (4 * (j & 1))) & 0x0f;
          if (five) v |= ((qh[l] >> j) & 1) << 4;
          float dq = dj * (float)v;
          o.put(base + j * 32 + l, dq - mj);
        }
      }
      break;
    }
    case Q6_K: {
      const uint8_t* ql = x;            // 128 bytes, low 4 bits
      const uint8_t* qh = x + 128;      // 64 bytes, high 2 bits
      const int8_t* sc = (const int8_t*)(x + 192);  // 16 int8 scales, one per 16 values
      float d = rd_h(x + 208);
      for (int c = 0; c < 2; c++) for (int k = 0; k < 4; k++) for (int l = 0; l < 32; l++) {
        int i = c * 128 + k * 32 + l;
        int lo = (ql[c * 64 + (k & 1) * 32 + l] >> (4 * (k >> 1))) & 0x0f;
        int hi = (qh[c * 32 + l] >> (2 * k)) & 3;
        float ds = d * (float)sc[i / 16];
        o.put(base + i, ds * (float)((lo | (hi << 4)) - 32));
      }
      break;
    }
  }
}

__attribute__((target("avx2,f16c"))) void f16_to_f32_f16c(const uint16_t* s, float* d, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(d + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(s + i))));
  for (; i < n; i++) d[i] = h2f(s[i]);
}
// F16C where the CPU has it and HCX_ISA / setIsa has not lowered the ISA to portable.
bool has_f16c() {
  static bool v = [] { __builtin_cpu_init(); return __builtin_cpu_supports("f16c") != 0; }();
  return v && isa() != Isa::Portable;
}

// n values of a plain (F32 / F16 / BF16) tensor from src into f32 or b16 (pointers already at the first value).
void plain(int t, const uint8_t* src, float* f32, uint16_t* b16, int64_t n) {
  if (t == F32) {
    const float* s = (const float*)src;  // 4-byte aligned: checked by the callers
    if (f32) std::memcpy(f32, s, n * 4); else f32_to_bf16_n(s, b16, n);
  } else if (t == BF16) {
    const uint16_t* s = (const uint16_t*)src;
    if (f32) bf16_to_f32_n(s, f32, n); else std::memcpy(b16, s, n * 2);
  } else {  // F16
    const uint16_t* s = (const uint16_t*)src;
    if (f32) {
      if (has_f16c()) f16_to_f32_f16c(s, f32, n);
      else for (int64_t i = 0; i < n; i++) f32[i] = h2f(s[i]);
    } else {
      float tmp[512];
      for (int64_t i = 0; i < n; i += 512) {
        int64_t m = std::min<int64_t>(512, n - i);
        if (has_f16c()) f16_to_f32_f16c(s + i, tmp, m); else for (int64_t k = 0; k < m; k++) tmp[k] = h2f(s[i + k]);
        f32_to_bf16_n(tmp, b16 + i, m);
      }
    }
  }
}

// Blocks [b0, b1) of src (a whole tensor's data) into the output, single-threaded.
void convert(int type, const Layout& L, const uint8_t* src, float* f32, uint16_t* b16, int64_t b0, int64_t b1) {
  if (L.block == 1) {
    plain(type, src + b0 * L.bytes, f32 ? f32 + b0 : nullptr, b16 ? b16 + b0 : nullptr, b1 - b0);
    return;
  }
  for (int64_t b = b0; b < b1; b++) {
    if (f32) block(type, src + b * L.bytes, b * L.block, OutF32{f32});
    else block(type, src + b * L.bytes, b * L.block, OutBf16{b16});
  }
}

// The output array of argument i: a Float32Array (float32) or a Uint16Array (bf16); false with an error otherwise.
bool out_array(Args& a, size_t i, float** f32, uint16_t** b16, size_t* len, bool allowBytes, uint8_t** bytes) {
  napi_typedarray_type dt;
  void* p = nullptr;
  napi_value ab;
  size_t off = 0;
  *f32 = nullptr; *b16 = nullptr;
  if (i >= a.argc || napi_get_typedarray_info(a.env, a.argv[i], &dt, len, &p, &ab, &off) != napi_ok) return false;
  if (bytes) *bytes = (uint8_t*)p;
  if (dt == napi_float32_array) *f32 = (float*)p;
  else if (dt == napi_uint16_array) *b16 = (uint16_t*)p;
  else if (!allowBytes) return false;
  return true;
}

// dequantize(type, src: Uint8Array, dst: Float32Array | Uint16Array (bf16), n): the first n values of src's
// ggml data into dst (n a multiple of the type's block size; src at least n / block * bytes long).
napi_value Dequantize(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int type = (int)a.i64(0);
  size_t srcLen = 0, dstLen = 0;
  const uint8_t* src = a.arr<uint8_t>(1, &srcLen);
  float* f32;
  uint16_t* b16;
  if (!out_array(a, 2, &f32, &b16, &dstLen, false, nullptr)) { a.fail("dequantize: dst must be a Float32Array or a Uint16Array (bf16)"); return nullptr; }
  int64_t n = a.i64(3);
  if (a.failed) return nullptr;
  Layout L;
  if (!layout(type, &L)) { a.fail("dequantize: unsupported ggml type"); return nullptr; }
  if (n < 0 || n % L.block) { a.fail("dequantize: n is not a multiple of the block size"); return nullptr; }
  int64_t blocks = n / L.block;
  if ((int64_t)srcLen < blocks * L.bytes) { a.fail("dequantize: src is shorter than n values need"); return nullptr; }
  if ((int64_t)dstLen < n) { a.fail("dequantize: dst is shorter than n"); return nullptr; }
  if (L.block == 1 && ((uintptr_t)src % L.bytes)) { a.fail("dequantize: src is not aligned to its element size"); return nullptr; }
  parallel_for(blocks, L.block == 1 ? 1 << 16 : 2048 / L.block + 16, [&](int64_t b0, int64_t b1, int) { convert(type, L, src, f32, b16, b0, b1); });
  return undef(env);
}

// pread until len bytes are read. Returns 0; or 1 + the offset (from pos) where the file ended; or -1 - errno.
int64_t pread_full(int fd, uint8_t* dst, int64_t len, int64_t pos) {
  for (int64_t got = 0; got < len;) {
    ssize_t r = pread(fd, dst + got, (size_t)std::min<int64_t>(len - got, 1 << 30), (off_t)(pos + got));
    if (r < 0) { if (errno == EINTR) continue; return -1 - (int64_t)errno; }
    if (r == 0) return 1 + got;
    got += r;
  }
  return 0;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older kernels answer EINVAL, which is ignored
#endif
// Fault in the whole pages of [p, p + n) for writing in one call: a fresh array's pages otherwise fault one by
// one inside pread or the conversion, which costs more than the copy (measured about 1.6x on this VM).
void populate(void* p, int64_t n) {
  uintptr_t b = ((uintptr_t)p + 4095) & ~(uintptr_t)4095, e = ((uintptr_t)p + n) & ~(uintptr_t)4095;
  if (e > b) madvise((void*)b, e - b, MADV_POPULATE_WRITE);
}

size_t element_bytes(napi_typedarray_type t) {
  switch (t) {
    case napi_float32_array: case napi_int32_array: case napi_uint32_array: return 4;
    case napi_uint16_array: case napi_int16_array: return 2;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: return 8;
    default: return 1;
  }
}

// readTensor(fd, position, type, n, dst, raw): n values of ggml `type` stored at `position` in the open file fd,
// read with positioned reads on the thread pool (each thread a contiguous range, so the kernel's page faults on
// a fresh dst are taken in parallel) and, unless raw, converted to float32 (Float32Array dst) or bf16 (Uint16Array).
// raw copies the bytes as stored (dst any typed array of the right byte size). Returns -1 when all was read,
// else the file offset where the file ended; a read error throws.
napi_value ReadTensor(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int fd = (int)a.i64(0);
  int64_t pos = a.i64(1);
  int type = (int)a.i64(2);
  int64_t n = a.i64(3);
  float* f32;
  uint16_t* b16;
  uint8_t* bytes = nullptr;
  size_t dstLen = 0;
  bool raw = a.num(5) != 0;
  if (a.failed) return nullptr;
  if (!out_array(a, 4, &f32, &b16, &dstLen, raw, &bytes)) { a.fail("readTensor: dst must be a Float32Array or a Uint16Array (bf16)"); return nullptr; }
  Layout L;
  if (!layout(type, &L)) { a.fail("readTensor: unsupported ggml type"); return nullptr; }
  if (n < 0 || n % L.block || pos < 0) { a.fail("readTensor: n is not a multiple of the block size"); return nullptr; }
  int64_t blocks = n / L.block, total = blocks * L.bytes;
  napi_typedarray_type dt;
  napi_get_typedarray_info(env, a.argv[4], &dt, &dstLen, nullptr, nullptr, nullptr);
  if (raw ? (int64_t)(dstLen * element_bytes(dt)) != total : (int64_t)dstLen != n) { a.fail("readTensor: dst does not have the tensor's size"); return nullptr; }
  // Chunks of whole blocks, about 4 MiB: contiguous ranges of them per thread.
  const int64_t per = std::max<int64_t>(1, (4 << 20) / L.bytes), chunks = (blocks + per - 1) / per;
  std::atomic<int64_t> eof(-1);
  std::atomic<int> err(0);
  parallel_for(chunks, 1, [&](int64_t c0, int64_t c1, int) {
    thread_local std::vector<uint8_t> scratch;
    for (int64_t c = c0; c < c1 && eof.load() < 0 && err.load() == 0; c++) {
      int64_t b0 = c * per, b1 = std::min(blocks, b0 + per), off = b0 * L.bytes, len = (b1 - b0) * L.bytes;
      uint8_t* into = bytes + off;
      if (raw) populate(into, len);
      else {
        if ((int64_t)scratch.size() < len) scratch.resize(len);
        into = scratch.data();
        int64_t esz = f32 ? 4 : 2;
        populate(bytes + b0 * L.block * esz, (b1 - b0) * L.block * esz);
      }
      int64_t r = pread_full(fd, into, len, pos + off);
      if (r < 0) { err.store((int)(-1 - r)); break; }
      if (r > 0) {  // the file ended: keep the earliest such offset
        int64_t at = pos + off + r - 1, cur = eof.load();
        while ((cur < 0 || at < cur) && !eof.compare_exchange_weak(cur, at)) {}
        break;
      }
      if (!raw) convert(type, L, into - b0 * L.bytes, f32, b16, b0, b1);
    }
  });
  if (err.load()) { a.fail(std::strerror(err.load())); return nullptr; }
  return number(env, (double)eof.load());
}

}  // namespace

void register_dequant(napi_env env, napi_value exports) {
  define(env, exports, "dequantize", Dequantize);
  define(env, exports, "readTensor", ReadTensor);
}

}  // namespace hcx

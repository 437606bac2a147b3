// AVX-512 paged attention over chunks of 16 keys (see paged_attention_512.h).
#include "paged_attention_512.h"
#include <immintrin.h>
#include <algorithm>
#include <cmath>
#include <cstring>
#include "simd.h"

namespace hcx {
namespace {

#define HCX_PA512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))

constexpr int CH = 16;        // keys per chunk: one score per lane
constexpr int MAXDV = 8;      // head dim up to 128 = 8 vectors
constexpr int MAXG = 64;      // query heads per KV head

HCX_PA512 inline __m512 load_kv(const float* p) { return _mm512_loadu_ps(p); }
HCX_PA512 inline __m512 load_kv(const uint16_t* p) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))), 16));
}

// Lane j of the result = the sum of the 16 lanes of a[j] (a transpose folded into the additions).
HCX_PA512 inline __m512 sum16(__m512 a[16]) {
  __m512 b[8], c[4];
  for (int i = 0; i < 8; i++)
    b[i] = _mm512_add_ps(_mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]), _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]));
  // b[i], each 128-bit lane: [a2i(0+2), a2i+1(0+2), a2i(1+3), a2i+1(1+3)]
  for (int i = 0; i < 4; i++)
    c[i] = _mm512_add_ps(_mm512_shuffle_ps(b[2 * i], b[2 * i + 1], 0x44), _mm512_shuffle_ps(b[2 * i], b[2 * i + 1], 0xEE));
  // c[i], 128-bit lane L: the lane-L partial sums of a[4i..4i+3]; now add the four 128-bit lanes.
  __m512 e0 = _mm512_add_ps(_mm512_shuffle_f32x4(c[0], c[1], 0x88), _mm512_shuffle_f32x4(c[0], c[1], 0xDD));
  __m512 e1 = _mm512_add_ps(_mm512_shuffle_f32x4(c[2], c[3], 0x88), _mm512_shuffle_f32x4(c[2], c[3], 0xDD));
  return _mm512_add_ps(_mm512_shuffle_f32x4(e0, e1, 0x88), _mm512_shuffle_f32x4(e0, e1, 0xDD));
}

// Where the chunk of keys starting at position p0 lives, and how many keys it holds (chunks never cross a block).
struct Chunk {
  int64_t at;  // element offset of its first key (head kh) in the pools
  int n;
};
inline Chunk chunk_at(const PagedDims& d, const int32_t* table, int64_t L, int64_t p0, int64_t kh, int64_t D) {
  const int64_t blk = table[p0 / d.bs], off = p0 % d.bs;
  return {((blk * d.Hkv + kh) * d.bs + off) * D, (int)std::min<int64_t>(std::min<int64_t>(CH, d.bs - off), L - p0)};
}

// Keys and values of a chunk are scattered over the pool (and evicted by the step's weights): asking for
// the next chunk's lines while this one computes keeps several misses in flight instead of one at a time.
template <class T>
HCX_PA512 inline void prefetch_chunk(const T* kp, const T* vp, const Chunk& c, int64_t row, int64_t D) {
  const int64_t bytes = D * (int64_t)sizeof(T);
  for (int j = 0; j < c.n; j++)
    for (int64_t b = 0; b < bytes; b += 64) {
      _mm_prefetch(reinterpret_cast<const char*>(kp + c.at + j * row) + b, _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(vp + c.at + j * row) + b, _MM_HINT_T0);
    }
}

template <class T, int DV>
HCX_PA512 void task(const PagedDims& d, const float* q, const T* kp, const T* vp, float* out, const int32_t* tables,
                    const int32_t* start, const int32_t* ctx, int64_t task) {
  const int64_t G = d.Hq / d.Hkv, t = task / d.Hkv, kh = task % d.Hkv, D = DV * 16;
  const int64_t row = D;  // keys of one (block, head) are contiguous
  alignas(64) float kf[CH * DV * 16], vf[CH * DV * 16], acc[MAXG * DV * 16], pj[CH];
  float m[MAXG], l[MAXG];
  for (int64_t g = 0; g < G; g++) {
    m[g] = -INFINITY;
    l[g] = 0.f;
    for (int v = 0; v < DV; v++) _mm512_store_ps(acc + (g * DV + v) * 16, _mm512_setzero_ps());
  }
  const int64_t L = ctx[t];
  const int32_t* table = tables + start[t];
  const float* qt = q + (t * d.Hq + kh * G) * D;
  const __m512 scale = _mm512_set1_ps(d.scale);
  const int64_t lo = paged_first(d, L);
  Chunk cur = chunk_at(d, table, L, lo, kh, D);
  prefetch_chunk(kp, vp, cur, row, D);
  for (int64_t p0 = lo; p0 < L;) {
    const int n = cur.n;
    const T* kb = kp + cur.at;
    const T* vb = vp + cur.at;
    if (p0 + n < L) {
      cur = chunk_at(d, table, L, p0 + n, kh, D);
      prefetch_chunk(kp, vp, cur, row, D);
    }
    for (int j = 0; j < n; j++)
      for (int v = 0; v < DV; v++) {
        _mm512_store_ps(kf + (j * DV + v) * 16, load_kv(kb + j * row + v * 16));
        _mm512_store_ps(vf + (j * DV + v) * 16, load_kv(vb + j * row + v * 16));
      }
    const __mmask16 live = (__mmask16)((1u << n) - 1);
    for (int64_t g = 0; g < G; g++) {
      __m512 qv[DV];
      for (int v = 0; v < DV; v++) qv[v] = _mm512_mul_ps(_mm512_loadu_ps(qt + g * D + v * 16), scale);
      __m512 dots[CH];
      for (int j = 0; j < CH; j++) {
        __m512 s = _mm512_setzero_ps();
        if (j < n)
          for (int v = 0; v < DV; v++) s = _mm512_fmadd_ps(qv[v], _mm512_load_ps(kf + (j * DV + v) * 16), s);
        dots[j] = s;
      }
      __m512 s = _mm512_mask_blend_ps(live, _mm512_set1_ps(-INFINITY), sum16(dots));
      const float mx = std::max(m[g], _mm512_reduce_max_ps(s));
      const __m512 p = vexp<v16f>((v16f)_mm512_sub_ps(s, _mm512_set1_ps(mx)));
      const float alpha = std::exp(m[g] - mx);
      l[g] = l[g] * alpha + _mm512_reduce_add_ps(p);
      m[g] = mx;
      _mm512_store_ps(pj, p);
      __m512 o[DV];
      const __m512 av = _mm512_set1_ps(alpha);
      for (int v = 0; v < DV; v++) o[v] = _mm512_mul_ps(_mm512_load_ps(acc + (g * DV + v) * 16), av);
      for (int j = 0; j < n; j++) {
        const __m512 pb = _mm512_set1_ps(pj[j]);
        for (int v = 0; v < DV; v++) o[v] = _mm512_fmadd_ps(pb, _mm512_load_ps(vf + (j * DV + v) * 16), o[v]);
      }
      for (int v = 0; v < DV; v++) _mm512_store_ps(acc + (g * DV + v) * 16, o[v]);
    }
    p0 += n;
  }
  for (int64_t g = 0; g < G; g++) {
    const __m512 inv = _mm512_set1_ps(l[g] > 0.f ? 1.f / l[g] : 0.f);
    float* o = out + (t * d.Hq + kh * G + g) * D;
    for (int v = 0; v < DV; v++) _mm512_storeu_ps(o + v * 16, _mm512_mul_ps(_mm512_load_ps(acc + (g * DV + v) * 16), inv));
  }
}

template <class T>
void dispatch(const PagedDims& d, const float* q, const T* kp, const T* vp, float* out, const int32_t* tables,
              const int32_t* start, const int32_t* ctx, int64_t t) {
  switch (d.D / 16) {
    case 1: task<T, 1>(d, q, kp, vp, out, tables, start, ctx, t); break;
    case 2: task<T, 2>(d, q, kp, vp, out, tables, start, ctx, t); break;
    case 3: task<T, 3>(d, q, kp, vp, out, tables, start, ctx, t); break;
    case 4: task<T, 4>(d, q, kp, vp, out, tables, start, ctx, t); break;
    case 5: task<T, 5>(d, q, kp, vp, out, tables, start, ctx, t); break;
    case 6: task<T, 6>(d, q, kp, vp, out, tables, start, ctx, t); break;
    case 7: task<T, 7>(d, q, kp, vp, out, tables, start, ctx, t); break;
    default: task<T, 8>(d, q, kp, vp, out, tables, start, ctx, t); break;
  }
}

}  // namespace

void paged_prefetch_task(const PagedDims& d, const void* kp, const void* vp, int elem, const int32_t* tables,
                         const int32_t* start, const int32_t* ctx, int64_t task) {
  const int64_t t = task / d.Hkv, kh = task % d.Hkv, L = ctx[t];
  const int32_t* table = tables + start[t];
  for (int64_t p0 = paged_first(d, L); p0 < L; p0 += d.bs - p0 % d.bs) {
    const int64_t at = ((table[p0 / d.bs] * d.Hkv + kh) * d.bs + p0 % d.bs) * d.D * elem;
    const int64_t bytes = std::min<int64_t>(d.bs - p0 % d.bs, L - p0) * d.D * elem;
    for (int64_t b = 0; b < bytes; b += 64) {
      _mm_prefetch(static_cast<const char*>(kp) + at + b, _MM_HINT_T0);
      _mm_prefetch(static_cast<const char*>(vp) + at + b, _MM_HINT_T0);
    }
  }
}

void paged_task_avx512_f32(const PagedDims& d, const float* q, const float* kp, const float* vp, float* out,
                           const int32_t* tables, const int32_t* start, const int32_t* ctx, int64_t task) {
  dispatch(d, q, kp, vp, out, tables, start, ctx, task);
}
void paged_task_avx512_bf16(const PagedDims& d, const float* q, const uint16_t* kp, const uint16_t* vp, float* out,
                            const int32_t* tables, const int32_t* start, const int32_t* ctx, int64_t task) {
  dispatch(d, q, kp, vp, out, tables, start, ctx, task);
}

}  // namespace hcx

// The AVX-512 paged-attention task (paged_attention_512.cc), for head dims that are a multiple of 16 up
// to 128. The generic task (paged_attention.cc) scores one key at a time and ends every dot product in a
// horizontal sum; this one takes 16 keys at once: their keys and values converted to float32 once into
// L1 scratch and shared by the query heads of the group, 16 dot products reduced together into one
// vector of scores, the online softmax on that vector, then p V as broadcast FMAs.
#pragma once
#include <cstdint>

namespace hcx {

struct PagedDims {
  int64_t N, Hq, Hkv, D, bs;
  float scale;
  int64_t window = 0;  // sliding window: a token sees only the last `window` positions (0: all)
};

// First position a token with context length L sees.
inline int64_t paged_first(const PagedDims& d, int64_t L) { return d.window > 0 && L > d.window ? L - d.window : 0; }

// Task = one (token, KV head). kp/vp: float or uint16_t (bf16) pools.
void paged_task_avx512_f32(const PagedDims& d, const float* q, const float* kp, const float* vp, float* out,
                           const int32_t* tables, const int32_t* start, const int32_t* ctx, int64_t task);
void paged_task_avx512_bf16(const PagedDims& d, const float* q, const uint16_t* kp, const uint16_t* vp, float* out,
                            const int32_t* tables, const int32_t* start, const int32_t* ctx, int64_t task);

// Prefetches every key and value line a task will read (elem: 2 or 4 bytes); run() calls it one task ahead.
void paged_prefetch_task(const PagedDims& d, const void* kp, const void* vp, int elem, const int32_t* tables,
                         const int32_t* start, const int32_t* ctx, int64_t task);

inline bool paged_avx512_fits(int64_t D) { return D % 16 == 0 && D >= 16 && D <= 128; }

}  // namespace hcx

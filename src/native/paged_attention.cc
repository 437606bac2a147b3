// Paged attention for a serving step: a batch of query tokens, each belonging to a sequence with its own
// block table, reads keys and values from a shared block pool instead of a contiguous cache (vLLM's
// PagedAttention). One task handles one (token, KV head) pair: the group of query heads sharing that
// KV head is scored against each key once, with an online softmax over the sequence's blocks.
// Layout: q, out [N, Hq, D]; kPool, vPool [numBlocks, Hkv, blockSize, D] in float32 or bf16 (a Uint16Array:
// half the bytes every step reads, converted to float32 in registers). Head-major blocks keep the keys a
// task reads (one KV head of one block) contiguous, which the hardware prefetcher follows; blockTables holds every
// sequence's block ids back to back and token t's table starts at tableStart[t]; token t sees the
// first ctxLen[t] positions of its sequence (causal: its own position + 1), or with a sliding window W only the
// last W of them.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>
#include "napi_util.h"
#include "paged_attention_512.h"
#include "simd.h"
#include "threadpool.h"

namespace hcx {
namespace {

template <class V> struct Half;
template <> struct Half<v16f> { typedef v8f T; };
template <> struct Half<v8f> { typedef v4f T; };

// Horizontal sum by halving (log2 W vector adds instead of W scalar ones).
template <class V> HCX_INL float hsum(V v) {
  if constexpr (VT<V>::W == 4) {
    return (v[0] + v[2]) + (v[1] + v[3]);
  } else {
    typedef typename Half<V>::T H;
    H a, b;
    std::memcpy(&a, &v, sizeof(H));
    std::memcpy(&b, reinterpret_cast<const char*>(&v) + sizeof(H), sizeof(H));
    return hsum<H>(a + b);
  }
}

// Cache elements as float32: bf16 is the high half of a float32.
HCX_INL float kv_at(const float* p, int64_t i) { return p[i]; }
HCX_INL float kv_at(const uint16_t* p, int64_t i) {
  uint32_t b = (uint32_t)p[i] << 16;
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
template <class V> HCX_INL V kv_load(const float* p) { return vload<V>(p); }
template <class V> HCX_INL V kv_load(const uint16_t* p) {
  typedef uint16_t H __attribute__((vector_size(VT<V>::W * 2)));
  typedef typename VT<V>::I I;
  H h;
  std::memcpy(&h, p, sizeof(H));
  I w = __builtin_convertvector(h, I) << 16;
  V v;
  std::memcpy(&v, &w, sizeof(V));
  return v;
}

// dot(a, b) over D, W lanes at a time (two accumulators) with a scalar tail.
template <class V, class T> HCX_INL float pa_dot(const float* a, const T* b, int D) {
  constexpr int W = VT<V>::W;
  V acc0{}, acc1{};
  int d = 0;
  for (; d + 2 * W <= D; d += 2 * W) {
    acc0 += vload<V>(a + d) * kv_load<V>(b + d);
    acc1 += vload<V>(a + d + W) * kv_load<V>(b + d + W);
  }
  for (; d + W <= D; d += W) acc0 += vload<V>(a + d) * kv_load<V>(b + d);
  float s = hsum<V>(acc0 + acc1);
  for (; d < D; d++) s += a[d] * kv_at(b, d);
  return s;
}

// o[0..D) = o * alpha + sum_j p[j] * X[j * ldx + 0..D)
template <class V, class T> HCX_INL void pa_acc(float* o, float alpha, const float* p, int n, const T* X, int64_t ldx, int D) {
  constexpr int W = VT<V>::W;
  int d = 0;
  for (; d + W <= D; d += W) {
    V c = vload<V>(o + d) * alpha;
    for (int j = 0; j < n; j++) c += p[j] * kv_load<V>(X + j * ldx + d);
    vstore(o + d, c);
  }
  for (; d < D; d++) {
    float c = o[d] * alpha;
    for (int j = 0; j < n; j++) c += p[j] * kv_at(X, j * ldx + d);
    o[d] = c;
  }
}

typedef PagedDims PDims;

// Scratch per thread: scaled queries [G, D], accumulators [G, D], scores [G, bs], running max and sum [G].
struct Scratch {
  std::vector<float> qs, acc, s, m, l;
  void size(int64_t G, int64_t D, int64_t bs) {
    qs.resize(G * D); acc.resize(G * D); s.resize(G * bs); m.resize(G); l.resize(G);
  }
};

template <class V, class T>
HCX_INL void pa_task(const PDims& d, const float* q, const T* kp, const T* vp, float* out, const int32_t* tables,
                     const int32_t* start, const int32_t* ctx, int64_t task, Scratch& sc) {
  const int D = (int)d.D;
  const int64_t G = d.Hq / d.Hkv, t = task / d.Hkv, kh = task % d.Hkv, bs = d.bs;
  const int64_t row = d.D;  // elements between consecutive keys of one (block, head)
  for (int64_t g = 0; g < G; g++) {
    const float* qr = q + (t * d.Hq + kh * G + g) * d.D;
    for (int x = 0; x < D; x++) sc.qs[g * D + x] = qr[x] * d.scale;
    std::fill(&sc.acc[g * D], &sc.acc[g * D] + D, 0.f);
    sc.m[g] = -INFINITY;
    sc.l[g] = 0.f;
  }
  const int64_t L = ctx[t];
  const int32_t* table = tables + start[t];
  // Runs of keys within one block: whole blocks, except a first partial one under a sliding window.
  for (int64_t p0 = paged_first(d, L); p0 < L;) {
    const int64_t off = p0 % bs;
    const int n = (int)std::min<int64_t>(bs - off, L - p0);
    const int64_t blk = table[p0 / bs];
    const T* kb = kp + ((blk * d.Hkv + kh) * bs + off) * d.D;
    const T* vb = vp + ((blk * d.Hkv + kh) * bs + off) * d.D;
    for (int64_t g = 0; g < G; g++) {
      float* s = &sc.s[g * bs];
      const float* qg = &sc.qs[g * D];
      float mx = sc.m[g];
      for (int j = 0; j < n; j++) {
        s[j] = pa_dot<V, T>(qg, kb + j * row, D);
        mx = s[j] > mx ? s[j] : mx;
      }
      float alpha = std::exp(sc.m[g] - mx), sum = 0.f;
      int j = 0;
      constexpr int W = VT<V>::W;
      V vs{};
      for (; j + W <= n; j += W) {
        V e = vexp<V>(vload<V>(s + j) - mx);
        vstore(s + j, e);
        vs += e;
      }
      sum = hsum<V>(vs);
      for (; j < n; j++) { s[j] = std::exp(s[j] - mx); sum += s[j]; }
      sc.l[g] = sc.l[g] * alpha + sum;
      sc.m[g] = mx;
      pa_acc<V, T>(&sc.acc[g * D], alpha, s, n, vb, row, D);
    }
    p0 += n;
  }
  for (int64_t g = 0; g < G; g++) {
    float* o = out + (t * d.Hq + kh * G + g) * d.D;
    float inv = sc.l[g] > 0.f ? 1.f / sc.l[g] : 0.f;
    for (int x = 0; x < D; x++) o[x] = sc.acc[g * D + x] * inv;
  }
}

#define HCX_PA_ARGS const PDims& d, const float* q, const T* k, const T* v, float* o, const int32_t* tb, const int32_t* st, \
                    const int32_t* cx, int64_t t, Scratch& sc
template <class T> HCX_TARGET_512 void pa_512(HCX_PA_ARGS) { pa_task<v16f, T>(d, q, k, v, o, tb, st, cx, t, sc); }
template <class T> HCX_TARGET_256 void pa_256(HCX_PA_ARGS) { pa_task<v8f, T>(d, q, k, v, o, tb, st, cx, t, sc); }
template <class T> HCX_TARGET_256 void pa_256h(HCX_PA_ARGS) { pa_task<v4f, T>(d, q, k, v, o, tb, st, cx, t, sc); }
template <class T> void pa_portable(HCX_PA_ARGS) { pa_task<v4f, T>(d, q, k, v, o, tb, st, cx, t, sc); }

template <class T>
void pa_run(const PDims& d, const float* q, const T* kp, const T* vp, float* out, const int32_t* tables, const int32_t* start,
            const int32_t* ctx) {
  const int64_t tasks = d.N * d.Hkv, G = d.Hq / d.Hkv;
  const Isa is = isa();
  // Tasks are handed out in small groups to whichever thread is free: long and short contexts balance,
  // and a descheduled thread holds back only its current group.
  const int nt = (int)std::max<int64_t>(1, std::min<int64_t>(num_threads(), tasks));
  const int64_t per = std::max<int64_t>(1, tasks / (8 * nt)), groups = (tasks + per - 1) / per;
  const bool wide = is == Isa::Avx512 && paged_avx512_fits(d.D) && G <= 64;
  auto body = [&](int grp, int) {
    Scratch sc;
    if (!wide) sc.size(G, d.D, d.bs);
    const int64_t t0 = grp * per, t1 = std::min(tasks, t0 + per);
    for (int64_t t = t0; t < t1; t++) {
      if (t + 1 < t1) paged_prefetch_task(d, kp, vp, (int)sizeof(T), tables, start, ctx, t + 1);
      if (wide) {
        if constexpr (sizeof(T) == 4) paged_task_avx512_f32(d, q, kp, vp, out, tables, start, ctx, t);
        else paged_task_avx512_bf16(d, q, kp, vp, out, tables, start, ctx, t);
      } else if (is == Isa::Avx512 && d.D >= 16) pa_512<T>(d, q, kp, vp, out, tables, start, ctx, t, sc);
      else if (is != Isa::Portable && d.D >= 8) pa_256<T>(d, q, kp, vp, out, tables, start, ctx, t, sc);
      else if (is != Isa::Portable) pa_256h<T>(d, q, kp, vp, out, tables, start, ctx, t, sc);
      else pa_portable<T>(d, q, kp, vp, out, tables, start, ctx, t, sc);
    }
  };
  if (nt <= 1 || tasks < 4) for (int64_t g = 0; g < groups; g++) body((int)g, (int)groups);
  else parallel_tasks((int)groups, body);
}

// The pool's element type: Float32Array or Uint16Array (bf16); 0 for anything else.
int kv_bytes(napi_env env, napi_value v) {
  napi_typedarray_type type;
  size_t len, off;
  void* data;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &type, &len, &data, &ab, &off) != napi_ok) return 0;
  return type == napi_float32_array ? 4 : type == napi_uint16_array ? 2 : 0;
}

// pagedAttention(q, kPool, vPool, out, blockTables, tableStart, ctxLen, N, Hq, Hkv, D, blockSize, scale[, window])
napi_value PagedAttention(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t nq = 0, nk = 0, nv = 0, no = 0, ntab = 0, nst = 0, ncx = 0;
  const float* q = a.arr<float>(0, &nq);
  const void* kp = a.arr<void>(1, &nk);
  const void* vp = a.arr<void>(2, &nv);
  float* out = a.arr<float>(3, &no);
  const int32_t* tables = a.arr<int32_t>(4, &ntab);
  const int32_t* start = a.arr<int32_t>(5, &nst);
  const int32_t* ctx = a.arr<int32_t>(6, &ncx);
  PDims d;
  d.N = a.i64(7); d.Hq = a.i64(8); d.Hkv = a.i64(9); d.D = a.i64(10); d.bs = a.i64(11); d.scale = (float)a.num(12);
  if (a.argc > 13) d.window = a.i64(13);
  if (a.failed) return nullptr;
  if (d.window < 0) { a.fail("pagedAttention: window must be >= 0"); return nullptr; }
  const int eb = kv_bytes(env, a.argv[1]);
  if (eb == 0 || kv_bytes(env, a.argv[2]) != eb) { a.fail("pagedAttention: the key and value pools must both be Float32Array or both Uint16Array (bf16)"); return nullptr; }
  if (d.N < 0 || d.Hkv <= 0 || d.Hq % d.Hkv || d.D <= 0 || d.bs <= 0) { a.fail("pagedAttention: bad dimensions"); return nullptr; }
  if (nq < (size_t)(d.N * d.Hq * d.D) || no < nq || nst < (size_t)d.N || ncx < (size_t)d.N || nk != nv ||
      nk % (size_t)(d.bs * d.Hkv * d.D)) {
    a.fail("pagedAttention: buffer sizes do not match the dimensions");
    return nullptr;
  }
  const int64_t numBlocks = (int64_t)(nk / (size_t)(d.bs * d.Hkv * d.D));
  // Validate every table entry a token reads, so a bad table throws instead of reading out of bounds.
  for (int64_t t = 0; t < d.N; t++) {
    int64_t L = ctx[t], nb = (L + d.bs - 1) / d.bs;
    if (L < 1 || start[t] < 0 || (size_t)(start[t] + nb) > ntab) { a.fail("pagedAttention: context length or table start out of range"); return nullptr; }
    for (int64_t b = 0; b < nb; b++) {
      int32_t blk = tables[start[t] + b];
      if (blk < 0 || blk >= numBlocks) { a.fail("pagedAttention: block id outside the pool"); return nullptr; }
    }
  }
  if (eb == 4) pa_run(d, q, (const float*)kp, (const float*)vp, out, tables, start, ctx);
  else pa_run(d, q, (const uint16_t*)kp, (const uint16_t*)vp, out, tables, start, ctx);
  return undef(env);
}

// float32 -> bf16, round to nearest even (NaN stays NaN).
inline uint16_t to_bf16(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  if ((b & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((b >> 16) | 0x40);
  return (uint16_t)((b + 0x7FFFu + ((b >> 16) & 1u)) >> 16);
}

// pagedKvWrite(k, v, kPool, vPool, slots, N, Hkv, D, blockSize): token t's keys and values (rows of k and v,
// [N, Hkv * D]) go to slot slots[t] = block * blockSize + offset of the pools ([numBlocks, Hkv, blockSize, D];
// Float32Array, or Uint16Array for a bf16 cache, rounded to nearest even).
napi_value PagedKvWrite(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t nk = 0, nv = 0, npk = 0, npv = 0, ns = 0;
  const float* k = a.arr<float>(0, &nk);
  const float* v = a.arr<float>(1, &nv);
  void* kp = a.arr<void>(2, &npk);
  void* vp = a.arr<void>(3, &npv);
  const int32_t* slots = a.arr<int32_t>(4, &ns);
  const int64_t N = a.i64(5), H = a.i64(6), D = a.i64(7), bs = a.i64(8);
  if (a.failed) return nullptr;
  const int eb = kv_bytes(env, a.argv[2]);
  if (eb == 0 || kv_bytes(env, a.argv[3]) != eb) { a.fail("pagedKvWrite: the key and value pools must both be Float32Array or both Uint16Array (bf16)"); return nullptr; }
  const int64_t row = H * D;
  if (H <= 0 || D <= 0 || bs <= 0 || N < 0 || ns < (size_t)N || nk < (size_t)(N * row) || nv < (size_t)(N * row) || npk != npv ||
      npk % (size_t)(row * bs)) {
    a.fail("pagedKvWrite: buffer sizes do not match");
    return nullptr;
  }
  const int64_t numSlots = (int64_t)(npk / (size_t)row);
  for (int64_t t = 0; t < N; t++)
    if (slots[t] < 0 || slots[t] >= numSlots) { a.fail("pagedKvWrite: slot outside the pool"); return nullptr; }
  for (int64_t t = 0; t < N; t++) {
    const int64_t blk = slots[t] / bs, off = slots[t] % bs;
    for (int64_t h = 0; h < H; h++) {
      const int64_t at = ((blk * H + h) * bs + off) * D;
      const float* ks = k + t * row + h * D;
      const float* vs = v + t * row + h * D;
      if (eb == 4) {
        std::memcpy((float*)kp + at, ks, D * sizeof(float));
        std::memcpy((float*)vp + at, vs, D * sizeof(float));
      } else {
        uint16_t* kd = (uint16_t*)kp + at;
        uint16_t* vd = (uint16_t*)vp + at;
        for (int64_t i = 0; i < D; i++) { kd[i] = to_bf16(ks[i]); vd[i] = to_bf16(vs[i]); }
      }
    }
  }
  return undef(env);
}

}  // namespace

void register_paged_attention(napi_env env, napi_value exports) {
  define(env, exports, "pagedAttention", PagedAttention);
  define(env, exports, "pagedKvWrite", PagedKvWrite);
}

}  // namespace hcx

// Causal grouped-query attention in the FlashAttention style: queries and keys are processed in
// tiles with an online softmax, so the T x T score matrix never exists; the forward pass keeps only
// the output and one log-sum-exp per query row, and the backward pass recomputes the scores tile by
// tile (FlashAttention-2 ordering: each task owns a key tile, so dK and dV need no locks; dQ
// is accumulated per thread and summed at the end).
// Layout: q, o [B, T, Hq, D]; k, v [B, S, Hkv, D]; lse [B, Hq, T]. Query row i sits at absolute
// position qOffset + i and, when causal, sees keys 0 ..= qOffset + i (qOffset > 0 for a KV cache).
// Segment ids (optional, int32 [B, S] over absolute positions) make the mask block-diagonal for packed
// sequences: a query sees only keys of its own segment. A (query tile, key tile) pair whose segment
// ranges do not meet is skipped outright; only tiles that straddle a boundary are masked per element.
// When every segment is one contiguous run and queries are the keys (causal training on packed rows),
// the kernels go varlen instead (FlashAttention's cu_seqlens): tiles are aligned to each segment's
// start, so no tile straddles two sequences and short sequences waste no tile work on their neighbours.
// With a causal sliding window W a query sees only the last W keys: qOffset + i - W + 1 ..= qOffset + i.
#include <cmath>
#include <vector>
#include <cstring>
#include <unordered_set>
#include "napi_util.h"
#include "simd.h"
#include "threadpool.h"
#include "attention_tiles.h"

namespace hcx {

constexpr int BQ = 64, BK = 64;

struct Dims {
  int64_t B, T, S, Hq, Hkv, D, qOffset;
  int64_t Scap;  // rows allocated per batch in k and v (a KV cache holds more than S)
  float scale;
  bool causal;
  const int32_t* seg = nullptr;  // [B, S] segment id per absolute position, or null: one segment per row
  // Smallest and largest segment id of each query tile [B, nqb] and key tile [B, nkb] (when seg is set).
  const int32_t *qlo = nullptr, *qhi = nullptr, *klo = nullptr, *khi = nullptr;
  int64_t window = 0;  // 0: no sliding window
  int64_t qrow(int64_t b, int64_t t, int64_t h) const { return ((b * T + t) * Hq + h) * D; }
  int64_t krow(int64_t b, int64_t s, int64_t h) const { return ((b * Scap + s) * Hkv + h) * D; }
  // Number of keys query row t may see (before segment masking).
  int64_t visible(int64_t t) const { return causal ? std::min<int64_t>(S, qOffset + t + 1) : S; }
  int64_t nqb() const { return (T + BQ - 1) / BQ; }
  int64_t nkb() const { return (S + BK - 1) / BK; }
  // No query of tile qb shares a segment with a key of tile kb: the whole tile is masked.
  bool disjoint(int64_t b, int64_t qb, int64_t kb) const {
    int64_t iq = b * nqb() + qb, ik = b * nkb() + kb;
    return seg && (khi[ik] < qlo[iq] || klo[ik] > qhi[iq]);
  }
  // Every query and key of the pair is in one segment: no per-element masking needed.
  bool uniform(int64_t b, int64_t qb, int64_t kb) const {
    int64_t iq = b * nqb() + qb, ik = b * nkb() + kb;
    return !seg || (qlo[iq] == qhi[iq] && klo[ik] == khi[ik] && qlo[iq] == klo[ik]);
  }
  // First key query row t may see.
  int64_t first(int64_t t) const { return window > 0 ? std::max<int64_t>(0, qOffset + t + 1 - window) : 0; }
};

// The per-tile segment ranges Dims reads (sizes only grow, reused across calls like Packed).
struct SegTiles {
  std::vector<int32_t> qlo, qhi, klo, khi;
  void build(Dims& d) {
    if (!d.seg) return;
    int64_t nqb = d.nqb(), nkb = d.nkb();
    qlo.resize(d.B * nqb); qhi.resize(d.B * nqb); klo.resize(d.B * nkb); khi.resize(d.B * nkb);
    auto range = [&](const int32_t* s, int64_t n, int32_t& lo, int32_t& hi) {
      lo = hi = s[0];
      for (int64_t i = 1; i < n; i++) { lo = std::min(lo, s[i]); hi = std::max(hi, s[i]); }
    };
    for (int64_t b = 0; b < d.B; b++) {
      const int32_t* row = d.seg + b * d.S;
      for (int64_t t = 0; t < nqb; t++)
        range(row + d.qOffset + t * BQ, std::min<int64_t>(BQ, d.T - t * BQ), qlo[b * nqb + t], qhi[b * nqb + t]);
      for (int64_t t = 0; t < nkb; t++)
        range(row + t * BK, std::min<int64_t>(BK, d.S - t * BK), klo[b * nkb + t], khi[b * nkb + t]);
    }
    d.qlo = qlo.data(); d.qhi = qhi.data(); d.klo = klo.data(); d.khi = khi.data();
  }
};

// In a tile that straddles a segment boundary: sets s[j] = -inf for the keys k0 + j (j0 <= j < lim) outside
// query t's segment and returns how many stay visible.
HCX_INL int mask_segment(const Dims& d, int64_t b, int64_t t, int64_t k0, float* s, int j0, int lim) {
  const int32_t* row = d.seg + b * d.S;
  int32_t sq = row[d.qOffset + t];
  int seen = 0;
  for (int j = j0; j < lim; j++) {
    if (row[k0 + j] == sq) seen++;
    else s[j] = -INFINITY;
  }
  return seen;
}

// A run of keys that query tiles attend within, its key tiles aligned to its start. Without varlen:
// one span per batch row (all S keys). Varlen: one span per segment. tile0 indexes its first key tile
// in the packed K/V.
struct Span { int64_t b, start, len, tile0; };
// A query tile (forward) or key tile (backward) of a span: rows r0 .. r0 + n.
struct Tile { int64_t span, r0, n; };

struct Layout {
  std::vector<Span> spans;
  std::vector<Tile> qtiles, ktiles;
  int64_t ntiles = 0;  // key tiles over all spans
  bool varlen = false;

  // Varlen when every segment of every row is one contiguous run, queries are the keys and the mask is
  // causal, and the runs do not multiply the tiles (many one-token segments would); else the grid.
  void build(const Dims& d) {
    spans.clear(); qtiles.clear(); ktiles.clear();
    int64_t grid = d.B * ((d.S + BK - 1) / BK);
    varlen = d.seg && d.causal && d.qOffset == 0 && d.T == d.S && runs(d) && ntiles <= 2 * grid;
    if (!varlen) {
      spans.clear();
      for (int64_t b = 0; b < d.B; b++) spans.push_back({b, 0, d.S, b * ((d.S + BK - 1) / BK)});
      ntiles = grid;
    }
    for (int64_t i = 0; i < (int64_t)spans.size(); i++) {
      const Span& sp = spans[i];
      // Grid query tiles cover the T queries (they sit at qOffset + row among the S keys).
      int64_t qlen = varlen ? sp.len : d.T, qstart = varlen ? sp.start : 0;
      for (int64_t r = 0; r < qlen; r += BQ) qtiles.push_back({i, qstart + r, std::min<int64_t>(BQ, qlen - r)});
      for (int64_t r = 0; r < sp.len; r += BK) ktiles.push_back({i, sp.start + r, std::min<int64_t>(BK, sp.len - r)});
    }
  }

 private:
  bool runs(const Dims& d) {
    std::unordered_set<int32_t> seen;
    ntiles = 0;
    for (int64_t b = 0; b < d.B; b++) {
      seen.clear();
      const int32_t* row = d.seg + b * d.S;
      for (int64_t s = 0; s < d.S;) {
        int32_t id = row[s];
        if (!seen.insert(id).second) return false;  // a segment in two runs: masks are needed
        int64_t e = s + 1;
        while (e < d.S && row[e] == id) e++;
        spans.push_back({b, s, e - s, ntiles});
        ntiles += (e - s + BK - 1) / BK;
        s = e;
      }
    }
    return true;
  }
};

// Operands laid out once per call so that no tile is copied per (query tile, key tile) pair:
// Q pre-scaled in its own layout; K and V transposed tile by tile, [Hkv, tiles, D, BK], so each
// key tile is one contiguous block (a [D, S] layout would put its rows S floats apart, and a stride
// that is a multiple of 4 KiB maps every row to the same L1 set).
struct Packed {
  std::vector<float> qs, kt, vt;
  int64_t ntiles = 0;
  int64_t tileOff(const Dims& d, int64_t kh, int64_t tile) const { return (kh * ntiles + tile) * d.D * BK; }
};

static void pack(const Dims& d, const Layout& L, const float* q, const float* k, const float* v, bool withVt, Packed& p) {
  // Sizes only grow, so a training loop reuses the same memory every call (a fresh multi-MB vector
  // per call costs page faults and a memset). Tile columns past a span's end are never read, so no clearing.
  p.qs.resize(d.B * d.T * d.Hq * d.D);
  p.ntiles = L.ntiles;
  p.kt.resize(d.Hkv * p.ntiles * d.D * BK);
  if (withVt) p.vt.resize(p.kt.size());
  parallel_for(d.B * d.T, 64, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; r++) {
      const float* src = q + r * d.Hq * d.D;
      float* dst = p.qs.data() + r * d.Hq * d.D;
      for (int64_t x = 0; x < d.Hq * d.D; x++) dst[x] = src[x] * d.scale;
    }
  });
  int64_t nsp = (int64_t)L.spans.size();
  parallel_for(nsp * d.Hkv, 1, [&](int64_t g0, int64_t g1, int) {
    for (int64_t g = g0; g < g1; g++) {
      const Span& sp = L.spans[g % nsp];
      int64_t kh = g / nsp;
      for (int64_t j = 0; j < sp.len; j++) {
        const float* kr = k + d.krow(sp.b, sp.start + j, kh);
        const float* vr = v + d.krow(sp.b, sp.start + j, kh);
        int64_t off = p.tileOff(d, kh, sp.tile0 + j / BK) + j % BK;
        for (int64_t x = 0; x < d.D; x++) {
          p.kt[off + x * BK] = kr[x];
          if (withVt) p.vt[off + x * BK] = vr[x];
        }
      }
    }
  });
}

// Query tile qt of head h. Without varlen, tile pairs whose segments do not meet are skipped and
// straddling ones masked; with varlen (d.seg cleared) every pair is inside one sequence.
template <class V>
HCX_INL void fwd_task(const Dims& d, const Layout& L, const Packed& pk, const float* v, float* o, float* lse, const Tile& qt, int64_t h) {
  const int D = (int)d.D;
  const Span& sp = L.spans[qt.span];
  const int64_t b = sp.b, kh = h / (d.Hq / d.Hkv), q0 = qt.r0;
  const int nq = (int)qt.n;
  const int64_t ldq = d.Hq * d.D, ldv = d.Hkv * d.D;
  const float* Qs = pk.qs.data() + d.qrow(b, q0, h);
  std::vector<float> O(BQ * D, 0.f), Sb(BQ * BK), m(BQ, -INFINITY), l(BQ, 0.f);
  int64_t kend = std::min<int64_t>(sp.start + sp.len, d.visible(q0 + nq - 1));
  for (int64_t k0 = sp.start + std::max<int64_t>(0, d.first(q0) - sp.start) / BK * BK; k0 < kend; k0 += BK) {
    int64_t kt = (k0 - sp.start) / BK;
    if (d.disjoint(b, q0 / BQ, kt)) continue;
    bool mixed = !d.uniform(b, q0 / BQ, kt);
    int nk = (int)std::min<int64_t>(BK, kend - k0);
    mm_rows_t<V>(Qs, ldq, nq, pk.kt.data() + pk.tileOff(d, kh, sp.tile0 + kt), BK, nk, D, Sb.data(), BK, true);  // tiles are BK wide
    for (int i = 0; i < nq; i++) {
      float* s = &Sb[i * BK];
      // Keys j0 <= j < lim are visible to this row; a row may see none of this tile.
      int lim = (int)std::max<int64_t>(0, std::min<int64_t>(nk, d.visible(q0 + i) - k0));
      int j0 = (int)std::max<int64_t>(0, d.first(q0 + i) - k0);
      if (lim > j0 && mixed && mask_segment(d, b, q0 + i, k0, s, j0, lim) == 0) lim = 0;
      if (lim <= j0) { for (int j = 0; j < nk; j++) s[j] = 0.f; continue; }
      float mx = max_row<V>(s + j0, lim - j0, m[i]);
      float alpha = std::exp(m[i] - mx);
      float sum = exp_shift<V>(s + j0, lim - j0, mx);
      for (int j = 0; j < j0; j++) s[j] = 0.f;
      for (int j = lim; j < nk; j++) s[j] = 0.f;
      l[i] = l[i] * alpha + sum;
      m[i] = mx;
      if (alpha != 1.f) for (int x = 0; x < D; x++) O[i * D + x] *= alpha;
    }
    mm_rows_acc<V>(Sb.data(), BK, nq, nk, v + d.krow(b, k0, kh), ldv, D, O.data(), D);
  }
  for (int i = 0; i < nq; i++) {
    // A row that sees no key at all (only possible with segment ids that exclude the query's own
    // position) outputs zeros; lse = +inf makes its backward probabilities exactly 0.
    float inv = l[i] > 0 ? 1.f / l[i] : 0.f;
    float* orow = o + d.qrow(b, q0 + i, h);
    for (int x = 0; x < D; x++) orow[x] = O[i * D + x] * inv;
    lse[(b * d.Hq + h) * d.T + q0 + i] = l[i] > 0 ? m[i] + std::log(l[i]) : INFINITY;
  }
}

// Key tile kt of KV head kh, against the query tiles of its span that see it.
template <class V>
HCX_INL void bwd_task(const Dims& d, const Layout& L, const Packed& pk, const float* k, const float* go, const float* lse,
                      const float* delta, float* gq_t, float* gk, float* gv, const Tile& ktile, int64_t kh) {
  const int D = (int)d.D;
  const Span& sp = L.spans[ktile.span];
  const int64_t b = sp.b, group = d.Hq / d.Hkv, k0 = ktile.r0, kb = (k0 - sp.start) / BK;
  const int nk = (int)ktile.n;
  const int64_t ldq = d.Hq * d.D, ldk = d.Hkv * d.D;
  const float* Kb = k + d.krow(b, k0, kh);
  const float* Kt = pk.kt.data() + pk.tileOff(d, kh, sp.tile0 + kb);
  const float* Vt = pk.vt.data() + pk.tileOff(d, kh, sp.tile0 + kb);
  std::vector<float> dK(BK * D, 0.f), dV(BK * D, 0.f), P(BQ * BK), PT(BK * BQ), dP(BQ * BK);
  // Query rows of the span (varlen: its own rows; grid: all T), tiles aligned to its first.
  const int64_t qbase = L.varlen ? sp.start : 0, qlimit = L.varlen ? sp.start + sp.len : d.T;
  // First query row that sees key k0: qOffset + t >= k0.
  int64_t tstart = d.causal ? std::max<int64_t>(0, k0 - d.qOffset) : 0;
  // Past the last query row whose window still reaches the tile's last key: qOffset + t + 1 - W <= k0 + nk - 1.
  int64_t tend = d.window > 0 ? std::min<int64_t>(qlimit, k0 + nk - 1 + d.window - d.qOffset) : qlimit;
  for (int64_t hh = 0; hh < group; hh++) {
    int64_t h = kh * group + hh;
    for (int64_t q0 = qbase + std::max<int64_t>(0, tstart - qbase) / BQ * BQ; q0 < tend; q0 += BQ) {
      if (d.disjoint(b, q0 / BQ, kb)) continue;
      bool mixed = !d.uniform(b, q0 / BQ, kb);
      int nq = (int)std::min<int64_t>(BQ, qlimit - q0);
      const float* Qs = pk.qs.data() + d.qrow(b, q0, h);
      const float* dO = go + d.qrow(b, q0, h);
      mm_rows_t<V>(Qs, ldq, nq, Kt, BK, nk, D, P.data(), BK, true);
      mm_rows_t<V>(dO, ldq, nq, Vt, BK, nk, D, dP.data(), BK, true);
      for (int i = 0; i < nq; i++) {
        int64_t row = (b * d.Hq + h) * d.T + q0 + i;
        float Lr = lse[row], Di = delta[row];
        int lim = (int)std::max<int64_t>(0, std::min<int64_t>(nk, d.visible(q0 + i) - k0));
        int j0 = (int)std::min<int64_t>(lim, std::max<int64_t>(0, d.first(q0 + i) - k0));
        float* p = &P[i * BK];
        float* dp = &dP[i * BK];
        if (lim > j0 && mixed) mask_segment(d, b, q0 + i, k0, p, j0, lim);  // exp(-inf) below gives 0
        exp_shift<V>(p + j0, lim - j0, Lr);
        for (int j = j0; j < lim; j++) dp[j] = p[j] * (dp[j] - Di);  // dS
        for (int j = 0; j < j0; j++) { p[j] = 0.f; dp[j] = 0.f; }
        for (int j = lim; j < nk; j++) { p[j] = 0.f; dp[j] = 0.f; }
      }
      // dV += P^T dO
      for (int i = 0; i < nq; i++) for (int j = 0; j < nk; j++) PT[j * BQ + i] = P[i * BK + j];
      mm_rows_acc<V>(PT.data(), BQ, nk, nq, dO, ldq, D, dV.data(), D);
      // dK += dS^T (Q * scale)
      for (int i = 0; i < nq; i++) for (int j = 0; j < nk; j++) PT[j * BQ + i] = dP[i * BK + j];
      mm_rows_acc<V>(PT.data(), BQ, nk, nq, Qs, ldq, D, dK.data(), D);
      // dQ += scale * dS K
      for (int i = 0; i < nq; i++) for (int j = 0; j < nk; j++) dP[i * BK + j] *= d.scale;
      mm_rows_acc<V>(dP.data(), BK, nq, nk, Kb, ldk, D, gq_t + d.qrow(b, q0, h), ldq);
    }
  }
  for (int j = 0; j < nk; j++) {
    float* kr = gk + d.krow(b, k0 + j, kh);
    float* vr = gv + d.krow(b, k0 + j, kh);
    for (int x = 0; x < D; x++) { kr[x] += dK[j * D + x]; vr[x] += dV[j * D + x]; }
  }
}

HCX_TARGET_512 static void fwd_512(const Dims& d, const Layout& L, const Packed& p, const float* v, float* o, float* l, const Tile& t, int64_t h) { fwd_task<v16f>(d, L, p, v, o, l, t, h); }
HCX_TARGET_256 static void fwd_256(const Dims& d, const Layout& L, const Packed& p, const float* v, float* o, float* l, const Tile& t, int64_t h) { fwd_task<v8f>(d, L, p, v, o, l, t, h); }
HCX_TARGET_512 static void bwd_512(const Dims& d, const Layout& L, const Packed& p, const float* k, const float* go, const float* l, const float* dl, float* gq, float* gk, float* gv, const Tile& t, int64_t kh) { bwd_task<v16f>(d, L, p, k, go, l, dl, gq, gk, gv, t, kh); }
HCX_TARGET_256 static void bwd_256(const Dims& d, const Layout& L, const Packed& p, const float* k, const float* go, const float* l, const float* dl, float* gq, float* gk, float* gv, const Tile& t, int64_t kh) { bwd_task<v8f>(d, L, p, k, go, l, dl, gq, gk, gv, t, kh); }

// The tile layout of a call, and the segment ranges of its tiles when it stays on the grid (varlen
// needs no masks, so the kernels see no segment ids).
static void plan(Dims& d, Layout& L, SegTiles& st) {
  L.build(d);
  if (L.varlen) d.seg = nullptr;
  else st.build(d);
}

static bool read_dims(Args& a, size_t at, Dims& d) {
  d.B = a.i64(at); d.T = a.i64(at + 1); d.S = a.i64(at + 2); d.Hq = a.i64(at + 3); d.Hkv = a.i64(at + 4);
  d.D = a.i64(at + 5); d.scale = (float)a.num(at + 6); d.causal = a.num(at + 7) != 0; d.qOffset = a.i64(at + 8);
  d.Scap = d.S;
  if (a.failed) return false;
  if (d.Hkv <= 0 || d.Hq % d.Hkv) { a.fail("attention: query heads must be a multiple of KV heads"); return false; }
  return true;
}

// Optional segment ids at argument `at`: an Int32Array of B * S, or null/undefined.
static bool read_segments(Args& a, size_t at, Dims& d) {
  if (a.argc <= at) return true;
  size_t n = 0;
  napi_valuetype t;
  napi_typeof(a.env, a.argv[at], &t);
  if (t == napi_null || t == napi_undefined) return true;
  d.seg = a.arr<int32_t>(at, &n);
  if (a.failed) return false;
  if ((int64_t)n != d.B * d.S) { a.fail("attention: segment ids must have B * S entries"); return false; }
  if (d.qOffset < 0 || d.qOffset + d.T > d.S) { a.fail("attention: with segment ids, queries must sit inside the keys (0 <= qOffset, qOffset + T <= S)"); return false; }
  return true;
}

// attention(q, k, v, o, lse, B, T, S, Hq, Hkv, D, scale, causal, qOffset[, kvCapacity[, segmentIds[, window]]])
// kvCapacity: rows per batch allocated in k and v (default S), so a KV cache is read in place.
// window: a causal sliding window of that many keys (0: none).
static napi_value AttentionFwd(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const float* q = a.arr<float>(0);
  const float* k = a.arr<float>(1);
  const float* v = a.arr<float>(2);
  float* o = a.arr<float>(3);
  float* lse = a.arr<float>(4);
  Dims d;
  if (a.failed || !read_dims(a, 5, d)) return nullptr;
  if (a.argc > 14) d.Scap = a.i64(14);
  if (a.argc > 16) d.window = a.i64(16);
  if (a.failed || d.Scap < d.S) { a.fail("attention: kvCapacity must be >= S"); return nullptr; }
  if (!read_segments(a, 15, d)) return nullptr;
  if (d.window < 0 || (d.window > 0 && !d.causal)) { a.fail("attention: window must be >= 0, and only with causal attention"); return nullptr; }
  static SegTiles st;
  static Layout L;
  plan(d, L, st);
  const int64_t nqt = (int64_t)L.qtiles.size(), tasks = nqt * d.Hq;
  Isa is = isa();
  static Packed pk;  // entry points run on the JS thread only, never concurrently
  pack(d, L, q, k, v, false, pk);
  // Tasks are dealt round-robin: under a causal mask later query tiles cost more.
  parallel_run(num_threads(), [&](int th, int nth) {
    for (int64_t t = th; t < tasks; t += nth) {
      const Tile& qt = L.qtiles[t % nqt];
      int64_t h = t / nqt;
      if (is == Isa::Avx512) fwd_512(d, L, pk, v, o, lse, qt, h);
      else if (is == Isa::Avx2) fwd_256(d, L, pk, v, o, lse, qt, h);
      else fwd_task<v4f>(d, L, pk, v, o, lse, qt, h);
    }
  });
  return undef(env);
}

// attentionBackward(q, k, v, o, lse, go, gq, gk, gv, B, T, S, Hq, Hkv, D, scale, causal, qOffset, accumulate[, segmentIds[, window]])
static napi_value AttentionBwd(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const float* q = a.arr<float>(0);
  const float* k = a.arr<float>(1);
  const float* v = a.arr<float>(2);
  const float* o = a.arr<float>(3);
  const float* lse = a.arr<float>(4);
  const float* go = a.arr<float>(5);
  size_t nq_el, nk_el;
  float* gq = a.arr<float>(6, &nq_el);
  float* gk = a.arr<float>(7, &nk_el);
  float* gv = a.arr<float>(8);
  Dims d;
  if (a.failed || !read_dims(a, 9, d)) return nullptr;
  bool acc = a.num(18) != 0;
  if (a.failed || !read_segments(a, 19, d)) return nullptr;
  if (a.argc > 20) d.window = a.i64(20);
  if (a.failed) return nullptr;
  if (d.window < 0 || (d.window > 0 && !d.causal)) { a.fail("attentionBackward: window must be >= 0, and only with causal attention"); return nullptr; }
  static SegTiles st;
  static Layout L;
  plan(d, L, st);
  if (!acc) {
    std::fill(gq, gq + nq_el, 0.f);
    std::fill(gk, gk + nk_el, 0.f);
    std::fill(gv, gv + nk_el, 0.f);
  }
  // delta[b, h, t] = dot(dO, O) for the row: the softmax backward's per-row correction.
  static std::vector<float> delta;
  delta.resize(d.B * d.Hq * d.T);
  parallel_for(d.B * d.T, 16, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; r++) {
      int64_t b = r / d.T, t = r % d.T;
      for (int64_t h = 0; h < d.Hq; h++) {
        const float* orow = o + d.qrow(b, t, h);
        const float* grow = go + d.qrow(b, t, h);
        float s = 0;
        for (int64_t x = 0; x < d.D; x++) s += orow[x] * grow[x];
        delta[(b * d.Hq + h) * d.T + t] = s;
      }
    }
  });
  int nt = num_threads();
  static std::vector<std::vector<float>> gq_parts;
  if ((int)gq_parts.size() < nt) gq_parts.resize(nt);
  std::vector<char> used(nt, 0);  // not vector<bool>: threads set their own entries concurrently
  const int64_t nkt = (int64_t)L.ktiles.size(), tasks = nkt * d.Hkv;
  Isa is = isa();
  static Packed pk;
  pack(d, L, q, k, v, true, pk);
  parallel_run(nt, [&](int th, int nth) {
    float* part = gq;
    if (th > 0) {
      gq_parts[th].resize(nq_el);
      std::fill(gq_parts[th].begin(), gq_parts[th].begin() + nq_el, 0.f);
      part = gq_parts[th].data();
      used[th] = 1;
    }
    // Key tiles are dealt round-robin so causal work is balanced between threads.
    for (int64_t t = th; t < tasks; t += nth) {
      const Tile& kt = L.ktiles[t % nkt];
      int64_t kh = t / nkt;
      if (is == Isa::Avx512) bwd_512(d, L, pk, k, go, lse, delta.data(), part, gk, gv, kt, kh);
      else if (is == Isa::Avx2) bwd_256(d, L, pk, k, go, lse, delta.data(), part, gk, gv, kt, kh);
      else bwd_task<v4f>(d, L, pk, k, go, lse, delta.data(), part, gk, gv, kt, kh);
    }
  });
  for (int th = 1; th < nt; th++)
    if (used[th]) {
      const float* p = gq_parts[th].data();
      for (size_t i = 0; i < nq_el; i++) gq[i] += p[i];
    }
  return undef(env);
}

void register_attention(napi_env env, napi_value exports) {
  define(env, exports, "attention", AttentionFwd);
  define(env, exports, "attentionBackward", AttentionBwd);
}

}  // namespace hcx

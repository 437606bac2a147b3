#include "threadpool.h"
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>
#include <immintrin.h>

namespace hcx {
namespace {

struct Pool {
  std::vector<std::thread> workers;
  std::mutex mu;
  std::condition_variable wake, done_cv;
  const std::function<void(int, int)>* job = nullptr;
  int job_threads = 0;
  std::atomic<uint64_t> generation{0};
  std::atomic<int> remaining{0};
  bool stop = false;
  int size = 1;

  // `seen` starts at the generation current when the worker was created, so a worker added by a
  // later resize never runs a job that finished before it existed.
  void worker(int idx, uint64_t seen) {
    for (;;) {
      // Spin briefly (a few microseconds) for back-to-back kernels, then sleep.
      auto t0 = std::chrono::steady_clock::now();
      while (generation.load(std::memory_order_acquire) == seen) {
        _mm_pause();
        if (std::chrono::steady_clock::now() - t0 > std::chrono::microseconds(50)) break;
      }
      std::unique_lock<std::mutex> lk(mu);
      wake.wait(lk, [&] { return stop || generation.load(std::memory_order_acquire) != seen; });
      if (stop) return;
      seen = generation.load(std::memory_order_acquire);
      const auto* fn = job;
      int nt = job_threads;
      lk.unlock();
      if (idx < nt) (*fn)(idx, nt);
      if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> g(mu);
        done_cv.notify_one();
      }
    }
  }

  void resize(int n) {
    {
      std::lock_guard<std::mutex> g(mu);
      stop = true;
    }
    wake.notify_all();
    for (auto& t : workers) t.join();
    workers.clear();
    stop = false;
    size = n < 1 ? 1 : n;
    uint64_t g = generation.load(std::memory_order_acquire);
    for (int i = 1; i < size; i++) workers.emplace_back([this, i, g] { worker(i, g); });
  }

  void run(int nt, const std::function<void(int, int)>& fn) {
    if (nt > size) nt = size;
    if (nt <= 1) { fn(0, 1); return; }
    {
      std::lock_guard<std::mutex> g(mu);
      job = &fn;
      job_threads = nt;
      remaining.store((int)workers.size(), std::memory_order_release);
      generation.fetch_add(1, std::memory_order_acq_rel);
    }
    wake.notify_all();
    fn(0, nt);
    // Wait for every worker to acknowledge this generation (even those with idx >= nt).
    auto t0 = std::chrono::steady_clock::now();
    while (remaining.load(std::memory_order_acquire) != 0) {
      _mm_pause();
      if (std::chrono::steady_clock::now() - t0 > std::chrono::microseconds(50)) {
        std::unique_lock<std::mutex> lk(mu);
        done_cv.wait(lk, [&] { return remaining.load(std::memory_order_acquire) == 0; });
        break;
      }
    }
  }

  ~Pool() {
    { std::lock_guard<std::mutex> g(mu); stop = true; }
    wake.notify_all();
    for (auto& t : workers) t.join();
  }
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

int num_threads() { return pool().size; }

void set_num_threads(int n) {
  if (n == pool().size) return;
  pool().resize(n);
}

void parallel_run(int nt, const std::function<void(int, int)>& fn) { pool().run(nt, fn); }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t, int)>& fn) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  int nt = num_threads();
  int64_t maxt = (n + grain - 1) / grain;
  if (maxt < nt) nt = (int)maxt;
  if (nt <= 1) { fn(0, n, 0); return; }
  pool().run(nt, [&](int t, int total) {
    int64_t b = n * t / total, e = n * (t + 1) / total;
    if (b < e) fn(b, e, t);
  });
}

}  // namespace hcx

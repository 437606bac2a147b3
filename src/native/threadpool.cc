#include "threadpool.h"
#include <algorithm>
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
  // The current job: tasks 0..job_tasks-1 of `job`, claimed one at a time through next_task by whichever
  // threads arrive. The caller claims tasks too, so a worker that the OS has descheduled (a busy machine,
  // another process on the core) delays nothing: the caller runs its tasks and the job closes without it.
  const std::function<void(int, int)>* job = nullptr;
  int job_tasks = 0;
  std::atomic<int> next_task{0};
  std::atomic<bool> closed{true};
  // Workers inside a job (between checking `closed` and finishing their tasks); run() waits for zero.
  std::atomic<int> active{0};
  std::atomic<uint64_t> generation{0};
  // warm(): bumped to wake sleeping workers so they spin, ready for a job that is about to come.
  std::atomic<uint64_t> warm_gen{0};
  std::atomic<int> sleeping{0};
  bool stop = false;
  int size = 1;

  void claim_and_run() {
    const auto* fn = job;
    const int nt = job_tasks;
    for (int t; (t = next_task.fetch_add(1, std::memory_order_acq_rel)) < nt;) (*fn)(t, nt);
  }

  // `seen` starts at the generation current when the worker was created, so a worker added by a
  // later resize never runs a job that finished before it existed.
  void worker(int, uint64_t seen) {
    uint64_t seen_warm = warm_gen.load(std::memory_order_acquire);
    auto spin_for = std::chrono::microseconds(50);
    for (;;) {
      // Spin briefly for back-to-back kernels, then sleep.
      auto t0 = std::chrono::steady_clock::now();
      while (generation.load(std::memory_order_acquire) == seen) {
        _mm_pause();
        if (std::chrono::steady_clock::now() - t0 > spin_for) break;
      }
      if (generation.load(std::memory_order_acquire) == seen) {
        std::unique_lock<std::mutex> lk(mu);
        sleeping.fetch_add(1, std::memory_order_acq_rel);
        wake.wait(lk, [&] {
          return stop || generation.load(std::memory_order_acquire) != seen || warm_gen.load(std::memory_order_acquire) != seen_warm;
        });
        sleeping.fetch_sub(1, std::memory_order_acq_rel);
        if (stop) return;
        if (generation.load(std::memory_order_acquire) == seen) {
          // Woken by warm(): spin longer, waiting for the job the caller is preparing.
          seen_warm = warm_gen.load(std::memory_order_acquire);
          spin_for = std::chrono::microseconds(300);
          continue;
        }
      }
      spin_for = std::chrono::microseconds(50);
      seen = generation.load(std::memory_order_acquire);
      // Enter, then check the job is still open (seq_cst on both sides: either run() sees this worker
      // active and waits for it, or this worker sees the job closed and touches nothing).
      active.fetch_add(1, std::memory_order_seq_cst);
      if (!closed.load(std::memory_order_seq_cst)) claim_and_run();
      if (active.fetch_sub(1, std::memory_order_seq_cst) == 1) {
        std::lock_guard<std::mutex> g(mu);
        done_cv.notify_one();
      }
    }
  }

  void warm() {
    if (sleeping.load(std::memory_order_acquire) == 0) return;
    {
      std::lock_guard<std::mutex> g(mu);
      warm_gen.fetch_add(1, std::memory_order_acq_rel);
    }
    wake.notify_all();
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

  // Runs tasks 0..nt-1 of fn; up to `size` threads take them one at a time.
  void run(int nt, const std::function<void(int, int)>& fn) {
    if (nt <= 1) { fn(0, 1); return; }
    if (size <= 1) { for (int t = 0; t < nt; t++) fn(t, nt); return; }
    {
      std::lock_guard<std::mutex> g(mu);
      job = &fn;
      job_tasks = nt;
      next_task.store(0, std::memory_order_relaxed);
      closed.store(false, std::memory_order_seq_cst);
      generation.fetch_add(1, std::memory_order_acq_rel);
    }
    if (sleeping.load(std::memory_order_acquire) > 0) wake.notify_all();
    claim_and_run();
    closed.store(true, std::memory_order_seq_cst);
    // Wait only for workers that entered the job (they may still be running a task they claimed).
    auto t0 = std::chrono::steady_clock::now();
    while (active.load(std::memory_order_seq_cst) != 0) {
      _mm_pause();
      if (std::chrono::steady_clock::now() - t0 > std::chrono::microseconds(50)) {
        std::unique_lock<std::mutex> lk(mu);
        done_cv.wait(lk, [&] { return active.load(std::memory_order_seq_cst) == 0; });
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

void warm_pool() { pool().warm(); }

void parallel_run(int nt, const std::function<void(int, int)>& fn) { pool().run(std::min(nt, pool().size), fn); }

void parallel_tasks(int tasks, const std::function<void(int, int)>& fn) { pool().run(tasks, fn); }

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

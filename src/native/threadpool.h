// A fork-join thread pool. Workers block on a condition variable between jobs (after a short,
// bounded spin), so an idle pool costs no CPU: on a 2-core machine a spinning worker steals the
// core the main thread needs, which is what costs PyTorch and llama.cpp at 2 threads.
#pragma once
#include <cstdint>
#include <functional>

namespace hcx {

int num_threads();
void set_num_threads(int n);

// Calls fn(begin, end, thread_index) on disjoint chunks covering [0, n). Chunks are at least
// `grain` items. Runs inline when the pool has one thread or n is small.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t, int)>& fn);

// Wakes sleeping workers to spin for a while (~300 us): call it before preparing a batch of small
// kernels, so the first one does not pay a sleeping thread's wake-up (tens of microseconds in a VM).
void warm_pool();

// Calls fn(t, nt) once on each of nt threads (nt <= num_threads()).
void parallel_run(int nt, const std::function<void(int, int)>& fn);

// Calls fn(t, tasks) for t in [0, tasks), whichever thread is free taking the next task: with more tasks
// than threads, a thread the OS deschedules (a busy machine) holds back only the task it is running.
void parallel_tasks(int tasks, const std::function<void(int, int)>& fn);

}  // namespace hcx

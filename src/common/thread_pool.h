// A fixed-size pool of threads running queued tasks in FIFO order.
//
// Thread safety: Schedule may be called from any thread, including pool
// threads. The destructor runs every task already scheduled, then joins.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tandem {

class ThreadPool {
 public:
  // `name` prefixes the threads' names (pthread_setname_np, 15 chars max).
  ThreadPool(size_t threads, std::string name);
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool();

  void Schedule(std::function<void()> task);
  size_t size() const { return threads_.size(); }

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                    // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

}  // namespace tandem

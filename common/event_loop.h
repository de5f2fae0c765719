// Worker threads, one io_context each. Compiled once per backend: the namespace
// FAULTLINE_BACKEND_NS is "uring" or "epoll".
#pragma once

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>

#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace faultline::FAULTLINE_BACKEND_NS {

// Awaitable completion token that returns errors as values instead of throwing.
inline constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

class WorkerPool {
 public:
  explicit WorkerPool(size_t threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  size_t size() const { return contexts_.size(); }
  asio::io_context& context(size_t i) { return *contexts_[i]; }

  // Runs fn(i) on every worker i and returns once all have run it. Never call from a
  // worker thread.
  void run_on_all(const std::function<void(size_t)>& fn);
  void stop();

 private:
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
};

}  // namespace faultline::FAULTLINE_BACKEND_NS

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

// Ends a socket's traffic and wakes its pending operations without closing it. The socket
// must only be closed (or destroyed) once no operation is pending on it: Asio 1.22's
// io_uring backend frees its per-socket state on close() while the kernel still holds
// requests that point to it, and a later completion then corrupts another socket's
// operations. So connections stop with abort() and close when their coroutines end.
template <typename Socket>
void abort_io(Socket& s) {
  asio::error_code ignored;
  s.shutdown(Socket::shutdown_both, ignored);
  s.cancel(ignored);
}

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

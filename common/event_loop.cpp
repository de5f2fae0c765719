#include "common/event_loop.h"

#include <future>

namespace faultline::FAULTLINE_BACKEND_NS {

WorkerPool::WorkerPool(size_t threads) {
  if (threads == 0) threads = 1;
  for (size_t i = 0; i < threads; ++i) {
    // Each context is used by exactly one thread.
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    guards_.push_back(asio::make_work_guard(*contexts_.back()));
  }
  for (size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([ctx = contexts_[i].get()] { ctx->run(); });
  }
}

WorkerPool::~WorkerPool() {
  stop();
}

void WorkerPool::run_on_all(const std::function<void(size_t)>& fn) {
  std::vector<std::future<void>> done;
  for (size_t i = 0; i < contexts_.size(); ++i) {
    auto task = std::make_shared<std::packaged_task<void()>>([&fn, i] { fn(i); });
    done.push_back(task->get_future());
    asio::post(*contexts_[i], [task] { (*task)(); });
  }
  for (auto& f : done) f.get();
}

void WorkerPool::stop() {
  for (auto& g : guards_) g.reset();
  for (auto& c : contexts_) c->stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

}  // namespace faultline::FAULTLINE_BACKEND_NS

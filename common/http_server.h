// A small HTTP/1.1 server for the admin API and /metrics: keep-alive, pipelined requests
// answered in order, size limits, idle timeout. Handlers run on the server's io_context.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/event_loop.h"
#include "common/http.h"

namespace faultline::FAULTLINE_BACKEND_NS {

class HttpServer {
 public:
  using Handler = std::function<http::Response(const http::Request&, const std::string& peer)>;

  HttpServer(asio::io_context& ctx, Handler handler, http::Limits limits = {});
  ~HttpServer();

  // Serves on an already bound, listening socket (takes ownership of the fd).
  void start(int listen_fd);
  void stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace faultline::FAULTLINE_BACKEND_NS

#include "proxy/data_plane.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <unordered_set>

#include "common/address.h"
#include "common/log.h"

namespace faultline::FAULTLINE_BACKEND_NS {

using asio::ip::tcp;

namespace {

// Bytes taken from a socket by one read, as in Toxiproxy.
constexpr size_t kChunkSize = 32 * 1024;

// What a worker needs to know about a proxy to serve its connections.
struct LinkSpec {
  std::string name;
  std::string listen;
  std::string upstream;
};

struct Link;

// One proxy's presence on one worker: an acceptor sharing the listening socket, and the
// links accepted there. Only touched on that worker's thread.
struct WorkerProxy : std::enable_shared_from_this<WorkerProxy> {
  WorkerProxy(asio::io_context& c, std::shared_ptr<const LinkSpec> s, ProxyMetrics& m)
      : ctx(c), acceptor(c), spec(std::move(s)), metrics(m) {}

  asio::io_context& ctx;
  tcp::acceptor acceptor;
  std::shared_ptr<const LinkSpec> spec;
  ProxyMetrics& metrics;
  std::unordered_set<Link*> links;
  bool closed = false;

  asio::awaitable<void> accept_loop();
  void close_all();
};

struct Direction {
  prometheus::Counter* received = nullptr;
  prometheus::Counter* sent = nullptr;
};

// One client connection and its upstream connection: two one-way pipes.
struct Link : std::enable_shared_from_this<Link> {
  Link(std::shared_ptr<WorkerProxy> o, tcp::socket c)
      : owner(std::move(o)), client(std::move(c)), server(owner->ctx) {
    owner->links.insert(this);
    const auto& s = *owner->spec;
    auto labels = [&](const char* dir) {
      return prometheus::Labels{
          {"direction", dir}, {"listener", s.listen}, {"proxy", s.name}, {"upstream", s.upstream}};
    };
    up.received = &owner->metrics.received.Add(labels("upstream"));
    up.sent = &owner->metrics.sent.Add(labels("upstream"));
    down.received = &owner->metrics.received.Add(labels("downstream"));
    down.sent = &owner->metrics.sent.Add(labels("downstream"));
    open_gauge = &owner->metrics.open.Add({{"proxy", s.name}});
    open_gauge->Increment();
    owner->metrics.accepted.Add({{"proxy", s.name}}).Increment();
  }
  ~Link() {
    owner->links.erase(this);
    open_gauge->Decrement();
  }

  std::shared_ptr<WorkerProxy> owner;
  tcp::socket client;
  tcp::socket server;
  Direction up, down;
  prometheus::Gauge* open_gauge = nullptr;
  bool closed = false;
  std::string peer;

  asio::awaitable<void> run();
  asio::awaitable<void> pipe(tcp::socket& from, tcp::socket& to, Direction& dir);
  asio::awaitable<bool> dial();

  // Ends both directions: both sockets are shut down completely (not half-closed), which
  // is Toxiproxy's behaviour. The descriptors are closed when the Link is destroyed, after
  // its coroutines (and so their pending operations) have finished.
  void close() {
    if (closed) return;
    closed = true;
    abort_io(client);
    abort_io(server);
  }
};

asio::awaitable<bool> Link::dial() {
  const auto& s = *owner->spec;
  std::string err;
  auto hp = split_host_port(s.upstream, err);
  std::vector<tcp::endpoint> endpoints;
  if (hp) {
    asio::error_code ec;
    auto ip = asio::ip::make_address(hp->host, ec);
    if (!ec && hp->port.find_first_not_of("0123456789") == std::string::npos && !hp->port.empty()) {
      endpoints.emplace_back(ip, static_cast<unsigned short>(std::stoul(hp->port)));
    } else {
      tcp::resolver resolver(owner->ctx);
      // Keep the arguments in named locals: GCC 12 mishandles temporaries inside co_await
      // expressions (they can be destroyed twice).
      std::string host = hp->host.empty() ? std::string("localhost") : hp->host;
      std::string port = hp->port;
      auto [rec, results] = co_await resolver.async_resolve(host, port, use_nothrow);
      if (rec) {
        err = "dial tcp: lookup " + hp->host + ": " + rec.message();
      } else {
        // Go tries IPv4 addresses first.
        for (const auto& r : results) {
          if (r.endpoint().address().is_v4()) endpoints.push_back(r.endpoint());
        }
        for (const auto& r : results) {
          if (!r.endpoint().address().is_v4()) endpoints.push_back(r.endpoint());
        }
      }
    }
  } else {
    err = "dial tcp " + err;
  }
  for (const auto& ep : endpoints) {
    if (closed) co_return false;
    asio::error_code ignored;
    server.close(ignored);  // nothing is pending on it here
    auto [ec] = co_await server.async_connect(ep, use_nothrow);
    if (closed) co_return false;
    if (!ec) {
      server.set_option(tcp::no_delay(true), ignored);
      co_return true;
    }
    err = "dial tcp " + format_sockaddr(ep.data()) + ": connect: " + ec.message();
  }
  if (endpoints.empty() && err.empty()) err = "dial tcp " + s.upstream + ": no address";
  log::error()
      .str("name", s.name)
      .str("listen", s.listen)
      .str("upstream", s.upstream)
      .str("error", err)
      .str("client", peer)
      .msg("Unable to open connection to upstream");
  co_return false;
}

asio::awaitable<void> Link::run() {
  auto self = shared_from_this();
  asio::error_code ec;
  auto ep = client.remote_endpoint(ec);
  if (!ec) peer = format_sockaddr(ep.data());
  client.set_option(tcp::no_delay(true), ec);
  const auto& s = *owner->spec;
  log::info()
      .str("name", s.name)
      .str("listen", s.listen)
      .str("upstream", s.upstream)
      .str("client", peer)
      .msg("Accepted client");
  if (!co_await dial()) {
    // The client sees an orderly close with no data.
    owner->metrics.dial_failures.Add({{"proxy", s.name}}).Increment();
    close();
    co_return;
  }
  if (closed) co_return;
  asio::co_spawn(owner->ctx, pipe(client, server, up), asio::detached);
  asio::co_spawn(owner->ctx, pipe(server, client, down), asio::detached);
}

asio::awaitable<void> Link::pipe(tcp::socket& from, tcp::socket& to, Direction& dir) {
  auto self = shared_from_this();
  std::array<char, kChunkSize> buf;
  while (!closed) {
    auto [ec, n] = co_await from.async_read_some(asio::buffer(buf), use_nothrow);
    if (ec) break;
    dir.received->Increment(static_cast<double>(n));
    auto [wec, wn] = co_await asio::async_write(to, asio::buffer(buf.data(), n), use_nothrow);
    if (wec) break;
    dir.sent->Increment(static_cast<double>(wn));
  }
  close();
}

asio::awaitable<void> WorkerProxy::accept_loop() {
  auto self = shared_from_this();
  for (;;) {
    auto [ec, sock] = co_await acceptor.async_accept(use_nothrow);
    if (closed) break;
    if (ec) {
      if (ec == asio::error::operation_aborted || ec == asio::error::invalid_argument ||
          ec == asio::error::bad_descriptor) {
        break;
      }
      // Running out of descriptors must not spin the loop.
      asio::steady_timer t(ctx, std::chrono::milliseconds(20));
      co_await t.async_wait(use_nothrow);
      continue;
    }
    auto link = std::make_shared<Link>(self, std::move(sock));
    asio::co_spawn(ctx, link->run(), asio::detached);
  }
  // No accept is pending any more, so the descriptor can be closed safely.
  asio::error_code ignored;
  acceptor.close(ignored);
}

void WorkerProxy::close_all() {
  closed = true;
  asio::error_code ignored;
  acceptor.cancel(ignored);
  // Closing a link removes it from the set only when its coroutines finish, so iterate
  // over a copy.
  std::vector<Link*> open(links.begin(), links.end());
  for (Link* l : open) l->close();
}

// The running state of one proxy, held by the API's Proxy object.
struct Running : proxy::RunningProxy {
  int fd = -1;
  std::vector<std::shared_ptr<WorkerProxy>> workers;
};

}  // namespace

ProxyMetrics::ProxyMetrics(prometheus::Registry& registry)
    : received(prometheus::BuildCounter()
                   .Name("toxiproxy_proxy_received_bytes_total")
                   .Help("")
                   .Register(registry)),
      sent(prometheus::BuildCounter()
               .Name("toxiproxy_proxy_sent_bytes_total")
               .Help("")
               .Register(registry)),
      open(prometheus::BuildGauge()
               .Name("faultline_proxy_connections_open")
               .Help("Client connections currently open through the proxy.")
               .Register(registry)),
      accepted(prometheus::BuildCounter()
                   .Name("faultline_proxy_connections_accepted_total")
                   .Help("Client connections accepted by the proxy.")
                   .Register(registry)),
      dial_failures(
          prometheus::BuildCounter()
              .Name("faultline_proxy_upstream_connect_failures_total")
              .Help("Client connections closed because the upstream could not be reached.")
              .Register(registry)) {}

TcpDataPlane::TcpDataPlane(WorkerPool& pool, ProxyMetrics& metrics)
    : pool_(pool), metrics_(metrics) {}

bool TcpDataPlane::start(proxy::Proxy& proxy, std::string& err) {
  auto addr = resolve_listen(proxy.listen, err);
  if (!addr) {
    err = "listen tcp: " + err;
    return false;
  }
  int fd = bind_listener(*addr, err);
  if (fd < 0) return false;
  proxy.listen = local_address(fd);
  auto spec = std::make_shared<LinkSpec>(LinkSpec{proxy.name, proxy.listen, proxy.upstream});
  auto running = std::make_unique<Running>();
  running->fd = fd;
  running->workers.resize(pool_.size());
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  auto proto = ss.ss_family == AF_INET6 ? tcp::v6() : tcp::v4();
  // Every worker accepts from the same listening socket (its own descriptor of it), so
  // connections spread over the workers while bind semantics stay exactly Go's.
  pool_.run_on_all([&](size_t i) {
    auto wp = std::make_shared<WorkerProxy>(pool_.context(i), spec, metrics_);
    int dup_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    asio::error_code ec;
    wp->acceptor.assign(proto, dup_fd, ec);
    if (ec) {
      ::close(dup_fd);
      return;
    }
    asio::co_spawn(wp->ctx, wp->accept_loop(), asio::detached);
    running->workers[i] = std::move(wp);
  });
  proxy.running = std::move(running);
  return true;
}

void TcpDataPlane::stop(proxy::Proxy& proxy) {
  auto* running = dynamic_cast<Running*>(proxy.running.get());
  if (running == nullptr) return;
  // Stop listening at once (pending accepts fail), then close every connection.
  ::shutdown(running->fd, SHUT_RDWR);
  pool_.run_on_all([&](size_t i) {
    if (running->workers[i]) running->workers[i]->close_all();
  });
  ::close(running->fd);
  // WorkerProxy objects are released on their own threads once their coroutines end.
  auto workers = std::move(running->workers);
  for (size_t i = 0; i < workers.size(); ++i) {
    if (workers[i]) asio::post(pool_.context(i), [w = std::move(workers[i])] {});
  }
  proxy.running.reset();
}

void TcpDataPlane::toxics_changed(proxy::Proxy& /*proxy*/) {
  // Toxics are stored and validated by the API; their effect on the data path is applied
  // by the toxic stages (not yet wired in).
}

}  // namespace faultline::FAULTLINE_BACKEND_NS

#include "proxy/data_plane.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <array>
#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <tuple>
#include <unordered_set>

#include "common/address.h"
#include "common/log.h"
#include "toxics/chain.h"

namespace faultline::FAULTLINE_BACKEND_NS {

using asio::ip::tcp;
using toxics::Item;
using toxics::ItemKind;
using toxics::ToxicSpec;

namespace {

// Bytes taken from a socket by one read, as in Toxiproxy.
constexpr size_t kChunkSize = 32 * 1024;

// The capacity asked for a splice pipe, and so what one splice moves at most. The default
// pipe (16 slots, 64 KiB) makes a syscall pair per loopback segment; a larger one lets one
// splice take what the socket holds. A pipe keeps the size it has when the system refuses
// more (/proc/sys/fs/pipe-max-size; past pipe-user-pages-soft an unprivileged user's new
// pipes get two pages).
constexpr size_t kSpliceSize = 1 << 20;

// A pipe for splicing, closed with its owner.
struct Pipe {
  int r = -1, w = -1;
  size_t capacity = 0;
  // False when no pipe could be made, or only one smaller than a read chunk (splicing
  // through it would cost more than copying).
  bool open() {
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return false;
    r = fds[0];
    w = fds[1];
    int size = ::fcntl(w, F_SETPIPE_SZ, static_cast<int>(kSpliceSize));
    if (size < 0) size = ::fcntl(w, F_GETPIPE_SZ);
    capacity = size > 0 ? static_cast<size_t>(size) : 0;
    return capacity >= kChunkSize;
  }
  ~Pipe() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
};

std::atomic<int64_t> g_live_links{0};
// A direction stops reading from its source while this much is held by its toxics and
// its write queue (a 10 s latency on a saturating stream must not grow memory).
constexpr size_t kMaxQueuedBytes = 4 << 20;

// The toxics of a proxy, per direction (0 upstream, 1 downstream), as the workers see them.
// Connection toxics are in `connect` as well (in order); the chains skip them.
struct ToxicSet {
  std::vector<ToxicSpec> chain[2];
  std::vector<ToxicSpec> connect;
  const ToxicSpec* find_connect(uint64_t id) const {
    for (const auto& t : connect) {
      if (t.id == id) return &t;
    }
    return nullptr;
  }
  bool has_reset_peer() const {
    for (const auto& c : chain) {
      for (const auto& t : c) {
        if (t.type->name == toxics::reset_peer_type().name) return true;
      }
    }
    return false;
  }
};

struct Link;

// What a worker needs to know about a proxy to serve its connections.
struct LinkSpec {
  std::string name;
  std::string listen;
  std::string upstream;
  uint64_t seed = 0;                          // -seed mixed with the proxy's name
  mutable std::atomic<uint64_t> accepted{0};  // connections so far, over all workers
  // Connections past the connection toxics and not yet closed, over all workers: what a
  // max_connections toxic limits. Connections waiting for a place queue in `waiters`.
  mutable std::atomic<int64_t> admitted{0};
  mutable std::mutex waiters_mutex;
  mutable std::deque<std::pair<asio::io_context*, std::weak_ptr<Link>>> waiters;
  // waiters.size(), readable without the lock: a closing connection takes the lock only
  // when someone waits (a waiter looks for a place again after joining, so none is missed).
  mutable std::atomic<size_t> waiting{0};
};

// Each connection gets its own generator, seeded from -seed, the proxy and the
// connection's number, so a given sequence of connections sees the same toxicity draws,
// jitter and slices on every run, whichever worker serves it.
uint64_t link_seed(const LinkSpec& spec) {
  uint64_t x = spec.seed + 0x9e3779b97f4a7c15ULL * (spec.accepted.fetch_add(1) + 1);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;  // splitmix64 finaliser
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// One proxy's presence on one worker: an acceptor sharing the listening socket, and the
// links accepted there. Only touched on that worker's thread.
struct WorkerProxy : std::enable_shared_from_this<WorkerProxy> {
  WorkerProxy(asio::io_context& c, std::shared_ptr<const LinkSpec> s, ProxyMetrics& m,
              std::shared_ptr<const ToxicSet> t)
      : ctx(c), acceptor(c), spec(std::move(s)), metrics(m), toxics(std::move(t)) {}

  asio::io_context& ctx;
  tcp::acceptor acceptor;
  std::shared_ptr<const LinkSpec> spec;
  ProxyMetrics& metrics;
  std::shared_ptr<const ToxicSet> toxics;
  std::unordered_set<Link*> links;
  bool closed = false;

  // The metric series every link of this proxy updates, looked up once per worker (each
  // lookup is a lock and a hash of the labels in the family) instead of once per link.
  struct Series {
    prometheus::Counter* received[2];  // upstream, downstream
    prometheus::Counter* sent[2];
    prometheus::Gauge* open;
    prometheus::Counter* accepted;
  };
  const Series& series() {
    if (!series_) {
      const auto& s = *spec;
      auto labels = [&](const char* dir) {
        return prometheus::Labels{{"direction", dir},
                                  {"listener", s.listen},
                                  {"proxy", s.name},
                                  {"upstream", s.upstream}};
      };
      series_ = Series{
          {&metrics.received.Add(labels("upstream")), &metrics.received.Add(labels("downstream"))},
          {&metrics.sent.Add(labels("upstream")), &metrics.sent.Add(labels("downstream"))},
          &metrics.open.Add({{"proxy", s.name}}),
          &metrics.accepted.Add({{"proxy", s.name}})};
    }
    return *series_;
  }
  std::optional<Series> series_;

  asio::awaitable<void> accept_loop();
  void close_all();
  void apply_toxics(std::shared_ptr<const ToxicSet> set);
};

// A condition variable for coroutines on one thread: wait() suspends until notify(). A
// notify with nobody waiting costs nothing (a toxic change notifies every link's flows).
class Signal {
 public:
  explicit Signal(asio::io_context& ctx) : timer_(ctx) {}
  asio::awaitable<void> wait() {
    waiting_ = true;
    timer_.expires_at(asio::steady_timer::time_point::max());
    co_await timer_.async_wait(use_nothrow);
    waiting_ = false;
  }
  void notify() {
    if (waiting_) timer_.cancel();
  }

 private:
  asio::steady_timer timer_;
  bool waiting_ = false;
};

// One direction of a link: reader -> toxic chain -> write queue -> writer. With no toxic
// and nothing queued, the reader writes each chunk itself (the fast path, no copy).
struct Flow : toxics::Sink {
  // `replies`: the other direction's chunks_read (for toxics that see exchanges).
  Flow(asio::io_context& ctx, tcp::socket& f, tcp::socket& t, toxics::Random& rng,
       const uint64_t* replies)
      : from(f),
        to(t),
        chain(*this, rng, replies),
        writer_wake(ctx),
        reader_wake(ctx),
        stage_timer(ctx) {}

  tcp::socket& from;
  tcp::socket& to;
  prometheus::Counter* received = nullptr;
  prometheus::Counter* sent = nullptr;
  toxics::ToxicChain chain;
  std::deque<Item> queue;  // the chain's output, waiting for the writer
  size_t queued_bytes = 0;
  uint64_t chunks_read = 0;
  toxics::ToxicChain* reply_filter = nullptr;  // the other direction's chain, downstream
  bool writing = false;
  bool no_splice = false;  // no useful pipe could be had: this direction keeps copying
  Signal writer_wake;
  Signal reader_wake;
  asio::steady_timer stage_timer;

  void push(Item item, toxics::Time) override {
    queued_bytes += item.data.size();
    queue.push_back(std::move(item));
    writer_wake.notify();
  }
  // The start of this direction, for toxics of the other one that answer in its place.
  struct Inbound : toxics::Sink {
    Flow* flow;
    explicit Inbound(Flow* f) : flow(f) {}
    void push(Item item, toxics::Time now) override {
      flow->chain.push(std::move(item), now);
      flow->chain_changed();
    }
  } inbound{this};

  size_t held() const { return queued_bytes + chain.held_bytes(); }
  bool fast_path() const {
    return chain.empty() && queue.empty() && !writing &&
           (reply_filter == nullptr || !reply_filter->filters_replies());
  }
  // An item read here: through the other direction's protocol toxics that read replies,
  // if any, then into this direction's toxics.
  void take(Item item, toxics::Time now) {
    if (reply_filter != nullptr && reply_filter->filters_replies()) {
      reply_filter->filter_reply(std::move(item), now, inbound);
    } else {
      chain.push(std::move(item), now);
      chain_changed();
    }
  }
  // The chain's next deadline may have changed: re-arm the stage timer, unless it is
  // already set for that deadline (the common case when data joins a queue, and for every
  // idle link when a toxic changes).
  void chain_changed() {
    auto deadline = chain.deadline();
    if (stage_timer.expiry() != (deadline ? *deadline : asio::steady_timer::time_point::max())) {
      stage_timer.cancel();
    }
  }
};

// One client connection and its upstream connection: two one-way flows.
struct Link : std::enable_shared_from_this<Link> {
  Link(std::shared_ptr<WorkerProxy> o, tcp::socket c)
      : owner(std::move(o)),
        client(std::move(c)),
        server(owner->ctx),
        rng(link_seed(*owner->spec)),
        up(owner->ctx, client, server, rng, &down.chunks_read),
        down(owner->ctx, server, client, rng, &up.chunks_read),
        connect_timer(owner->ctx) {
    owner->links.insert(this);
    const auto& s = *owner->spec;
    const auto& series = owner->series();
    up.received = series.received[0];
    up.sent = series.sent[0];
    down.received = series.received[1];
    down.sent = series.sent[1];
    up.chain.set_answers(&down.inbound);
    down.reply_filter = &up.chain;
    for (Flow* f : {&up, &down}) {
      f->chain.on_activate([m = &owner->metrics, name = s.name](const ToxicSpec& t) {
        m->toxic_links.Add({{"proxy", name}, {"type", std::string(t.type->name)}}).Increment();
      });
      // The counter of a toxic and action is looked up (a lock and a hash in the family)
      // once per connection, not once per request.
      f->chain.on_request(
          [m = &owner->metrics, name = s.name,
           seen = std::vector<std::tuple<uint64_t, toxics::RequestFault, prometheus::Counter*>>()](
              const ToxicSpec& t, toxics::RequestFault fault) mutable {
            for (auto& [id, kind, counter] : seen) {
              if (id == t.id && kind == fault) {
                counter->Increment();
                return;
              }
            }
            auto& counter = m->toxic_requests.Add(
                {{"proxy", name},
                 {"type", std::string(t.type->name)},
                 {"action", fault == toxics::RequestFault::kFailed ? "failed" : "delayed"}});
            seen.emplace_back(t.id, fault, &counter);
            counter.Increment();
          });
    }
    open_gauge = series.open;
    open_gauge->Increment();
    g_live_links.fetch_add(1, std::memory_order_relaxed);
    series.accepted->Increment();
  }
  ~Link() {
    // Every coroutine has finished, so nothing is pending on the sockets. An explicit
    // close() keeps SO_LINGER 0 in force (Asio's destructor would turn it off, making the
    // RST a FIN).
    asio::error_code ignored;
    client.close(ignored);
    server.close(ignored);
    release();
    owner->links.erase(this);
    open_gauge->Decrement();
    g_live_links.fetch_sub(1, std::memory_order_relaxed);
  }

  std::shared_ptr<WorkerProxy> owner;
  tcp::socket client;
  tcp::socket server;
  toxics::Random rng;
  Flow up;    // client -> server
  Flow down;  // server -> client
  prometheus::Gauge* open_gauge = nullptr;
  bool closed = false;
  bool linger_reset = false;  // SO_LINGER 0 set at connect: closes are RSTs
  std::string peer;
  // While the connection toxics act (before the dial): a toxic change or a freed place
  // cancels the timer, which wakes the connection to look again.
  bool connecting = false;
  bool admitted = false;  // counted in owner->spec->admitted
  asio::steady_timer connect_timer;

  asio::awaitable<void> run();
  asio::awaitable<bool> connection_faults();
  asio::awaitable<void> hold(uint64_t id, toxics::Time accepted_at);
  asio::awaitable<bool> admit(uint64_t id);
  bool try_admit(int64_t limit);
  void release();
  void count_toxic(const toxics::ToxicType& type);
  void reset();
  asio::awaitable<bool> dial();
  asio::awaitable<void> read_loop(Flow& f);
  asio::awaitable<bool> splice_loop(Flow& f);
  asio::awaitable<void> write_loop(Flow& f);
  asio::awaitable<void> timer_loop(Flow& f);

  void apply(const ToxicSet& set) {
    auto now = toxics::Clock::now();
    up.chain.apply(set.chain[0], now, up.chunks_read > 0);
    down.chain.apply(set.chain[1], now, down.chunks_read > 0);
    up.chain_changed();
    down.chain_changed();
    up.reader_wake.notify();
    down.reader_wake.notify();
  }

  // Ends both directions: both sockets are shut down completely (not half-closed), which
  // is Toxiproxy's behaviour. The descriptors are closed when the Link is destroyed, after
  // its coroutines (and so their pending operations) have finished. With SO_LINGER 0 the
  // sockets are not shut down (that would send a FIN); the close sends the RST.
  void close() {
    if (closed) return;
    closed = true;
    for (auto* s : {&client, &server}) {
      asio::error_code ignored;
      if (!linger_reset) s->shutdown(tcp::socket::shutdown_both, ignored);
      s->cancel(ignored);
    }
    for (Flow* f : {&up, &down}) {
      f->writer_wake.notify();
      f->reader_wake.notify();
      f->stage_timer.cancel();
    }
    connect_timer.cancel();
    release();
  }
};

void Link::count_toxic(const toxics::ToxicType& type) {
  owner->metrics.toxic_links.Add({{"proxy", owner->spec->name}, {"type", std::string(type.name)}})
      .Increment();
}

// Ends the connection with an RST: SO_LINGER 0, then the close.
void Link::reset() {
  linger_reset = true;
  asio::error_code ignored;
  client.set_option(asio::socket_base::linger(true, 0), ignored);
  close();
}

// Connection toxics, in the order they were added, before the upstream is dialled. Each
// draws its toxicity once. Returns false when the connection ends here.
asio::awaitable<bool> Link::connection_faults() {
  auto self = shared_from_this();
  const auto accepted_at = toxics::Clock::now();
  std::vector<uint64_t> seen;
  connecting = true;
  bool go_on = true;
  while (go_on && !closed) {
    // The set may change while a toxic holds the connection: look it up afresh each time.
    const ToxicSpec* next = nullptr;
    for (const auto& t : owner->toxics->connect) {
      if (std::find(seen.begin(), seen.end(), t.id) == seen.end()) {
        next = &t;
        break;
      }
    }
    if (next == nullptr) break;
    seen.push_back(next->id);
    if (toxics::uniform01(rng) >= static_cast<double>(next->toxicity)) continue;
    const uint64_t id = next->id;
    const toxics::ToxicType& type = *next->type;
    switch (type.connection) {
      case toxics::ConnectionFault::kRefuse:
        count_toxic(type);
        reset();
        go_on = false;
        break;
      case toxics::ConnectionFault::kUpstreamRefuse: {
        count_toxic(type);
        const auto& s = *owner->spec;
        log::error()
            .str("name", s.name)
            .str("listen", s.listen)
            .str("upstream", s.upstream)
            .str("error", "dial tcp " + s.upstream + ": connect: connection refused (" +
                              std::string(type.name) + " toxic)")
            .str("client", peer)
            .msg("Unable to open connection to upstream");
        close();  // an orderly close with no data, as after a refused dial
        go_on = false;
        break;
      }
      case toxics::ConnectionFault::kAcceptDelay:
        count_toxic(type);
        co_await hold(id, accepted_at);
        break;
      case toxics::ConnectionFault::kMaxConnections:
        go_on = co_await admit(id);
        break;
      case toxics::ConnectionFault::kNone:
        break;
    }
  }
  connecting = false;
  co_return go_on && !closed;
}

// accept_delay: waits until `delay` ms after the accept; a changed delay counts from the
// accept as well, a removed toxic ends the wait at once.
asio::awaitable<void> Link::hold(uint64_t id, toxics::Time accepted_at) {
  while (!closed) {
    const ToxicSpec* t = owner->toxics->find_connect(id);
    if (t == nullptr) break;
    auto deadline = accepted_at + toxics::millis(t->attributes[0]);
    if (toxics::Clock::now() >= deadline) break;
    connect_timer.expires_at(deadline);
    co_await connect_timer.async_wait(use_nothrow);
  }
}

bool Link::try_admit(int64_t limit) {
  auto& count = owner->spec->admitted;
  int64_t now = count.load();
  while (now < limit) {
    if (count.compare_exchange_weak(now, now + 1)) {
      admitted = true;
      return true;
    }
  }
  return false;
}

// max_connections: true once the connection has a place under the limit. Without a free
// place it is reset, or with `queue` it waits until a connection of the proxy ends (on
// any worker), the limit rises or the toxic goes.
asio::awaitable<bool> Link::admit(uint64_t id) {
  auto self = shared_from_this();
  if (admitted) co_return true;  // a second max_connections toxic
  const LinkSpec& spec = *owner->spec;
  bool counted = false;
  auto leave_queue = [&] {
    std::lock_guard<std::mutex> lock(spec.waiters_mutex);
    auto& w = spec.waiters;
    w.erase(std::remove_if(w.begin(), w.end(),
                           [&](const auto& e) {
                             auto l = e.second.lock();
                             return !l || l.get() == this;
                           }),
            w.end());
    spec.waiting.store(w.size());
  };
  while (!closed) {
    const ToxicSpec* t = owner->toxics->find_connect(id);
    if (t == nullptr) co_return true;
    const int64_t limit = t->attributes[0];
    const bool queue = t->attributes[1] != 0;
    if (try_admit(limit)) co_return true;
    if (!counted) {
      count_toxic(*t->type);
      counted = true;
    }
    if (!queue) {
      reset();
      co_return false;
    }
    {
      std::lock_guard<std::mutex> lock(spec.waiters_mutex);
      spec.waiters.emplace_back(&owner->ctx, weak_from_this());
      spec.waiting.store(spec.waiters.size());
    }
    // A place freed between the first look and joining the queue is not missed.
    if (try_admit(limit)) {
      leave_queue();
      co_return true;
    }
    connect_timer.expires_at(asio::steady_timer::time_point::max());
    co_await connect_timer.async_wait(use_nothrow);
    leave_queue();
  }
  co_return false;
}

// Gives the connection's place back and wakes the first connection waiting for one.
void Link::release() {
  if (!admitted) return;
  admitted = false;
  const LinkSpec& spec = *owner->spec;
  spec.admitted.fetch_sub(1);
  std::pair<asio::io_context*, std::weak_ptr<Link>> first;
  {
    if (spec.waiting.load() == 0) return;
    std::lock_guard<std::mutex> lock(spec.waiters_mutex);
    if (spec.waiters.empty()) return;
    first = std::move(spec.waiters.front());
    spec.waiters.pop_front();
    spec.waiting.store(spec.waiters.size());
  }
  asio::post(*first.first, [w = std::move(first.second)] {
    if (auto l = w.lock()) l->connect_timer.cancel();
  });
}

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
  if (!owner->toxics->connect.empty() && !co_await connection_faults()) co_return;
  // Every connection past the connection toxics counts for max_connections.
  if (!admitted) {
    admitted = true;
    owner->spec->admitted.fetch_add(1);
  }
  if (!co_await dial()) {
    // The client sees an orderly close with no data.
    owner->metrics.dial_failures.Add({{"proxy", s.name}}).Increment();
    close();
    co_return;
  }
  if (closed) co_return;
  if (owner->toxics->has_reset_peer()) {
    // A reset_peer toxic present at connect time makes every close of this connection
    // an RST, as in Toxiproxy.
    linger_reset = true;
    client.set_option(asio::socket_base::linger(true, 0), ec);
    server.set_option(asio::socket_base::linger(true, 0), ec);
  }
  apply(*owner->toxics);
  for (Flow* f : {&up, &down}) {
    asio::co_spawn(owner->ctx, read_loop(*f), asio::detached);
    asio::co_spawn(owner->ctx, write_loop(*f), asio::detached);
    asio::co_spawn(owner->ctx, timer_loop(*f), asio::detached);
  }
}

asio::awaitable<void> Link::read_loop(Flow& f) {
  auto self = shared_from_this();
  std::array<char, kChunkSize> buf;
  while (!closed) {
    if (f.held() >= kMaxQueuedBytes) {
      co_await f.reader_wake.wait();  // backpressure: the writer or a toxic frees space
      continue;
    }
    auto [ec, n] = co_await f.from.async_read_some(asio::buffer(buf), use_nothrow);
    if (closed) break;
    auto now = toxics::Clock::now();
    if (ec) {
      // End of stream (or a read error): it flows through the toxics like data.
      f.take(Item{ItemKind::kEnd, {}}, now);
      break;
    }
    f.received->Increment(static_cast<double>(n));
    ++f.chunks_read;
    if (f.fast_path()) {
      f.writing = true;
      auto [wec, wn] = co_await asio::async_write(f.to, asio::buffer(buf.data(), n), use_nothrow);
      f.writing = false;
      if (wec) {
        close();
        break;
      }
      f.sent->Increment(static_cast<double>(wn));
      if (!f.queue.empty()) f.writer_wake.notify();
      // A full buffer: a bulk stream. What follows moves inside the kernel while the fast
      // path holds.
      if (n == buf.size() && !closed && !f.no_splice && f.fast_path() && !co_await splice_loop(f)) {
        break;
      }
    } else {
      f.take(Item{ItemKind::kData, std::string(buf.data(), n)}, now);
    }
  }
}

// The fast path of a bulk stream: bytes go socket -> pipe -> socket with splice(2), never
// through user space. Runs while the direction has no toxic and nothing queued; the pipe is
// empty whenever it returns, so reading goes on exactly where it stopped. A wait for
// readiness always follows an EAGAIN at once (nothing runs in between), so with edge-
// triggered epoll no readiness is missed. Returns false when the stream ended here (its
// end taken, or the link closed).
asio::awaitable<bool> Link::splice_loop(Flow& f) {
  Pipe pipe;
  if (!pipe.open()) {
    f.no_splice = true;  // no (useful) pipe to spare: keep copying
    co_return true;
  }
  asio::error_code ec;
  f.from.non_blocking(true, ec);
  if (!ec) f.to.non_blocking(true, ec);
  if (ec) co_return true;
  const int in = f.from.native_handle(), out = f.to.native_handle();
  constexpr unsigned kFlags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
  while (!closed && f.fast_path()) {
    ssize_t n = ::splice(in, nullptr, pipe.w, nullptr, pipe.capacity, kFlags);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      auto [wec] = co_await f.from.async_wait(tcp::socket::wait_read, use_nothrow);
      if (wec) break;
      continue;
    }
    if (closed) co_return false;
    auto now = toxics::Clock::now();
    if (n <= 0) {
      // End of stream (or a read error): through the (empty) chain, as the read path does.
      f.take(Item{ItemKind::kEnd, {}}, now);
      co_return false;
    }
    f.received->Increment(static_cast<double>(n));
    ++f.chunks_read;
    f.writing = true;
    size_t left = static_cast<size_t>(n);
    while (left > 0 && !closed) {
      ssize_t m = ::splice(pipe.r, nullptr, out, nullptr, left, kFlags);
      if (m > 0) {
        left -= static_cast<size_t>(m);
        f.sent->Increment(static_cast<double>(m));
      } else if (m < 0 && errno == EAGAIN) {
        auto [wec] = co_await f.to.async_wait(tcp::socket::wait_write, use_nothrow);
        if (wec) break;
      } else if (m < 0 && errno == EINTR) {
        continue;
      } else {
        break;
      }
    }
    f.writing = false;
    if (left > 0) {
      close();  // the destination failed (or the link closed) with bytes in the pipe
      co_return false;
    }
    if (!f.queue.empty()) f.writer_wake.notify();
  }
  // A toxic arrived (the read path takes over), or the wait failed (its read reports why).
  co_return !closed;
}

asio::awaitable<void> Link::write_loop(Flow& f) {
  auto self = shared_from_this();
  while (!closed) {
    if (f.queue.empty() || f.writing) {
      co_await f.writer_wake.wait();
      continue;
    }
    Item item = std::move(f.queue.front());
    f.queue.pop_front();
    f.queued_bytes -= item.data.size();
    if (item.kind != ItemKind::kData) {
      close();  // the end of the stream, or a toxic closing the connection
      break;
    }
    f.writing = true;
    auto [ec, n] = co_await asio::async_write(f.to, asio::buffer(item.data), use_nothrow);
    f.writing = false;
    if (ec) {
      close();
      break;
    }
    f.sent->Increment(static_cast<double>(n));
    f.reader_wake.notify();
  }
}

asio::awaitable<void> Link::timer_loop(Flow& f) {
  auto self = shared_from_this();
  while (!closed) {
    auto deadline = f.chain.deadline();
    f.stage_timer.expires_at(deadline ? *deadline : asio::steady_timer::time_point::max());
    co_await f.stage_timer.async_wait(use_nothrow);
    if (closed) break;
    f.chain.on_timer(toxics::Clock::now());
    f.reader_wake.notify();
  }
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

void WorkerProxy::apply_toxics(std::shared_ptr<const ToxicSet> set) {
  toxics = std::move(set);
  std::vector<Link*> open(links.begin(), links.end());
  for (Link* l : open) {
    // A link still dialling picks the set up when it starts; one held by a connection
    // toxic looks at the new set.
    if (!l->closed && l->server.is_open()) l->apply(*toxics);
    if (!l->closed && l->connecting) l->connect_timer.cancel();
  }
}

// The running state of one proxy, held by the API's Proxy object.
struct Running : proxy::RunningProxy {
  int fd = -1;
  std::vector<std::shared_ptr<WorkerProxy>> workers;
};

std::shared_ptr<const ToxicSet> toxic_set(const proxy::Proxy& p) {
  auto set = std::make_shared<ToxicSet>();
  for (int d = 0; d < 2; ++d) {
    for (const auto& t : p.toxics[d]) {
      set->chain[d].push_back(
          ToxicSpec{t.id, t.version, t.type, t.toxicity, t.attributes, t.since, t.texts});
      if (t.type->connection != toxics::ConnectionFault::kNone) {
        set->connect.push_back(set->chain[d].back());
      }
    }
  }
  return set;
}

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
              .Register(registry)),
      toxics(prometheus::BuildGauge()
                 .Name("faultline_proxy_toxics")
                 .Help("Toxics in effect on a running proxy, by type and stream.")
                 .Register(registry)),
      toxic_links(prometheus::BuildCounter()
                      .Name("faultline_proxy_toxic_connections_total")
                      .Help("Connection directions on which a toxic became active (its "
                            "toxicity draw succeeded).")
                      .Register(registry)),
      toxic_requests(prometheus::BuildCounter()
                         .Name("faultline_proxy_toxic_requests_total")
                         .Help("Requests a protocol toxic (redis, postgres) failed or delayed, "
                               "by action.")
                         .Register(registry)) {}

void TcpDataPlane::publish_toxics(const proxy::Proxy& proxy, bool running) {
  for (const auto& type : toxics::all_types()) {
    for (int d = 0; d < 2; ++d) {
      size_t n = 0;
      if (running) {
        for (const auto& t : proxy.toxics[d]) n += t.type->name == type.name;
      }
      prometheus::Labels labels{{"proxy", proxy.name},
                                {"type", std::string(type.name)},
                                {"stream", d == 0 ? "upstream" : "downstream"}};
      // Only series that ever had a toxic are created.
      if (n > 0 || metrics_.toxics.Has(labels))
        metrics_.toxics.Add(labels).Set(static_cast<double>(n));
    }
  }
}

int64_t live_links() {
  return g_live_links.load(std::memory_order_relaxed);
}

TcpDataPlane::TcpDataPlane(WorkerPool& pool, ProxyMetrics& metrics, uint64_t seed)
    : pool_(pool), metrics_(metrics), seed_(seed) {}

bool TcpDataPlane::start(proxy::Proxy& proxy, std::string& err) {
  auto addr = resolve_listen(proxy.listen, err);
  if (!addr) {
    err = "listen tcp: " + err;
    return false;
  }
  int fd = bind_listener(*addr, err);
  if (fd < 0) return false;
  proxy.listen = local_address(fd);
  auto spec = std::make_shared<LinkSpec>();
  spec->name = proxy.name;
  spec->listen = proxy.listen;
  spec->upstream = proxy.upstream;
  spec->seed = seed_ ^ std::hash<std::string>{}(proxy.name);
  auto set = toxic_set(proxy);
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
    auto wp = std::make_shared<WorkerProxy>(pool_.context(i), spec, metrics_, set);
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
  publish_toxics(proxy, true);
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
  publish_toxics(proxy, false);
}

void TcpDataPlane::toxics_changed(proxy::Proxy& proxy) {
  auto* running = dynamic_cast<Running*>(proxy.running.get());
  if (running == nullptr) return;  // a stopped proxy picks its toxics up when it starts
  publish_toxics(proxy, true);
  auto set = toxic_set(proxy);
  // Post-and-acknowledge: the API call returns once every live link has the new chain.
  pool_.run_on_all([&](size_t i) {
    if (running->workers[i]) running->workers[i]->apply_toxics(set);
  });
}

}  // namespace faultline::FAULTLINE_BACKEND_NS

// postgres: Faultline's own, a toxic that reads the PostgreSQL protocol its clients send.
// A query whose SQL text matches `query` (a glob pattern compared without case; empty
// matches every query) is, with the toxic's toxicity drawn per query:
//   - failed with SQLSTATE `code` and `message`: the server itself raises the error in
//     the query's place (a simple query becomes a DO block that raises it), so the reply
//     has the server's framing and the session's transaction state is exactly what a real
//     error leaves (a transaction block is aborted until ROLLBACK). 57P01 terminates the
//     backend as an administrator would. Codes a server gives when a connection starts
//     (53300 too many connections, 57P03 starting up, 28P01, 28000, 3D000) answer the
//     startup message with a FATAL error instead;
//   - and/or held for `delay` ms, with everything the client sends after it.
// In the extended protocol an Execute is matched on the SQL its statement was parsed from;
// a failed one becomes a Sync and the failing query, the client's messages up to its own
// Sync are dropped (the server ignores them after an error), and the stage reads the
// server's replies to drop the ReadyForQuery of the Sync it put in. Every other byte
// passes unchanged.
#include <fnmatch.h>

#include <map>

#include "toxics/outbox.h"

namespace faultline::toxics {

namespace {

constexpr int32_t kProtocol3 = 196608;  // 3.0
constexpr int32_t kCancelRequest = 80877102;
constexpr int32_t kSslRequest = 80877103;
constexpr int32_t kGssEncRequest = 80877104;
constexpr size_t kMaxStartup = 10000;              // the server's own limit
constexpr int64_t kMaxMessage = int64_t{1} << 30;  // 1 GiB, the protocol's bound

int32_t read_int32(std::string_view s, size_t at) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(s[at + i])); };
  return static_cast<int32_t>((b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3));
}

void put_int32(std::string& out, int32_t v) {
  auto u = static_cast<uint32_t>(v);
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((u >> shift) & 0xff);
}

// A typed message: the type byte, its length (itself included) and the body.
std::string message(char type, std::string_view body) {
  std::string out(1, type);
  put_int32(out, static_cast<int32_t>(body.size() + 4));
  out.append(body);
  return out;
}

// The NUL-terminated string at `at` in `body` (up to the end when unterminated); `at`
// moves past it.
std::string_view cstring(std::string_view body, size_t& at) {
  if (at >= body.size()) return {};
  size_t end = body.find('\0', at);
  if (end == std::string_view::npos) end = body.size();
  std::string_view s = body.substr(at, end - at);
  at = end + 1;
  return s;
}

bool is_frontend_type(char t) {
  static constexpr std::string_view kTypes = "BCdcfDEHFPpQSX";
  return kTypes.find(t) != std::string_view::npos;
}

bool startup_code(std::string_view code) {
  return code == "53300" || code == "57P03" || code == "28P01" || code == "28000" ||
         code == "3D000";
}

// The server's wording for the usual codes; others get a plain one naming the code.
std::string default_message(std::string_view code, const std::string& user,
                            const std::string& database) {
  if (code == "40001") return "could not serialize access due to concurrent update";
  if (code == "40P01") return "deadlock detected";
  if (code == "57014") return "canceling statement due to statement timeout";
  if (code == "53200") return "out of memory";
  if (code == "53300") return "sorry, too many clients already";
  if (code == "57P03") return "the database system is starting up";
  if (code == "28P01") return "password authentication failed for user \"" + user + "\"";
  if (code == "28000") return "role \"" + user + "\" does not exist";
  if (code == "3D000") return "database \"" + database + "\" does not exist";
  return "error injected by faultline (SQLSTATE " + std::string(code) + ")";
}

constexpr std::string_view kDollarTag = "$faultline$";

class PostgresStage : public MessageStage {
 public:
  void configure_texts(const std::vector<std::string>& t) override {
    query_ = t[0];
    code_ = t[1];
    message_ = t[2];
  }
  void configure(const std::vector<int64_t>& a, Time) override { delay_ = millis(a[3]); }
  void join_midstream() override {
    phase_ = Phase::kTyped;
    syncing_ = true;
  }

  void on_item(Item item, Time now) override {
    if (item.kind != ItemKind::kData) {
      release_head(now);  // a message cut short goes on as it came
      out_.put(std::move(item), now, now);
    } else if (phase_ == Phase::kOpaque || (syncing_ && !starts_messages(item.data))) {
      // (The replies may have turned the stream opaque while a message was being read.)
      release_head(now);
      out_.put(std::move(item.data), now, now);
    } else if (phase_ == Phase::kRefused) {
      // The client was answered and the connection ends: nothing reaches the server.
    } else {
      syncing_ = false;
      read(item.data, now);
    }
    on_timer(now);
  }

  void flush(Time now) override {
    // Removed. In the middle of a failed batch, the rest of it and the client's Sync now
    // reach the server, whose ReadyForQuery answers the client: the failing query's is
    // dropped instead. After the batch, a ReadyForQuery held for the client's Sync goes to
    // it. Replies to drop are still read (settled()).
    if (skipping_) {
      if (held_ready_.erase(hold_) == 0) drops_[hold_] = false;
      skipping_ = false;
    }
    for (auto& [number, ready] : held_ready_) answer(Item{ItemKind::kData, std::move(ready)}, now);
    held_ready_.clear();
    hold_ = 0;
    release_all(now);
  }

 private:
  enum class Phase {
    kStartup,  // untyped messages: startup, SSL/GSS encryption and cancel requests
    kTyped,    // type byte, length, body
    kOpaque,   // encrypted, cancelled or unreadable: bytes pass untouched
    kRefused,  // answered at startup; the connection is closing
  };

  // A chunk that reads as whole frontend messages from its first byte (a stage that
  // joined a stream under way starts at one: clients write whole messages).
  static bool starts_messages(std::string_view data) {
    size_t at = 0;
    while (at < data.size()) {
      if (!is_frontend_type(data[at])) return false;
      if (data.size() - at < 5) return true;
      int32_t len = read_int32(data, at + 1);
      if (len < 4) return false;
      at += 1 + static_cast<size_t>(len);
    }
    return true;
  }

  void read(std::string_view data, Time now) {
    size_t pos = 0;
    while (pos < data.size() && (phase_ == Phase::kStartup || phase_ == Phase::kTyped)) {
      if (streaming_left_ > 0) {
        size_t n = std::min<size_t>(data.size() - pos, static_cast<size_t>(streaming_left_));
        if (!skipping_) out_.add(data.substr(pos, n));
        pos += n;
        streaming_left_ -= static_cast<int64_t>(n);
        continue;
      }
      if (phase_ == Phase::kStartup) {
        pos += take_startup(data.substr(pos), now);
      } else {
        pos += take_typed(data.substr(pos), now);
      }
    }
    if (phase_ == Phase::kRefused) return;  // nothing more reaches the server
    if (phase_ == Phase::kOpaque) {
      // Unreadable from here on: what was being read goes on as it came, with the rest.
      head_.append(data.substr(pos));
      release_head(now);
    }
  }

  // Adds bytes to head_ until it holds `want` bytes; how many were used.
  size_t fill(std::string_view data, size_t want) {
    size_t n = head_.size() < want ? std::min(want - head_.size(), data.size()) : 0;
    head_.append(data.substr(0, n));
    return n;
  }

  size_t take_startup(std::string_view data, Time now) {
    size_t used = fill(data, 8);
    if (head_.size() < 8) return used;
    int32_t len = read_int32(head_, 0);
    int32_t code = read_int32(head_, 4);
    if (after_encryption_request_ && head_[0] == 0x16) {  // a TLS handshake: opaque
      return pass_opaque(used);
    }
    if (len < 8 || static_cast<size_t>(len) > kMaxStartup) return pass_opaque(used);
    used += fill(data.substr(used), static_cast<size_t>(len));
    if (head_.size() < static_cast<size_t>(len)) return used;
    std::string msg = std::move(head_);
    head_.clear();
    if (code == kSslRequest || code == kGssEncRequest) {
      // The server answers with one byte; then a handshake or the startup message follows.
      after_encryption_request_ = true;
      ++single_byte_replies_;
      out_.put(std::move(msg), now, now);
      return used;
    }
    if (code == kCancelRequest || (code >> 16) != (kProtocol3 >> 16)) {
      out_.put(std::move(msg), now, now);
      phase_ = Phase::kOpaque;
      return used;
    }
    read_startup_parameters(msg);
    phase_ = Phase::kTyped;
    if (startup_code(code_) && uniform01(rng()) < toxicity()) {
      refuse(now);
      return used;
    }
    ++expected_;  // once authenticated, the server says it is ready
    out_.put(std::move(msg), now, now);
    return used;
  }

  size_t pass_opaque(size_t used) {
    phase_ = Phase::kOpaque;
    return used;  // read() sends head_ on as it came, with the rest
  }

  void read_startup_parameters(std::string_view msg) {
    size_t at = 8;
    while (at < msg.size()) {
      std::string_view name = cstring(msg, at);
      if (name.empty()) break;
      std::string_view value = cstring(msg, at);
      if (name == "user") user_ = value;
      if (name == "database") database_ = value;
    }
    if (database_.empty()) database_ = user_;
  }

  // Answers the startup message as a server that will not take the connection.
  void refuse(Time now) {
    phase_ = Phase::kRefused;
    counted(RequestFault::kFailed);
    std::string body;
    for (auto [field, value] :
         {std::pair<char, std::string>{'S', "FATAL"},
          {'V', "FATAL"},
          {'C', code_},
          {'M', message_.empty() ? default_message(code_, user_, database_) : message_}}) {
      body += field;
      body += value;
      body += '\0';
    }
    body += '\0';
    answer(Item{ItemKind::kData, message('E', body)}, now);
    answer(Item{ItemKind::kEnd, {}}, now);
  }

  size_t take_typed(std::string_view data, Time now) {
    size_t used = fill(data, 5);
    if (head_.size() < 5) return used;
    char type = head_[0];
    int64_t len = read_int32(head_, 1);
    if (len < 4 || len > kMaxMessage) {
      phase_ = Phase::kOpaque;
      return used;
    }
    if (skipping_ && type != 'X') {
      // After a failed Execute the server would ignore everything up to the Sync.
      if (type == 'S') end_skipping(now);
      head_.clear();
      streaming_left_ = len - 4;
      return used;
    }
    if (type != 'Q' && type != 'P' && type != 'B' && type != 'E' && type != 'C') {
      // Nothing to look at inside: on its way at once, the body streamed behind it.
      if (type == 'S' || type == 'F') ++expected_;  // each is answered by one ReadyForQuery
      out_.begin(std::move(head_), now, now);
      head_.clear();
      streaming_left_ = len - 4;
      return used;
    }
    used += fill(data.substr(used), static_cast<size_t>(len) + 1);
    if (head_.size() < static_cast<size_t>(len) + 1) return used;
    std::string msg = std::move(head_);
    head_.clear();
    on_message(type, std::move(msg), now);
    return used;
  }

  void on_message(char type, std::string msg, Time now) {
    std::string_view body = std::string_view(msg).substr(5);
    size_t at = 0;
    if (type == 'P') {
      std::string name(cstring(body, at));
      statements_[name] = std::string(cstring(body, at));
    } else if (type == 'B') {
      std::string portal(cstring(body, at));
      auto it = statements_.find(std::string(cstring(body, at)));
      portals_[portal] = it != statements_.end() ? it->second : std::string();
    } else if (type == 'C' && body.size() > 1) {
      at = 1;
      std::string name(cstring(body, at));
      (body[0] == 'S' ? statements_ : portals_).erase(name);
    } else if (type == 'Q' || type == 'E') {
      std::string sql(type == 'Q' ? cstring(body, at) : std::string_view());
      if (type == 'E') {
        auto it = portals_.find(std::string(cstring(body, at)));
        if (it != portals_.end()) sql = it->second;
      }
      if (type == 'Q') ++expected_;
      if (matches(sql) && uniform01(rng()) < toxicity()) {
        bool fail = !code_.empty() && !startup_code(code_);
        if (fail) counted(RequestFault::kFailed);
        if (delay_.count() > 0) counted(RequestFault::kDelayed);
        if (fail && type == 'Q') msg = failing_query();
        if (fail && type == 'E') msg = failing_execute();
        out_.put(std::move(msg), now + delay_, now);
        return;
      }
    }
    out_.put(std::move(msg), now, now);
  }

  // In place of an Execute: a Sync, which ends what came before it in the batch (its
  // ReadyForQuery is not the client's, and is dropped), then the failing query, whose
  // ReadyForQuery answers the client's own Sync. What the client sends up to that Sync
  // is dropped, as the server drops it after an error.
  std::string failing_execute() {
    drops_[++expected_] = true;
    hold_ = ++expected_;
    skipping_ = true;
    return message('S', "") + failing_query();
  }

  // The client's Sync that ends a failed batch: its ReadyForQuery may go to it now.
  void end_skipping(Time now) {
    skipping_ = false;
    auto it = held_ready_.find(hold_);
    if (it != held_ready_.end()) {
      answer(Item{ItemKind::kData, std::move(it->second)}, now);
      held_ready_.erase(it);
    }
  }

  bool filters_replies() const override { return true; }
  bool settled() const override { return drops_.empty() && !discarding_; }

  void on_reply(Item item, Time, std::vector<Item>& out) override {
    if (item.kind != ItemKind::kData || phase_ == Phase::kOpaque) {
      rout_ += rhead_;  // a reply cut short goes on as it came
      rhead_.clear();
      flush_reply(out);
      out.push_back(std::move(item));
      return;
    }
    std::string_view data = item.data;
    size_t pos = 0;
    while (pos < data.size()) {
      if (phase_ == Phase::kOpaque) {
        rout_.append(data.substr(pos));
        break;
      }
      if (single_byte_replies_ > 0 && rhead_.empty() && rleft_ == 0) {
        // The answer to an SSL or GSS request: one byte, 'S' or 'G' for yes.
        char c = data[pos++];
        rout_ += c;
        --single_byte_replies_;
        if (c == 'S' || c == 'G') phase_ = Phase::kOpaque;
        continue;
      }
      if (rleft_ > 0) {
        size_t n = std::min<size_t>(data.size() - pos, static_cast<size_t>(rleft_));
        if (rtype_ == 'Z') {
          rhead_.append(data.substr(pos, n));
        } else if (!discarding_) {
          rout_.append(data.substr(pos, n));
        }
        pos += n;
        rleft_ -= static_cast<int64_t>(n);
        if (rleft_ == 0 && rtype_ == 'Z') ready_for_query();
        continue;
      }
      size_t n = std::min(data.size() - pos, size_t{5} - rhead_.size());
      rhead_.append(data.substr(pos, n));
      pos += n;
      if (rhead_.size() < 5) break;
      rtype_ = rhead_[0];
      int64_t len = read_int32(rhead_, 1);
      if (len < 4 || len > kMaxMessage) {  // not the protocol: everything passes from here
        phase_ = Phase::kOpaque;
        rout_ += rhead_;
        rhead_.clear();
        continue;
      }
      rleft_ = len - 4;
      if (rtype_ == 'E') batch_failed_ = true;
      if (rtype_ != 'Z') {
        if (!discarding_) rout_ += rhead_;
        rhead_.clear();
      } else if (rleft_ == 0) {
        ready_for_query();
      }
    }
    flush_reply(out);
  }

  // A whole ReadyForQuery from the server, in rhead_.
  void ready_for_query() {
    std::string msg = std::move(rhead_);
    rhead_.clear();
    // One for a request sent before the stage joined the connection is not counted.
    if (seen_ < expected_) ++seen_;
    bool failed = batch_failed_;
    batch_failed_ = false;
    discarding_ = false;
    if (auto drop = drops_.find(seen_); drop != drops_.end()) {
      // It answers the Sync put in for a failed Execute. When the server had already
      // failed that batch (a bad Bind, an aborted transaction), the client has its one
      // error: what the failing query brings besides its ReadyForQuery is dropped.
      discarding_ = drop->second && failed;
      drops_.erase(drop);
      return;
    }
    if (seen_ == hold_ && skipping_) {
      held_ready_[seen_] = std::move(msg);  // the client has not sent its Sync yet
      return;
    }
    rout_ += msg;
  }

  void flush_reply(std::vector<Item>& out) {
    if (!rout_.empty()) out.push_back(Item{ItemKind::kData, std::move(rout_)});
    rout_.clear();
  }

  bool matches(const std::string& sql) const {
    return query_.empty() || fnmatch(query_.c_str(), sql.c_str(), FNM_CASEFOLD) == 0;
  }

  // A simple query that makes the server raise the chosen error.
  std::string failing_query() const {
    std::string sql;
    if (code_ == "57P01") {
      sql = "SELECT pg_terminate_backend(pg_backend_pid())";
    } else {
      std::string text = message_.empty() ? default_message(code_, user_, database_) : message_;
      std::string quoted;
      for (char c : text) quoted += c == '\'' ? std::string("''") : std::string(1, c);
      sql = "DO " + std::string(kDollarTag) + " BEGIN RAISE EXCEPTION USING ERRCODE = '" + code_ +
            "', MESSAGE = '" + quoted + "'; END " + std::string(kDollarTag);
    }
    sql += '\0';
    return message('Q', sql);
  }

  std::string query_;
  std::string code_;
  std::string message_;
  Micros delay_{0};

  Phase phase_ = Phase::kStartup;
  int64_t streaming_left_ = 0;  // body bytes of a streamed message still to come
  bool after_encryption_request_ = false;
  bool syncing_ = false;  // joined a stream under way, waiting for a message's start
  std::string user_;
  std::string database_;
  std::map<std::string, std::string> statements_;  // prepared statement -> its SQL
  std::map<std::string, std::string> portals_;     // portal -> its statement's SQL

  // Keeping the replies in step: every Query, Sync and FunctionCall (and the startup) is
  // answered by exactly one ReadyForQuery, numbered from 1 in the order sent.
  uint64_t expected_ = 0;  // ReadyForQuery messages the requests sent so far will bring
  uint64_t seen_ = 0;      // ReadyForQuery messages the server has sent
  // Those to drop: true for one that answers a Sync the toxic put in.
  std::map<uint64_t, bool> drops_;
  uint64_t hold_ = 0;  // the one that answers the client's Sync of a failed batch
  std::map<uint64_t, std::string> held_ready_;  // ... when it came before that Sync
  bool skipping_ = false;                       // dropping the client's messages up to its Sync
  int single_byte_replies_ = 0;                 // SSL/GSS requests the server has yet to answer
  std::string rhead_;  // a reply's header being read, or a whole ReadyForQuery
  std::string rout_;   // reply bytes passed on at the end of the item
  char rtype_ = 0;
  int64_t rleft_ = 0;          // body bytes of the current reply still to come
  bool batch_failed_ = false;  // an ErrorResponse since the last ReadyForQuery
  bool discarding_ = false;    // dropping replies up to the next ReadyForQuery
};

std::string validate(const std::vector<int64_t>& numbers, const std::vector<std::string>& texts) {
  if (numbers[3] < 0) return "delay must not be negative";
  const std::string& code = texts[1];
  bool sqlstate = code.size() == 5;
  for (char c : code) sqlstate = sqlstate && ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'));
  if (!code.empty() && !sqlstate) {
    return "code must be a SQLSTATE of five digits or capital letters (got \"" + code + "\")";
  }
  if (texts[2].find('\0') != std::string::npos || texts[2].find(kDollarTag) != std::string::npos) {
    return "message must not hold a NUL byte or " + std::string(kDollarTag);
  }
  return {};
}

}  // namespace

const ToxicType& postgres_type() {
  static const ToxicType type{
      "postgres",
      "PostgresToxic",
      {{"query", "string"}, {"code", "string"}, {"message", "string"}, {"delay", "int64"}},
      [] { return std::unique_ptr<Stage>(new PostgresStage()); },
      ConnectionFault::kNone,
      "reads the queries clients send",
      true,
      validate};
  return type;
}

}  // namespace faultline::toxics

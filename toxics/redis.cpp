// redis: Faultline's own, a toxic that reads the Redis protocol (RESP) its clients send.
// A command whose name matches `commands` and whose first argument (the key, for most
// commands) matches `keys` is, with the toxic's toxicity drawn per command:
//   - answered with `error` (e.g. "READONLY You can't write against a read only
//     replica."): the command is replaced by an EVAL that makes the server reply with
//     exactly that error, so the reply takes the command's place in the reply stream
//     however many commands the client pipelines, and the server never runs the command;
//   - and/or held for `delay` ms, with everything the client sends after it.
// Every other byte passes unchanged. `commands` is a list of glob patterns separated by
// commas or spaces, compared without case ("SET,H*"); `keys` is one glob pattern, compared
// exactly; either empty matches everything.
#include <fnmatch.h>

#include <charconv>

#include "toxics/outbox.h"

namespace faultline::toxics {

namespace {

// Reads the commands of a client's byte stream as it arrives, without holding them: it
// stops where a command's head (its name and first argument) is known and where the
// command ends. Both multibulk commands (what client libraries send) and inline commands
// (what a person types into a raw connection) are understood.
class CommandReader {
 public:
  enum class Event { kNone, kHead, kEnd, kError };

  // Consumes bytes of `data` from `pos` up to the next event and returns it; kNone when
  // the data ran out first.
  Event next(std::string_view data, size_t& pos) {
    while (pos < data.size()) {
      char c = data[pos];
      switch (state_) {
        case State::kStart:
          name_.clear();
          key_.clear();
          args_ = 0;
          line_.clear();
          ++pos;
          if (c == '\n') return Event::kEnd;  // an empty line, which the server skips
          state_ = c == '*' ? State::kCount : State::kInline;
          if (state_ == State::kInline) line_ += c;
          break;
        case State::kCount:
        case State::kLength: {
          ++pos;
          if (c != '\n') {
            if (line_.size() >= kMaxLine) return Event::kError;
            line_ += c;
            break;
          }
          int64_t n = 0;
          if (!read_number(n)) return Event::kError;
          line_.clear();
          if (state_ == State::kCount) {
            if (n <= 0) {  // an empty or null array: nothing for the server to run
              state_ = State::kStart;
              return Event::kEnd;
            }
            left_ = n;
            state_ = State::kLength;
            break;
          }
          bulk_left_ = n;
          state_ = n > 0 ? State::kBulk : State::kBulkEnd;
          crlf_left_ = 2;
          break;
        }
        case State::kBulk: {
          size_t n = std::min<size_t>(data.size() - pos, static_cast<size_t>(bulk_left_));
          capture(data.substr(pos, n));
          pos += n;
          bulk_left_ -= static_cast<int64_t>(n);
          if (bulk_left_ == 0) {
            state_ = State::kBulkEnd;
            crlf_left_ = 2;
          }
          break;
        }
        case State::kBulkEnd: {
          if (c != (crlf_left_ == 2 ? '\r' : '\n')) return Event::kError;
          ++pos;
          if (--crlf_left_ > 0) break;
          ++args_;
          state_ = --left_ == 0 ? State::kStart : State::kLength;
          if (state_ == State::kStart) return Event::kEnd;
          if (args_ == 2) return Event::kHead;
          break;
        }
        case State::kInline:
          ++pos;
          if (c != '\n') {
            if (line_.size() >= kMaxInline) return Event::kError;
            line_ += c;
            break;
          }
          split_inline();
          state_ = State::kStart;
          return Event::kEnd;
      }
    }
    return Event::kNone;
  }

  const std::string& name() const { return name_; }
  const std::string& key() const { return key_; }
  bool at_start() const { return state_ == State::kStart; }

 private:
  enum class State { kStart, kCount, kLength, kBulk, kBulkEnd, kInline };
  static constexpr size_t kMaxLine = 32;
  static constexpr size_t kMaxInline = 64 * 1024;  // Redis's own limit for inline commands
  static constexpr size_t kMaxName = 64;
  static constexpr size_t kMaxKey = 4096;  // longer keys are matched on this much

  // The line after '*' ("3\r") or an argument's length line ("$5\r").
  bool read_number(int64_t& n) const {
    bool count = state_ == State::kCount;
    size_t from = count ? 0 : 1;
    if (line_.size() < from + 2 || line_.back() != '\r' || (!count && line_[0] != '$')) {
      return false;
    }
    const char* first = line_.data() + from;
    const char* last = line_.data() + line_.size() - 1;
    auto [end, ec] = std::from_chars(first, last, n);
    if (ec != std::errc() || end != last) return false;
    constexpr int64_t kMaxBulk = int64_t{1} << 32;
    return n <= kMaxBulk && (count || n >= 0);
  }

  void capture(std::string_view bytes) {
    if (args_ == 0 && name_.size() < kMaxName) {
      name_.append(bytes.substr(0, kMaxName - name_.size()));
    } else if (args_ == 1 && key_.size() < kMaxKey) {
      key_.append(bytes.substr(0, kMaxKey - key_.size()));
    }
  }

  void split_inline() {
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    size_t i = 0;
    for (std::string* word : {&name_, &key_}) {
      while (i < line_.size() && (line_[i] == ' ' || line_[i] == '\t')) ++i;
      size_t start = i;
      while (i < line_.size() && line_[i] != ' ' && line_[i] != '\t') ++i;
      *word = line_.substr(start, i - start);
    }
  }

  State state_ = State::kStart;
  std::string line_;
  std::string name_;
  std::string key_;
  int64_t left_ = 0;       // arguments still to come
  int64_t bulk_left_ = 0;  // bytes of the current argument still to come
  int crlf_left_ = 0;
  int args_ = 0;  // arguments read so far
};

bool glob_match(const std::string& pattern, const std::string& text, bool fold_case) {
  return fnmatch(pattern.c_str(), text.c_str(), fold_case ? FNM_CASEFOLD : 0) == 0;
}

std::string bulk(std::string_view s) {
  std::string out = "$" + std::to_string(s.size()) + "\r\n";
  out.append(s);
  out += "\r\n";
  return out;
}

class RedisStage : public MessageStage {
 public:
  void configure_texts(const std::vector<std::string>& t) override {
    commands_.clear();
    std::string word;
    for (char c : t[0] + ",") {
      if (c == ',' || c == ' ' || c == '\t') {
        if (!word.empty()) commands_.push_back(word);
        word.clear();
      } else {
        word += c;
      }
    }
    keys_ = t[1];
    std::string_view error = t[2];
    if (!error.empty() && error.front() == '-') error.remove_prefix(1);
    answer_.clear();
    if (!error.empty()) {
      answer_ = "*4\r\n" + bulk("EVAL") + bulk("return redis.error_reply(ARGV[1])") + bulk("0") +
                bulk(error);
    }
  }
  void configure(const std::vector<int64_t>& a, Time) override { delay_ = millis(a[3]); }
  void join_midstream() override { syncing_ = true; }

  void on_item(Item item, Time now) override {
    if (item.kind != ItemKind::kData) {
      release_head(now);  // the stream ends: a command cut short goes on as it came
      out_.put(std::move(item), now, now);
    } else if (broken_ || (syncing_ && !starts_command(item.data))) {
      out_.put(std::move(item.data), now, now);
    } else {
      syncing_ = false;
      read(item.data, now);
    }
    on_timer(now);
  }

  // A command not yet decided, or being answered, goes on unchanged.
  void flush(Time now) override { release_all(now); }

 private:
  enum class Action { kUndecided, kPass, kAnswer };

  // A stage that joined a stream under way waits for a chunk that reads as commands from
  // its first byte: clients write whole commands, so one soon comes.
  static bool starts_command(std::string_view data) {
    if (data.empty() || data[0] != '*') return false;
    CommandReader probe;
    size_t pos = 0;
    while (pos < data.size()) {
      if (probe.next(data, pos) == CommandReader::Event::kError) return false;
    }
    return true;
  }

  void read(std::string_view data, Time now) {
    size_t pos = 0;
    size_t mark = 0;
    while (pos < data.size()) {
      auto event = reader_.next(data, pos);
      route(data.substr(mark, pos - mark));
      mark = pos;
      if (event == CommandReader::Event::kError) {
        // Not RESP after all: everything from here on passes untouched.
        broken_ = true;
        head_.append(data.substr(pos));
        release_head(now);
        return;
      }
      if (event == CommandReader::Event::kHead) decide(now);
      if (event == CommandReader::Event::kEnd) {
        if (action_ == Action::kUndecided) decide(now);
        if (action_ == Action::kAnswer) {
          head_.clear();
          out_.put(answer_, decided_at_ + delay_, now);
        }
        action_ = Action::kUndecided;
      }
    }
    route(data.substr(mark));
  }

  // Bytes of the command being read.
  void route(std::string_view bytes) {
    if (action_ == Action::kPass) {
      out_.add(bytes);
    } else {
      head_.append(bytes);  // undecided, or answered (kept in case the toxic goes)
    }
  }

  void decide(Time now) {
    bool match = !reader_.name().empty() && matches() && uniform01(rng()) < toxicity();
    if (match && delay_.count() > 0) counted(RequestFault::kDelayed);
    if (match && !answer_.empty()) {
      counted(RequestFault::kFailed);
      action_ = Action::kAnswer;
      decided_at_ = now;
      return;
    }
    action_ = Action::kPass;
    out_.begin(std::move(head_), match ? now + delay_ : now, now);
    head_.clear();
  }

  bool matches() const {
    if (!keys_.empty() && !glob_match(keys_, reader_.key(), false)) return false;
    if (commands_.empty()) return true;
    for (const auto& c : commands_) {
      if (glob_match(c, reader_.name(), true)) return true;
    }
    return false;
  }

  std::vector<std::string> commands_;
  std::string keys_;
  std::string answer_;  // the EVAL that makes the server reply with the error; empty: none
  Micros delay_{0};

  CommandReader reader_;
  Action action_ = Action::kUndecided;
  Time decided_at_{};
  bool broken_ = false;   // the stream is not RESP: bytes pass untouched
  bool syncing_ = false;  // joined a stream under way, waiting for a command's start
};

std::string validate(const std::vector<int64_t>& numbers, const std::vector<std::string>& texts) {
  if (numbers[3] < 0) return "delay must not be negative";
  if (texts[2].find_first_of("\r\n") != std::string::npos) return "error must be one line";
  return {};
}

}  // namespace

const ToxicType& redis_type() {
  static const ToxicType type{
      "redis",
      "RedisToxic",
      {{"commands", "string"}, {"keys", "string"}, {"error", "string"}, {"delay", "int64"}},
      [] { return std::unique_ptr<Stage>(new RedisStage()); },
      ConnectionFault::kNone,
      "reads the commands clients send",
      true,
      validate};
  return type;
}

}  // namespace faultline::toxics

#include "proxy/flags.h"

#include <charconv>

namespace faultline::proxy {

std::string usage_text(const std::string& program) {
  return "Usage of " + program +
         ":\n"
         "  -backend string\n"
         "    \tI/O backend: auto, io_uring or epoll (default \"auto\")\n"
         "  -config string\n"
         "    \tJSON file containing proxies to create on startup\n"
         "  -host string\n"
         "    \tHost for toxiproxy's API to listen on (default \"localhost\")\n"
         "  -port string\n"
         "    \tPort for toxiproxy's API to listen on (default \"8474\")\n"
         "  -proxy-metrics\n"
         "    \tenable metrics for proxy\n"
         "  -runtime-metrics\n"
         "    \tenable runtime-related metrics\n"
         "  -seed int\n"
         "    \tSeed for randomizing toxics with (default: current time)\n"
         "  -threads int\n"
         "    \tWorker threads for the data path (default: one per core)\n"
         "  -version\n"
         "    \tshow version and exit\n";
}

FlagResult parse_flags(const std::vector<std::string>& args, ServerOptions& out) {
  const std::string program = args.empty() ? "faultline-proxy" : args[0];
  auto fail = [&](const std::string& msg) {
    return FlagResult{2, msg + "\n" + usage_text(program)};
  };
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() < 2 || a[0] != '-') break;  // first non-flag argument ends parsing
    if (a == "--") break;
    std::string name = a.substr(a[1] == '-' ? 2 : 1);
    if (name.empty() || name[0] == '-' || name[0] == '=') return fail("bad flag syntax: " + a);
    std::string value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (name == "h" || name == "help") return FlagResult{0, usage_text(program)};

    auto is_bool = name == "proxy-metrics" || name == "runtime-metrics" || name == "version";
    if (is_bool) {
      bool v = true;
      if (has_value) {
        if (value == "true" || value == "1" || value == "t" || value == "T" || value == "TRUE" ||
            value == "True") {
          v = true;
        } else if (value == "false" || value == "0" || value == "f" || value == "F" ||
                   value == "FALSE" || value == "False") {
          v = false;
        } else {
          return fail("invalid boolean value \"" + value + "\" for -" + name + ": parse error");
        }
      }
      if (name == "proxy-metrics") out.proxy_metrics = v;
      if (name == "runtime-metrics") out.runtime_metrics = v;
      if (name == "version") out.version = v;
      continue;
    }
    bool known = name == "host" || name == "port" || name == "config" || name == "seed" ||
                 name == "threads" || name == "backend";
    if (!known) return fail("flag provided but not defined: -" + name);
    if (!has_value) {
      if (i + 1 >= args.size()) return fail("flag needs an argument: -" + name);
      value = args[++i];
    }
    if (name == "host") {
      out.host = value;
    } else if (name == "port") {
      out.port = value;
    } else if (name == "config") {
      out.config = value;
    } else if (name == "seed") {
      // Go's int flags accept base prefixes (0x, 0o, 0b, leading 0) and underscores.
      std::string digits;
      for (char c : value) {
        if (c != '_') digits += c;
      }
      int base = 10;
      std::string_view body = digits;
      bool negative = false;
      if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
        negative = body[0] == '-';
        body.remove_prefix(1);
      }
      if (body.size() > 1 && body[0] == '0') {
        char p = static_cast<char>(body[1] | 0x20);
        if (p == 'x') {
          base = 16;
          body.remove_prefix(2);
        } else if (p == 'o') {
          base = 8;
          body.remove_prefix(2);
        } else if (p == 'b') {
          base = 2;
          body.remove_prefix(2);
        } else {
          base = 8;
          body.remove_prefix(1);
        }
      }
      uint64_t magnitude = 0;
      auto r = std::from_chars(body.data(), body.data() + body.size(), magnitude, base);
      if (body.empty() || r.ptr != body.data() + body.size() ||
          (r.ec != std::errc() && r.ec != std::errc::result_out_of_range)) {
        return fail("invalid value \"" + value + "\" for flag -seed: parse error");
      }
      uint64_t limit = negative ? (uint64_t{1} << 63) : (uint64_t{1} << 63) - 1;
      if (r.ec == std::errc::result_out_of_range || magnitude > limit) {
        return fail("invalid value \"" + value + "\" for flag -seed: value out of range");
      }
      out.seed = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
    } else if (name == "threads") {
      unsigned t = 0;
      auto r = std::from_chars(value.data(), value.data() + value.size(), t);
      if (r.ec != std::errc() || r.ptr != value.data() + value.size() || t > 1024) {
        return fail("invalid value \"" + value + "\" for flag -threads: parse error");
      }
      out.threads = t;
    } else if (name == "backend") {
      if (!parse_backend(value, out.backend)) {
        return fail("invalid value \"" + value +
                    "\" for flag -backend: use auto, io_uring or epoll");
      }
    }
  }
  return {};
}

}  // namespace faultline::proxy

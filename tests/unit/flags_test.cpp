#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "proxy/flags.h"

using faultline::Backend;
using faultline::proxy::FlagResult;
using faultline::proxy::parse_flags;
using faultline::proxy::ServerOptions;

namespace {

struct Parsed {
  FlagResult result;
  ServerOptions options;
};

Parsed parse(std::vector<std::string> args) {
  args.insert(args.begin(), "toxiproxy-server");
  Parsed p;
  p.result = parse_flags(args, p.options);
  return p;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

}  // namespace

TEST_CASE("parse_flags: defaults", "[flags]") {
  auto p = parse({});
  CHECK(p.result.exit_code == -1);
  CHECK(p.result.output.empty());
  CHECK(p.options.host == "localhost");
  CHECK(p.options.port == "8474");
  CHECK(p.options.config.empty());
  CHECK_FALSE(p.options.seed.has_value());
  CHECK_FALSE(p.options.proxy_metrics);
  CHECK_FALSE(p.options.runtime_metrics);
  CHECK_FALSE(p.options.version);
  CHECK(p.options.threads == 0);
  CHECK(p.options.backend == Backend::kAuto);

  // An empty argument list (no program name) is tolerated.
  ServerOptions o;
  auto r = parse_flags({}, o);
  CHECK(r.exit_code == -1);
  CHECK(o.host == "localhost");
}

TEST_CASE("parse_flags: value syntaxes", "[flags]") {
  SECTION("-host x") {
    auto p = parse({"-host", "0.0.0.0", "-port", "18474"});
    CHECK(p.result.exit_code == -1);
    CHECK(p.options.host == "0.0.0.0");
    CHECK(p.options.port == "18474");
  }
  SECTION("--host x") {
    auto p = parse({"--host", "127.0.0.1", "--port", "9000"});
    CHECK(p.result.exit_code == -1);
    CHECK(p.options.host == "127.0.0.1");
    CHECK(p.options.port == "9000");
  }
  SECTION("-host=x and --port=x") {
    auto p = parse({"-host=::1", "--port=1234", "-config=/etc/toxiproxy.json"});
    CHECK(p.result.exit_code == -1);
    CHECK(p.options.host == "::1");
    CHECK(p.options.port == "1234");
    CHECK(p.options.config == "/etc/toxiproxy.json");
  }
  SECTION("a value may contain '=' and may look like a flag") {
    auto p = parse({"-config=a=b", "-host", "-weird"});
    CHECK(p.result.exit_code == -1);
    CHECK(p.options.config == "a=b");
    CHECK(p.options.host == "-weird");
  }
  SECTION("-host= sets an empty value") {
    auto p = parse({"-host="});
    CHECK(p.result.exit_code == -1);
    CHECK(p.options.host.empty());
  }
  SECTION("the last occurrence wins") {
    auto p = parse({"-port", "1", "-port", "2"});
    CHECK(p.options.port == "2");
  }
}

TEST_CASE("parse_flags: boolean flags", "[flags]") {
  SECTION("bare") {
    auto p = parse({"-proxy-metrics", "--runtime-metrics", "-version"});
    CHECK(p.result.exit_code == -1);
    CHECK(p.options.proxy_metrics);
    CHECK(p.options.runtime_metrics);
    CHECK(p.options.version);
  }
  SECTION("explicit true/false values") {
    auto p = parse({"-proxy-metrics=false", "-runtime-metrics=true", "-version=0"});
    CHECK(p.result.exit_code == -1);
    CHECK_FALSE(p.options.proxy_metrics);
    CHECK(p.options.runtime_metrics);
    CHECK_FALSE(p.options.version);
  }
  SECTION("every spelling strconv.ParseBool accepts") {
    for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) {
      CAPTURE(t);
      auto p = parse({std::string("-proxy-metrics=") + t});
      CHECK(p.result.exit_code == -1);
      CHECK(p.options.proxy_metrics);
    }
    for (const char* f : {"0", "f", "F", "FALSE", "false", "False"}) {
      CAPTURE(f);
      auto p = parse({"-proxy-metrics", std::string("-proxy-metrics=") + f});
      CHECK(p.result.exit_code == -1);
      CHECK_FALSE(p.options.proxy_metrics);
    }
  }
  SECTION("a bool flag does not take the next argument") {
    // "false" is a positional argument and stops parsing: -port is not read.
    auto p = parse({"-proxy-metrics", "false", "-port", "1"});
    CHECK(p.result.exit_code == -1);
    CHECK(p.options.proxy_metrics);
    CHECK(p.options.port == "8474");
  }
  SECTION("bad boolean value") {
    auto p = parse({"-proxy-metrics=yes"});
    CHECK(p.result.exit_code == 2);
    CHECK(starts_with(p.result.output,
                      "invalid boolean value \"yes\" for -proxy-metrics: parse error\n"
                      "Usage of toxiproxy-server:\n"));
  }
}

TEST_CASE("parse_flags: unknown flags exit 2 with Go's message", "[flags]") {
  auto p = parse({"-x"});
  CHECK(p.result.exit_code == 2);
  CHECK(starts_with(p.result.output,
                    "flag provided but not defined: -x\nUsage of toxiproxy-server:\n"));
  CHECK(p.result.output.find("  -host string\n") != std::string::npos);

  p = parse({"--nope=1"});
  CHECK(p.result.exit_code == 2);
  CHECK(starts_with(p.result.output, "flag provided but not defined: -nope\n"));

  // Flags before the unknown one were already applied.
  p = parse({"-host", "h", "-bogus", "-port", "1"});
  CHECK(p.result.exit_code == 2);
  CHECK(starts_with(p.result.output, "flag provided but not defined: -bogus\n"));
  CHECK(p.options.host == "h");
  CHECK(p.options.port == "8474");
}

TEST_CASE("parse_flags: help exits 0 with usage", "[flags]") {
  for (const char* h : {"-h", "--h", "-help", "--help"}) {
    CAPTURE(h);
    auto p = parse({"-port", "1", h, "-bogus"});
    CHECK(p.result.exit_code == 0);
    CHECK(starts_with(p.result.output, "Usage of toxiproxy-server:\n"));
    CHECK(p.result.output.find("-proxy-metrics") != std::string::npos);
  }
  CHECK(faultline::proxy::usage_text("prog").rfind("Usage of prog:\n", 0) == 0);
}

TEST_CASE("parse_flags: syntax errors and missing values", "[flags]") {
  auto p = parse({"-port"});
  CHECK(p.result.exit_code == 2);
  CHECK(starts_with(p.result.output, "flag needs an argument: -port\nUsage of"));

  p = parse({"---host", "x"});
  CHECK(p.result.exit_code == 2);
  CHECK(starts_with(p.result.output, "bad flag syntax: ---host\n"));

  p = parse({"-=x"});
  CHECK(p.result.exit_code == 2);
  CHECK(starts_with(p.result.output, "bad flag syntax: -=x\n"));
}

TEST_CASE("parse_flags: parsing stops at the first non-flag argument", "[flags]") {
  auto p = parse({"-host", "h", "serve", "-port", "1", "-bogus"});
  CHECK(p.result.exit_code == -1);
  CHECK(p.options.host == "h");
  CHECK(p.options.port == "8474");

  // A lone "-" is a positional argument.
  p = parse({"-", "-port", "1"});
  CHECK(p.result.exit_code == -1);
  CHECK(p.options.port == "8474");

  // "--" ends the flags.
  p = parse({"-port", "2", "--", "-port", "3"});
  CHECK(p.result.exit_code == -1);
  CHECK(p.options.port == "2");
}

TEST_CASE("parse_flags: -seed is an int64", "[flags]") {
  auto p = parse({"-seed", "42"});
  CHECK(p.result.exit_code == -1);
  REQUIRE(p.options.seed.has_value());
  CHECK(*p.options.seed == 42);

  p = parse({"-seed=-9223372036854775808"});
  CHECK(p.result.exit_code == -1);
  REQUIRE(p.options.seed.has_value());
  CHECK(*p.options.seed == INT64_MIN);

  p = parse({"--seed", "9223372036854775807"});
  REQUIRE(p.options.seed.has_value());
  CHECK(*p.options.seed == INT64_MAX);

  for (const char* bad : {"abc", "1.5", "12x", ""}) {
    CAPTURE(bad);
    p = parse({"-seed", bad});
    CHECK(p.result.exit_code == 2);
    CHECK(starts_with(p.result.output,
                      std::string("invalid value \"") + bad + "\" for flag -seed: parse error\n"));
  }
}

// Go's int64 flag uses strconv.ParseInt(s, 0, 64): base prefixes, a '+' sign and digit
// underscores are accepted, and overflow reads "value out of range".
TEST_CASE("parse_flags: -seed follows strconv.ParseInt base 0", "[flags]") {
  auto p = parse({"-seed", "0x1F"});
  CHECK(p.result.exit_code == -1);
  CHECK(p.options.seed.value_or(0) == 31);

  p = parse({"-seed", "010"});
  CHECK(p.result.exit_code == -1);
  CHECK(p.options.seed.value_or(0) == 8);

  p = parse({"-seed", "+5"});
  CHECK(p.result.exit_code == -1);
  CHECK(p.options.seed.value_or(0) == 5);

  p = parse({"-seed", "99999999999999999999"});
  CHECK(p.result.exit_code == 2);
  CHECK(starts_with(p.result.output,
                    "invalid value \"99999999999999999999\" for flag -seed: value out of range\n"));
}

TEST_CASE("parse_flags: -threads", "[flags]") {
  auto p = parse({"-threads", "4"});
  CHECK(p.result.exit_code == -1);
  CHECK(p.options.threads == 4);

  p = parse({"-threads=0"});
  CHECK(p.result.exit_code == -1);
  CHECK(p.options.threads == 0);

  p = parse({"-threads", "1024"});
  CHECK(p.result.exit_code == -1);
  CHECK(p.options.threads == 1024);

  for (const char* bad : {"-1", "two", "1025", "3.0"}) {
    CAPTURE(bad);
    p = parse({"-threads", bad});
    CHECK(p.result.exit_code == 2);
    CHECK(starts_with(p.result.output, std::string("invalid value \"") + bad +
                                           "\" for flag -threads: parse error\n"));
  }
}

TEST_CASE("parse_flags: -backend", "[flags]") {
  auto p = parse({"-backend", "epoll"});
  CHECK(p.result.exit_code == -1);
  CHECK(p.options.backend == Backend::kEpoll);

  p = parse({"-backend=io_uring"});
  CHECK(p.result.exit_code == -1);
  CHECK(p.options.backend == Backend::kIoUring);

  p = parse({"-backend", "epoll", "--backend", "auto"});
  CHECK(p.result.exit_code == -1);
  CHECK(p.options.backend == Backend::kAuto);

  p = parse({"-backend", "kqueue"});
  CHECK(p.result.exit_code == 2);
  CHECK(starts_with(p.result.output,
                    "invalid value \"kqueue\" for flag -backend: use auto, io_uring or epoll\n"));
}

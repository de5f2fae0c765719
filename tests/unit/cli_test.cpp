// faultline-cli's pure parts: Go's number and boolean syntax, fmt's and encoding/json's
// float text, tabwriter's columns, attributes, endpoints, URLs, and invocations that end
// before any request is made.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>

#include "cli/api.h"
#include "cli/app.h"
#include "cli/go_text.h"
#include "common/go_quote.h"
#include "common/http_client_sync.h"

namespace cli = faultline::cli;
namespace http = faultline::http;

namespace {

cli::FloatParse parse(const std::string& s, double& v, int bits = 64) {
  return cli::parse_go_float(s, bits, v);
}

cli::Outcome run(std::vector<std::string> args, std::string argv0 = "/usr/bin/faultline-cli") {
  cli::Environment env;
  env.args = {std::move(argv0)};
  env.args.insert(env.args.end(), args.begin(), args.end());
  env.version = "0.1.0";
  return cli::run_cli(env);
}

}  // namespace

TEST_CASE("Go float syntax: what strconv.ParseFloat accepts") {
  double v = 0;
  CHECK(parse("100", v) == cli::FloatParse::kOk);
  CHECK(v == 100);
  CHECK(parse("-1.5e3", v) == cli::FloatParse::kOk);
  CHECK(v == -1500);
  CHECK(parse(".5", v) == cli::FloatParse::kOk);
  CHECK(v == 0.5);
  CHECK(parse("5.", v) == cli::FloatParse::kOk);
  CHECK(v == 5);
  CHECK(parse("1_000", v) == cli::FloatParse::kOk);
  CHECK(v == 1000);
  CHECK(parse("0x1p4", v) == cli::FloatParse::kOk);
  CHECK(v == 16);
  CHECK(parse("0x1.8p1", v) == cli::FloatParse::kOk);
  CHECK(v == 3);
  CHECK(parse("inf", v) == cli::FloatParse::kOk);
  CHECK(std::isinf(v));
  CHECK(parse("-Infinity", v) == cli::FloatParse::kOk);
  CHECK((std::isinf(v) && v < 0));
  CHECK(parse("NaN", v) == cli::FloatParse::kOk);
  CHECK(std::isnan(v));

  for (const char* bad : {"", " 1", "1 ", "abc", "1e", "1e+", "0x10", "_1", "1__0", "1_", "+nan",
                          "infin", "1.2.3", "0x", ".", "e5", "--1", "1_.5"}) {
    CAPTURE(bad);
    CHECK(parse(bad, v) == cli::FloatParse::kSyntax);
  }
  CHECK(parse("1e400", v) == cli::FloatParse::kRange);
  CHECK(parse("1e39", v, 32) == cli::FloatParse::kRange);
  CHECK(parse("1e-400", v) == cli::FloatParse::kOk);
  CHECK(v == 0);
  CHECK(parse("0.1", v, 32) == cli::FloatParse::kOk);
  CHECK(v == static_cast<double>(0.1f));
}

TEST_CASE("Go booleans") {
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"})
    CHECK(cli::parse_go_bool(t) == true);
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"})
    CHECK(cli::parse_go_bool(f) == false);
  for (const char* bad : {"", "yes", "tRUE", "2"}) CHECK_FALSE(cli::parse_go_bool(bad).has_value());
}

TEST_CASE("fmt.Print of a float64") {
  CHECK(cli::format_go_float(100) == "100");
  CHECK(cli::format_go_float(1.5) == "1.5");
  CHECK(cli::format_go_float(0) == "0");
  CHECK(cli::format_go_float(-0.0) == "-0");
  CHECK(cli::format_go_float(-2.25) == "-2.25");
  CHECK(cli::format_go_float(123456) == "123456");
  CHECK(cli::format_go_float(1e6) == "1e+06");
  CHECK(cli::format_go_float(1234567) == "1.234567e+06");
  CHECK(cli::format_go_float(99999999999) == "9.9999999999e+10");
  CHECK(cli::format_go_float(1e21) == "1e+21");
  CHECK(cli::format_go_float(1e100) == "1e+100");
  CHECK(cli::format_go_float(0.0001) == "0.0001");
  CHECK(cli::format_go_float(0.00001) == "1e-05");
  CHECK(cli::format_go_float(0.1) == "0.1");
  CHECK(cli::format_go_float(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(cli::format_go_float(std::nan("")) == "NaN");
}

TEST_CASE("encoding/json text of a float64") {
  std::string s;
  REQUIRE(cli::format_json_float64(100, s));
  CHECK(s == "100");
  REQUIRE(cli::format_json_float64(1e20, s));
  CHECK(s == "100000000000000000000");
  REQUIRE(cli::format_json_float64(1e21, s));
  CHECK(s == "1e+21");
  REQUIRE(cli::format_json_float64(0.000001, s));
  CHECK(s == "0.000001");
  REQUIRE(cli::format_json_float64(1e-7, s));
  CHECK(s == "1e-7");
  REQUIRE(cli::format_json_float64(1.5e-10, s));
  CHECK(s == "1.5e-10");
  REQUIRE(cli::format_json_float64(-0.0, s));
  CHECK(s == "-0");
  CHECK_FALSE(cli::format_json_float64(std::nan(""), s));
  CHECK_FALSE(cli::format_json_float64(-std::numeric_limits<double>::infinity(), s));
  CHECK(cli::go_special_float(-std::numeric_limits<double>::infinity()) == "-Inf");
}

TEST_CASE("strconv.Quote") {
  CHECK(faultline::go_quote("http://localhost:8474") == "\"http://localhost:8474\"");
  CHECK(faultline::go_quote("a\"b\\c\n\x01") == "\"a\\\"b\\\\c\\n\\x01\"");
  CHECK(faultline::go_quote("\a\v\x7f\xc3\xa9") == "\"\\a\\v\\x7f\xc3\xa9\"");
}

TEST_CASE("tabwriter columns: blocks of consecutive lines with a cell in the column") {
  CHECK(cli::tabwriter_layout("a\tb\nccc\td\n") == "a    b\nccc  d\n");
  // A line without a tab ends the block: the next block is aligned on its own.
  CHECK(cli::tabwriter_layout("a\tb\nplain\nlonger\tc\n") == "a  b\nplain\nlonger  c\n");
  // An empty leading cell pads to the column width (urfave's "\tusage: ..." lines).
  CHECK(cli::tabwriter_layout("   x - y\n\tusage: z\n") == "   x - y\n  usage: z\n");
  // Nested columns.
  CHECK(cli::tabwriter_layout("a\t\tb\n\t\tcc\n") == "a    b\n     cc\n");
}

TEST_CASE("attributes: numbers when they parse as Go floats, strings otherwise") {
  auto attrs = cli::parse_attributes(
      {"latency=100", "name=abc", "noeq", "empty=", "eq=a=b", "latency=2.5", "under=1_0"});
  REQUIRE(attrs.size() == 5);
  CHECK(attrs["latency"].kind == cli::GoValue::Kind::kNumber);
  CHECK(attrs["latency"].number == 2.5);
  CHECK(attrs["name"].kind == cli::GoValue::Kind::kString);
  CHECK(attrs["empty"].text.empty());
  CHECK(attrs["empty"].kind == cli::GoValue::Kind::kString);
  CHECK(attrs["eq"].text == "a=b");
  CHECK(attrs["under"].number == 10);
}

TEST_CASE("values printed and marshalled as Go does") {
  cli::GoValue map;
  map.kind = cli::GoValue::Kind::kObject;
  map.members = {{"a", cli::GoValue::of_number(1e6)},
                 {"b", cli::GoValue::of_string("x y")},
                 {"c", cli::GoValue{}}};
  CHECK(cli::print_go_value(map) == "map[a:1e+06 b:x y c:<nil>]");
  std::string json;
  std::string error;
  REQUIRE(cli::marshal_go_value(map, json, error));
  CHECK(json == R"({"a":1000000,"b":"x y","c":null})");
  cli::GoValue bad = cli::GoValue::of_number(std::nan(""));
  json.clear();
  CHECK_FALSE(cli::marshal_go_value(bad, json, error));
  CHECK(error == "json: unsupported value: NaN");
}

TEST_CASE("the endpoint gets http:// unless it has a scheme") {
  CHECK(cli::endpoint_from_host("localhost:8474") == "http://localhost:8474");
  CHECK(cli::endpoint_from_host("http://h:1") == "http://h:1");
  CHECK(cli::endpoint_from_host("https://h:1") == "https://h:1");
  CHECK(cli::endpoint_from_host("") == "http://");
}

TEST_CASE("records decoded from the API") {
  cli::Proxy p;
  std::string error;
  REQUIRE(cli::decode_proxy(
      R"({"name":"ci","listen":"127.0.0.1:1","upstream":"u","enabled":true,"toxics":[)"
      R"({"attributes":{"latency":7,"jitter":99999999999},"name":"T1","type":"latency",)"
      R"("stream":"upstream","toxicity":0.5}]})",
      p, error));
  CHECK(p.name == "ci");
  CHECK(p.enabled);
  REQUIRE(p.toxics);
  REQUIRE(p.toxics->size() == 1);
  const auto& t = (*p.toxics)[0];
  CHECK(t.toxicity == 0.5f);
  CHECK(cli::print_go_value(t.attributes.at("jitter")) == "9.9999999999e+10");
  std::string encode_error;
  CHECK(cli::encode_proxy(p, encode_error) ==
        R"({"name":"ci","listen":"127.0.0.1:1","upstream":"u","enabled":true,"toxics":[)"
        R"({"name":"T1","type":"latency","stream":"upstream","toxicity":0.5,)"
        R"("attributes":{"jitter":99999999999,"latency":7}}]})");
  CHECK(encode_error.empty());
  CHECK_FALSE(cli::decode_proxy(R"({"name":5})", p, error));
  CHECK(error == "json: cannot unmarshal number into Go struct field Proxy.name of type string");
}

TEST_CASE("client URLs read as Go's net/url reads them") {
  http::ClientUrl u;
  std::string error;
  REQUIRE(http::parse_client_url("http://127.0.0.1:8474/proxies/a b", u, error));
  CHECK(u.host == "127.0.0.1");
  CHECK(u.port == "8474");
  CHECK(u.authority == "127.0.0.1:8474");
  CHECK(u.target == "/proxies/a%20b");
  REQUIRE(http::parse_client_url("http://h/proxies/a?b#c", u, error));
  CHECK(u.target == "/proxies/a?b");
  REQUIRE(http::parse_client_url("http://h/proxies/%41!", u, error));
  CHECK(u.target == "/proxies/%41!");
  REQUIRE(http::parse_client_url("http://[::1]:9/x", u, error));
  CHECK(u.host == "::1");
  CHECK(u.authority == "[::1]:9");
  REQUIRE(http::parse_client_url("http://h/p/\xc3\xbc\"?#f", u, error));
  CHECK(u.target == "/p/%C3%BC%22?");
  CHECK(u.display == "http://h/p/%C3%BC%22?#f");
  REQUIRE(http::parse_client_url("http://h", u, error));
  CHECK(u.target == "/");
  CHECK(u.port.empty());

  CHECK_FALSE(http::parse_client_url("http://h/proxies/%zz", u, error));
  CHECK(error == R"(parse "http://h/proxies/%zz": invalid URL escape "%zz")");
  CHECK_FALSE(http::parse_client_url("http://h/%4", u, error));
  CHECK(error == R"(parse "http://h/%4": invalid URL escape "%4")");
  CHECK_FALSE(http::parse_client_url("http://localhost:abc/proxies", u, error));
  CHECK(error == R"(parse "http://localhost:abc/proxies": invalid port ":abc" after host)");
  CHECK_FALSE(http::parse_client_url("http://h/a\nb", u, error));
  CHECK(error == R"(parse "http://h/a\nb": net/url: invalid control character in URL)");
  CHECK(http::go_method_name("DELETE") == "Delete");
}

TEST_CASE("a refused connection is worded as Go's client words it") {
  http::ClientRequest request;
  request.method = "GET";
  request.url = "http://127.0.0.1:1/proxies";
  http::ClientResponse response;
  std::string error;
  CHECK_FALSE(http::send_request(request, response, error));
  CHECK(error ==
        R"(Get "http://127.0.0.1:1/proxies": dial tcp 127.0.0.1:1: connect: connection refused)");
  request.url = "http:///proxies";
  CHECK_FALSE(http::send_request(request, response, error));
  CHECK(error == R"(Get "http:///proxies": http: no Host in request URL)");
}

TEST_CASE("invocations that end before any request") {
  auto o = run({"create", "-l", "a", "x"});
  CHECK(o.exit_code == 1);
  CHECK(o.err == "Required argument 'upstream' was empty.\n\n");
  CHECK(o.out.rfind("NAME:\n   faultline-cli create - create a new proxy\n", 0) == 0);

  o = run({"toxic", "add", "-t", "latency", "--tox", "1.5", "p"});
  CHECK(o.exit_code == 1);
  CHECK(o.err == "toxicity should be a float between 0 and 1.\n\n");
  CHECK(o.out.empty());

  o = run({"toxic", "add", "-t", "latency", "-u", "-d", "p"});
  CHECK(o.err == "Only one should be specified: upstream or downstream.\n\n");

  o = run({"toxic", "remove"});
  CHECK(o.err == "Proxy name is missing.\n\n");
  CHECK(o.out.find("toxic remove [command options] <proxyName>") != std::string::npos);

  // Usage errors print help and exit 0, as urfave/cli does when main ignores the error.
  o = run({"list", "-x"});
  CHECK(o.exit_code == 0);
  CHECK(o.out.rfind("Incorrect Usage: flag provided but not defined: -x\n\n", 0) == 0);
  o = run({"create", "-l", "a", "--listen", "b", "p"});
  CHECK(o.out.rfind("Incorrect Usage: Cannot use two forms of the same flag: l listen\n", 0) == 0);

  o = run({"nosuch"});
  CHECK(o.exit_code == 3);
  CHECK(o.err == "No help topic for 'nosuch'\n");

  o = run({"--version"}, "toxiproxy-cli");
  CHECK(o.out == "toxiproxy-cli version 0.1.0\n");
}

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <string>

#include "common/json.h"

namespace json = faultline::json;
namespace od = simdjson::ondemand;

namespace {

// Result of running first_value: either the value text or the error.
struct First {
  bool ok;
  std::string text;
};

First first(std::string_view body) {
  std::string err;
  auto v = json::first_value(body, err);
  if (v) return {true, std::string(*v)};
  return {false, err};
}

std::string quoted(std::string_view s) {
  std::string out;
  json::append_quoted(out, s);
  return out;
}

// Parses `body` as an object and hands the value of its only key "v" to `fn`.
template <typename Fn>
void with_field(const std::string& body, Fn fn) {
  json::Document doc;
  std::string err;
  REQUIRE(doc.parse(body, err));
  od::object obj;
  REQUIRE(doc.root().get_object().get(obj) == simdjson::SUCCESS);
  bool seen = false;
  for (auto field : obj) {
    od::value v;
    REQUIRE(field.value().get(v) == simdjson::SUCCESS);
    fn(v);
    seen = true;
  }
  REQUIRE(seen);
}

}  // namespace

TEST_CASE("first_value: empty and blank bodies give EOF", "[json]") {
  for (const char* body : {"", " ", "\r\n\t "}) {
    CAPTURE(body);
    auto r = first(body);
    CHECK_FALSE(r.ok);
    CHECK(r.text == "EOF");
  }
}

TEST_CASE("first_value: truncated bodies give unexpected EOF", "[json]") {
  for (const char* body :
       {"{\"name\":\"bad\",", "{\"type\":\"latency\"", "{", "[", "[1,", "\"abc", "\"a\\", "\"\\u12",
        "tru", "nul", "-", "1.", "1e", "1e+", "{\"a\"", "{\"a\":", "  {\"a\" : "}) {
    CAPTURE(body);
    auto r = first(body);
    CHECK_FALSE(r.ok);
    CHECK(r.text == "unexpected EOF");
  }
}

TEST_CASE("first_value: syntax errors use Go's scanner messages", "[json]") {
  struct Case {
    const char* body;
    const char* message;
  };
  const Case cases[] = {
      {"{bad", "invalid character 'b' looking for beginning of object key string"},
      {"{\"a\":1,}", "invalid character '}' looking for beginning of object key string"},
      {"x", "invalid character 'x' looking for beginning of value"},
      {"}", "invalid character '}' looking for beginning of value"},
      {"[1,]", "invalid character ']' looking for beginning of value"},
      {"{\"a\" 1}", "invalid character '1' after object key"},
      {"{\"a\":1 \"b\":2}", "invalid character '\"' after object key:value pair"},
      {"{\"a\":01}", "invalid character '1' after object key:value pair"},
      {"[1 2]", "invalid character '2' after array element"},
      {"trux", "invalid character 'x' in literal true (expecting 'e')"},
      {"fals3", "invalid character '3' in literal false (expecting 'e')"},
      {"nUll", "invalid character 'U' in literal null (expecting 'u')"},
      {"-x", "invalid character 'x' in numeric literal"},
      {"[1.x]", "invalid character 'x' after decimal point in numeric literal"},
      {"[1ex]", "invalid character 'x' in exponent of numeric literal"},
      {"\"a\\x\"", "invalid character 'x' in string escape code"},
      {"\"\\u12g4\"", "invalid character 'g' in \\u hexadecimal character escape"},
      {"\"a\nb\"", "invalid character '\\n' in string literal"},
      {"\"a\tb\"", "invalid character '\\t' in string literal"},
      {"{\"a\":'x'}", "invalid character '\\'' looking for beginning of value"},
      {"\x01", "invalid character '\\x01' looking for beginning of value"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.body);
    auto r = first(c.body);
    CHECK_FALSE(r.ok);
    CHECK(r.text == c.message);
  }
}

TEST_CASE("first_value: only the first value is read, trailing bytes are ignored", "[json]") {
  auto r = first("{\"name\":\"trail\"} this is trailing garbage");
  REQUIRE(r.ok);
  CHECK(r.text == "{\"name\":\"trail\"}");

  r = first("  [1,2]]]");
  REQUIRE(r.ok);
  CHECK(r.text == "[1,2]");

  r = first("\n\t{} {}");
  REQUIRE(r.ok);
  CHECK(r.text == "{}");

  r = first("null,");
  REQUIRE(r.ok);
  CHECK(r.text == "null");

  // A number ends at the first byte that cannot continue it.
  r = first("12x");
  REQUIRE(r.ok);
  CHECK(r.text == "12");

  r = first("0123");
  REQUIRE(r.ok);
  CHECK(r.text == "0");

  r = first("-1.5e+3");
  REQUIRE(r.ok);
  CHECK(r.text == "-1.5e+3");

  r = first("\"x\\\"y\\u00e9\"tail");
  REQUIRE(r.ok);
  CHECK(r.text == "\"x\\\"y\\u00e9\"");
}

// Go's scanner refuses more than 10000 levels of nesting with
// "invalid character '[' exceeded max depth"; the recursive scanner here has no limit.
TEST_CASE("first_value limits nesting depth like Go", "[json]") {
  auto ok = first(std::string(10000, '[') + std::string(10000, ']'));
  CHECK(ok.ok);
  auto r = first(std::string(10001, '[') + std::string(10001, ']'));
  CHECK_FALSE(r.ok);
  CHECK(r.text == "invalid character '[' exceeded max depth");
}

// Each nesting level is a recursive call, so a body of a few MB of '[' (well below the
// 16 MB body limit) overflows the stack and kills the process. Run it in a child.
TEST_CASE("first_value survives very deep nesting", "[json]") {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    std::string body(4 << 20, '[');
    std::string err;
    auto v = json::first_value(body, err);
    _exit(!v && err == "invalid character '[' exceeded max depth" ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK_FALSE(WIFSIGNALED(status));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("sanitize_utf8 replaces invalid sequences by U+FFFD", "[json]") {
  CHECK(json::sanitize_utf8("plain") == "plain");
  CHECK(json::sanitize_utf8("caf\xc3\xa9") == "caf\xc3\xa9");
  CHECK(json::sanitize_utf8("a\xff"
                            "b") ==
        "a\xef\xbf\xbd"
        "b");
  // A truncated sequence is replaced byte by byte.
  CHECK(json::sanitize_utf8("\xe2\x82") == "\xef\xbf\xbd\xef\xbf\xbd");
  // Overlong encodings and surrogates are invalid.
  CHECK(json::sanitize_utf8("\xc0\xaf") == "\xef\xbf\xbd\xef\xbf\xbd");
  CHECK(json::sanitize_utf8("\xed\xa0\x80") == "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

TEST_CASE("Document parses the first value and reports syntax errors", "[json]") {
  json::Document doc;
  std::string err;

  CHECK_FALSE(doc.parse("", err));
  CHECK(err == "EOF");
  CHECK_FALSE(doc.parse("{\"name\":\"bad\",", err));
  CHECK(err == "unexpected EOF");
  CHECK_FALSE(doc.parse("{bad", err));
  CHECK(err == "invalid character 'b' looking for beginning of object key string");

  REQUIRE(doc.parse("{\"a\":1} trailing", err));
  auto obj_root = doc.root();
  CHECK(json::kind_name(obj_root) == "object");
  CHECK_FALSE(doc.is_null());

  json::Document null_doc;
  REQUIRE(null_doc.parse(" null ", err));
  CHECK(null_doc.is_null());

  json::Document arr;
  REQUIRE(arr.parse("[1,2,3]", err));
  auto root = arr.root();
  CHECK(json::kind_name(root) == "array");
}

TEST_CASE("Document accepts invalid UTF-8 inside strings and decodes it to U+FFFD", "[json]") {
  json::Document doc;
  std::string err;
  REQUIRE(
      doc.parse("{\"v\":\"a\xff"
                "b\"}",
                err));
  od::object obj;
  REQUIRE(doc.root().get_object().get(obj) == simdjson::SUCCESS);
  std::string out;
  json::TypeErrors errors;
  for (auto field : obj) {
    od::value v;
    REQUIRE(field.value().get(v) == simdjson::SUCCESS);
    CHECK(json::read_string(v, {errors, "Proxy", "name"}, out));
  }
  CHECK(out ==
        "a\xef\xbf\xbd"
        "b");
  CHECK_FALSE(errors.any());
}

TEST_CASE("kind_name uses Go's kind words", "[json]") {
  const std::pair<const char*, const char*> cases[] = {
      {"{\"v\":\"s\"}", "string"}, {"{\"v\":1.5}", "number"}, {"{\"v\":true}", "bool"},
      {"{\"v\":[1]}", "array"},    {"{\"v\":{}}", "object"},  {"{\"v\":null}", "null"},
  };
  for (const auto& [body, kind] : cases) {
    CAPTURE(body);
    with_field(body, [&](od::value& v) { CHECK(json::kind_name(v) == kind); });
  }
}

TEST_CASE("key_is matches ASCII case-insensitively", "[json]") {
  CHECK(json::key_is("name", "name"));
  CHECK(json::key_is("NAME", "name"));
  CHECK(json::key_is("Upstream", "upstream"));
  CHECK(json::key_is("aVeRaGe_SiZe", "average_size"));
  CHECK(json::key_is("Logger", "Logger"));
  CHECK(json::key_is("logger", "Logger"));
  CHECK_FALSE(json::key_is("names", "name"));
  CHECK_FALSE(json::key_is("nam", "name"));
  CHECK_FALSE(json::key_is("average-size", "average_size"));
  CHECK_FALSE(json::key_is("", "name"));
  // '@' and '`' sit next to 'A'..'Z' and 'a'..'z' but are not letters.
  CHECK_FALSE(json::key_is("@", "`"));
}

// Go's encoding/json folds keys with Unicode simple folding: U+017F (long s) matches 's'
// and U+212A (Kelvin sign) matches 'k', so {"ſtream":...} sets "stream" in Toxiproxy.
TEST_CASE("key_is folds like Go's encoding/json for non-ASCII", "[json]") {
  CHECK(json::key_is("\xc5\xbftream", "stream"));
  CHECK(json::key_is("\xe2\x84\xaa", "k"));
}

TEST_CASE("TypeErrors keeps the first error in Go's wording", "[json]") {
  json::TypeErrors e;
  CHECK_FALSE(e.any());
  e.field("number 100.5", "LatencyToxic", "attributes.latency", "int64");
  REQUIRE(e.any());
  CHECK(e.message() ==
        "json: cannot unmarshal number 100.5 into Go struct field "
        "LatencyToxic.attributes.latency of type int64");
  e.field("string", "Proxy", "name", "string");
  e.value("array", "toxiproxy.Proxy");
  CHECK(e.message() ==
        "json: cannot unmarshal number 100.5 into Go struct field "
        "LatencyToxic.attributes.latency of type int64");

  json::TypeErrors v;
  v.value("array", "toxiproxy.Proxy");
  CHECK(v.message() == "json: cannot unmarshal array into Go value of type toxiproxy.Proxy");

  json::TypeErrors anon;
  anon.field("string", "", "enabled", "bool");
  CHECK(anon.message() ==
        "json: cannot unmarshal string into Go struct field .enabled of type bool");
}

TEST_CASE("read_string", "[json]") {
  json::TypeErrors errors;
  std::string out = "keep";

  with_field("{\"v\":\"hello\"}", [&](od::value& v) {
    CHECK(json::read_string(v, {errors, "Proxy", "name"}, out));
  });
  CHECK(out == "hello");

  with_field("{\"v\":\"a\\u003cb\\n\\\"\"}", [&](od::value& v) {
    CHECK(json::read_string(v, {errors, "Proxy", "name"}, out));
  });
  CHECK(out == "a<b\n\"");

  out = "keep";
  with_field("{\"v\":null}", [&](od::value& v) {
    CHECK_FALSE(json::read_string(v, {errors, "Proxy", "name"}, out));
  });
  CHECK(out == "keep");
  CHECK_FALSE(errors.any());

  with_field("{\"v\":5}", [&](od::value& v) {
    CHECK_FALSE(json::read_string(v, {errors, "Proxy", "name"}, out));
  });
  CHECK(out == "keep");
  CHECK(errors.message() ==
        "json: cannot unmarshal number into Go struct field Proxy.name of type string");

  json::TypeErrors arr;
  with_field("{\"v\":[\"x\"]}", [&](od::value& v) {
    CHECK_FALSE(json::read_string(v, {arr, "ToxicWrapper", "type"}, out));
  });
  CHECK(arr.message() ==
        "json: cannot unmarshal array into Go struct field ToxicWrapper.type of type string");
}

TEST_CASE("read_bool", "[json]") {
  json::TypeErrors errors;
  bool out = false;
  with_field("{\"v\":true}", [&](od::value& v) {
    CHECK(json::read_bool(v, {errors, "Proxy", "enabled"}, out));
  });
  CHECK(out);
  with_field("{\"v\":false}", [&](od::value& v) {
    CHECK(json::read_bool(v, {errors, "Proxy", "enabled"}, out));
  });
  CHECK_FALSE(out);

  out = true;
  with_field("{\"v\":null}", [&](od::value& v) {
    CHECK_FALSE(json::read_bool(v, {errors, "Proxy", "enabled"}, out));
  });
  CHECK(out);
  CHECK_FALSE(errors.any());

  with_field("{\"v\":\"yes\"}", [&](od::value& v) {
    CHECK_FALSE(json::read_bool(v, {errors, "Proxy", "enabled"}, out));
  });
  CHECK(out);
  CHECK(errors.message() ==
        "json: cannot unmarshal string into Go struct field Proxy.enabled of type bool");

  json::TypeErrors num;
  with_field("{\"v\":1}", [&](od::value& v) {
    CHECK_FALSE(json::read_bool(v, {num, "", "enabled"}, out));
  });
  CHECK(num.message() ==
        "json: cannot unmarshal number into Go struct field .enabled of type bool");
}

TEST_CASE("read_int64 accepts integers only", "[json]") {
  struct Good {
    const char* body;
    int64_t value;
  };
  const Good good[] = {
      {"{\"v\":100}", 100},
      {"{\"v\":-5}", -5},
      {"{\"v\":0}", 0},
      {"{\"v\":-0}", 0},
      {"{\"v\":99999999999}", 99999999999LL},
      {"{\"v\":9223372036854775807}", std::numeric_limits<int64_t>::max()},
      {"{\"v\":-9223372036854775808}", std::numeric_limits<int64_t>::min()},
      {"{\"v\" : 42 }", 42},
  };
  for (const auto& g : good) {
    CAPTURE(g.body);
    json::TypeErrors errors;
    int64_t out = 7;
    with_field(g.body, [&](od::value& v) {
      CHECK(json::read_int64(v, {errors, "LatencyToxic", "attributes.latency"}, "int64", out));
    });
    CHECK(out == g.value);
    CHECK_FALSE(errors.any());
  }
}

TEST_CASE("read_int64 type errors", "[json]") {
  struct Bad {
    const char* body;
    const char* kind;
  };
  const Bad bad[] = {
      {"{\"v\":100.5}", "number 100.5"},
      {"{\"v\":1e3}", "number 1e3"},
      {"{\"v\":1E3}", "number 1E3"},
      {"{\"v\":100.0}", "number 100.0"},
      {"{\"v\":-1.5e-2}", "number -1.5e-2"},
      {"{\"v\":9223372036854775808}", "number 9223372036854775808"},
      {"{\"v\":-9223372036854775809}", "number -9223372036854775809"},
      {"{\"v\":\"100\"}", "string"},
      {"{\"v\":true}", "bool"},
      {"{\"v\":[1]}", "array"},
      {"{\"v\":{\"x\":1}}", "object"},
  };
  for (const auto& b : bad) {
    CAPTURE(b.body);
    json::TypeErrors errors;
    int64_t out = 7;
    with_field(b.body, [&](od::value& v) {
      CHECK_FALSE(
          json::read_int64(v, {errors, "LatencyToxic", "attributes.latency"}, "int64", out));
    });
    CHECK(out == 7);
    CHECK(errors.message() == std::string("json: cannot unmarshal ") + b.kind +
                                  " into Go struct field LatencyToxic.attributes.latency of "
                                  "type int64");
  }

  json::TypeErrors slicer;
  int64_t out = 3;
  with_field("{\"v\":1.5}", [&](od::value& v) {
    CHECK_FALSE(
        json::read_int64(v, {slicer, "SlicerToxic", "attributes.average_size"}, "int", out));
  });
  CHECK(slicer.message() ==
        "json: cannot unmarshal number 1.5 into Go struct field "
        "SlicerToxic.attributes.average_size of type int");

  json::TypeErrors none;
  with_field("{\"v\":null}", [&](od::value& v) {
    CHECK_FALSE(json::read_int64(v, {none, "LatencyToxic", "attributes.jitter"}, "int64", out));
  });
  CHECK(out == 3);
  CHECK_FALSE(none.any());
}

TEST_CASE("read_float32", "[json]") {
  struct Good {
    const char* body;
    float value;
  };
  const Good good[] = {
      {"{\"v\":1}", 1.0f},
      {"{\"v\":0.5}", 0.5f},
      {"{\"v\":-0.5}", -0.5f},
      {"{\"v\":1.5}", 1.5f},
      {"{\"v\":0}", 0.0f},
      {"{\"v\":1e-7}", 1e-7f},
      {"{\"v\":0.3333333333}", 0.3333333333f},
      {"{\"v\":2E1}", 20.0f},
      // Underflow to zero is not an error in Go.
      {"{\"v\":1e-50}", 0.0f},
  };
  for (const auto& g : good) {
    CAPTURE(g.body);
    json::TypeErrors errors;
    float out = 9.0f;
    with_field(g.body, [&](od::value& v) {
      CHECK(json::read_float32(v, {errors, "ToxicWrapper", "toxicity"}, out));
    });
    CHECK(out == g.value);
    CHECK_FALSE(errors.any());
  }

  json::TypeErrors errors;
  float out = 0.25f;
  with_field("{\"v\":\"high\"}", [&](od::value& v) {
    CHECK_FALSE(json::read_float32(v, {errors, "ToxicWrapper", "toxicity"}, out));
  });
  CHECK(out == 0.25f);
  CHECK(errors.message() ==
        "json: cannot unmarshal string into Go struct field ToxicWrapper.toxicity of type "
        "float32");

  json::TypeErrors big;
  with_field("{\"v\":1e39}", [&](od::value& v) {
    CHECK_FALSE(json::read_float32(v, {big, "ToxicWrapper", "toxicity"}, out));
  });
  CHECK(out == 0.25f);
  CHECK(big.message() ==
        "json: cannot unmarshal number 1e39 into Go struct field ToxicWrapper.toxicity of type "
        "float32");

  json::TypeErrors null_errors;
  with_field("{\"v\":null}", [&](od::value& v) {
    CHECK_FALSE(json::read_float32(v, {null_errors, "", "toxicity"}, out));
  });
  CHECK(out == 0.25f);
  CHECK_FALSE(null_errors.any());
}

// A literal beyond the double range (1e400) makes std::from_chars report
// result_out_of_range without touching the value, which read_float32 then mistakes for an
// underflow and accepts as 0. Go's ParseFloat reports a range error, so the decode fails.
TEST_CASE("read_float32 rejects literals beyond the double range", "[json]") {
  json::TypeErrors errors;
  float out = 0.25f;
  with_field("{\"v\":1e400}", [&](od::value& v) {
    CHECK_FALSE(json::read_float32(v, {errors, "ToxicWrapper", "toxicity"}, out));
  });
  CHECK(out == 0.25f);
  CHECK(errors.message() ==
        "json: cannot unmarshal number 1e400 into Go struct field ToxicWrapper.toxicity of type "
        "float32");
}

TEST_CASE("append_quoted escapes like Go's encoder", "[json]") {
  CHECK(quoted("") == "\"\"");
  CHECK(quoted("plain text") == "\"plain text\"");
  CHECK(quoted("<a href=\"x\">&</a>") ==
        "\"\\u003ca href=\\\"x\\\"\\u003e\\u0026\\u003c/a\\u003e\"");
  CHECK(quoted("back\\slash") == "\"back\\\\slash\"");
  CHECK(quoted("a\nb\rc\td") == "\"a\\nb\\rc\\td\"");
  CHECK(quoted(std::string_view("\x00\x01\x1f", 3)) == "\"\\u0000\\u0001\\u001f\"");
  // DEL and '/' are not escaped.
  CHECK(quoted("\x7f/") == "\"\x7f/\"");
  // Valid UTF-8 passes through; invalid bytes become \ufffd one at a time.
  CHECK(quoted("caf\xc3\xa9 \xe2\x82\xac") == "\"caf\xc3\xa9 \xe2\x82\xac\"");
  CHECK(quoted("a\xff"
               "b") == "\"a\\ufffdb\"");
  CHECK(quoted("\xc3") == "\"\\ufffd\"");
  CHECK(quoted("\xe2\x82") == "\"\\ufffd\\ufffd\"");
  CHECK(quoted("\xf0\x9f\x98\x80") == "\"\xf0\x9f\x98\x80\"");
  // U+2028 and U+2029 are escaped for JavaScript.
  CHECK(quoted("\xe2\x80\xa8|\xe2\x80\xa9") == "\"\\u2028|\\u2029\"");

  std::string appended = "x=";
  json::append_quoted(appended, "y");
  CHECK(appended == "x=\"y\"");
}

TEST_CASE("fixed_decimal lays digits out around the decimal point", "[json]") {
  CHECK(json::fixed_decimal(false, "15", 1) == "1.5");
  CHECK(json::fixed_decimal(false, "15", 2) == "15");
  CHECK(json::fixed_decimal(false, "15", 4) == "1500");
  CHECK(json::fixed_decimal(false, "15", 0) == "0.15");
  CHECK(json::fixed_decimal(true, "15", -1) == "-0.015");
}

TEST_CASE("format_float32 prints the shortest float32 form", "[json]") {
  CHECK(json::format_float32(1.0f) == "1");
  CHECK(json::format_float32(0.0f) == "0");
  CHECK(json::format_float32(0.5f) == "0.5");
  CHECK(json::format_float32(0.1f) == "0.1");
  CHECK(json::format_float32(0.25f) == "0.25");
  CHECK(json::format_float32(0.75f) == "0.75");
  CHECK(json::format_float32(0.3333333333f) == "0.33333334");
  CHECK(json::format_float32(1.5f) == "1.5");
  CHECK(json::format_float32(-0.5f) == "-0.5");
  CHECK(json::format_float32(100.0f) == "100");
  CHECK(json::format_float32(1e-6f) == "0.000001");
  CHECK(json::format_float32(1e-7f) == "1e-7");
  CHECK(json::format_float32(-1e-7f) == "-1e-7");
  CHECK(json::format_float32(1.5e-10f) == "1.5e-10");
  CHECK(json::format_float32(1e21f) == "1e+21");
  CHECK(json::format_float32(2.5e25f) == "2.5e+25");
  CHECK(json::format_float32(3.4028235e38f) == "3.4028235e+38");
  CHECK(json::format_float32(16777216.0f) == "16777216");
}

// Go formats with the shortest digits that round-trip and pads with zeros ('f', -1, 32):
// float32(1e11) prints as 100000000000 and float32(123456789) as 123456790. std::to_chars
// with chars_format::fixed prints the exact binary value for large numbers instead.
TEST_CASE("format_float32 pads shortest digits with zeros for large values", "[json]") {
  CHECK(json::format_float32(1e11f) == "100000000000");
  CHECK(json::format_float32(123456789.0f) == "123456790");
  CHECK(json::format_float32(1e20f) == "100000000000000000000");
}

TEST_CASE("Writer produces compact JSON with separators", "[json]") {
  json::Writer w;
  w.begin_object()
      .key("name")
      .string("echo")
      .key("enabled")
      .boolean(true)
      .key("off")
      .boolean(false)
      .key("n")
      .integer(-42)
      .key("big")
      .integer(std::numeric_limits<int64_t>::max())
      .key("f")
      .float32(0.5f)
      .key("nil")
      .null()
      .key("Logger")
      .begin_object()
      .end_object()
      .key("list")
      .begin_array()
      .integer(1)
      .string("<")
      .begin_object()
      .end_object()
      .begin_array()
      .end_array()
      .raw("{\"r\":1}")
      .end_array()
      .end_object();
  CHECK(w.str() ==
        "{\"name\":\"echo\",\"enabled\":true,\"off\":false,\"n\":-42,"
        "\"big\":9223372036854775807,\"f\":0.5,\"nil\":null,\"Logger\":{},"
        "\"list\":[1,\"\\u003c\",{},[],{\"r\":1}]}");

  json::Writer empty;
  empty.begin_array().end_array();
  CHECK(empty.take() == "[]");

  json::Writer keys;
  keys.begin_object().key("a&b").integer(1).end_object();
  CHECK(keys.str() == "{\"a\\u0026b\":1}");

  json::Writer error;
  error.begin_object()
      .key("error")
      .string("proxy not found")
      .key("status")
      .integer(404)
      .end_object();
  CHECK(error.take() == "{\"error\":\"proxy not found\",\"status\":404}");
}

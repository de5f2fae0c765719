#include <catch2/catch.hpp>
#include <regex>
#include <string>
#include <vector>

#include "common/http.h"

using faultline::http::Limits;
using faultline::http::Request;
using faultline::http::RequestParser;
using faultline::http::Response;
using Status = RequestParser::Status;

namespace {

// Splits a serialized response into head and body, replacing the (time-dependent) Date
// header by "Date: <date>" after checking its format.
struct Wire {
  std::string head;
  std::string body;
};

Wire split_wire(const std::string& raw) {
  auto end = raw.find("\r\n\r\n");
  REQUIRE(end != std::string::npos);
  Wire w{raw.substr(0, end + 2), raw.substr(end + 4)};
  static const std::regex date_re(
      "Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
      "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} "
      "GMT\r\n");
  std::smatch m;
  REQUIRE(std::regex_search(w.head, m, date_re));
  w.head = m.prefix().str() + "Date: <date>\r\n" + m.suffix().str();
  return w;
}

const char kSimpleGet[] =
    "GET /version HTTP/1.1\r\n"
    "Host: 127.0.0.1:8474\r\n"
    "User-Agent: curl/7.88.1\r\n"
    "Accept: */*\r\n"
    "\r\n";

}  // namespace

TEST_CASE("RequestParser parses one complete request", "[http]") {
  RequestParser parser;
  Request req;
  size_t consumed = 0;
  std::string data = kSimpleGet;
  REQUIRE(parser.feed(data, consumed, req) == Status::kComplete);
  CHECK(consumed == data.size());
  CHECK(req.method == "GET");
  CHECK(req.target == "/version");
  CHECK(req.raw_path() == "/version");
  CHECK(req.version_minor == 1);
  CHECK(req.keep_alive);
  CHECK(req.body.empty());
  REQUIRE(req.headers.size() == 3);
  CHECK(req.headers[0].first == "Host");
  CHECK(req.headers[0].second == "127.0.0.1:8474");
  CHECK(req.header("user-agent") == "curl/7.88.1");
  CHECK(req.header("USER-AGENT") == "curl/7.88.1");
  CHECK(req.has_header("accept"));
  CHECK_FALSE(req.has_header("Content-Type"));
  CHECK(req.header("Content-Type").empty());
}

TEST_CASE("RequestParser: request with a Content-Length body and a query", "[http]") {
  RequestParser parser;
  Request req;
  size_t consumed = 0;
  std::string body = "{\"name\":\"echo\",\"upstream\":\"127.0.0.1:17100\"}";
  std::string data =
      "POST /proxies?x=1&y=2 HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  REQUIRE(parser.feed(data, consumed, req) == Status::kComplete);
  CHECK(consumed == data.size());
  CHECK(req.method == "POST");
  CHECK(req.target == "/proxies?x=1&y=2");
  CHECK(req.raw_path() == "/proxies");
  CHECK(req.body == body);
  CHECK(req.header("content-length") == std::to_string(body.size()));
}

TEST_CASE("RequestParser: keep-alive rules", "[http]") {
  auto parse = [](const std::string& data) {
    RequestParser parser;
    Request req;
    size_t consumed = 0;
    REQUIRE(parser.feed(data, consumed, req) == Status::kComplete);
    return req;
  };
  SECTION("HTTP/1.1 defaults to keep-alive") {
    CHECK(parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n").keep_alive);
  }
  SECTION("Connection: close ends it") {
    auto r = parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    CHECK_FALSE(r.keep_alive);
    CHECK(r.header("connection") == "close");
  }
  SECTION("HTTP/1.0 defaults to close") {
    auto r = parse("GET / HTTP/1.0\r\n\r\n");
    CHECK_FALSE(r.keep_alive);
    CHECK(r.version_minor == 0);
  }
  SECTION("HTTP/1.0 with Connection: keep-alive stays open") {
    CHECK(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
  }
}

TEST_CASE("RequestParser: pipelined requests are returned one at a time", "[http]") {
  RequestParser parser;
  std::string first = "POST /proxies HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd";
  std::string second = "DELETE /proxies/echo HTTP/1.1\r\nHost: h\r\n\r\n";
  std::string third = "GET /version HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
  std::string buffer = first + second + third;

  Request req;
  size_t consumed = 0;
  REQUIRE(parser.feed(buffer, consumed, req) == Status::kComplete);
  CHECK(consumed == first.size());
  CHECK(req.method == "POST");
  CHECK(req.target == "/proxies");
  CHECK(req.body == "abcd");
  CHECK(req.keep_alive);
  buffer.erase(0, consumed);

  Request req2;
  REQUIRE(parser.feed(buffer, consumed, req2) == Status::kComplete);
  CHECK(consumed == second.size());
  CHECK(req2.method == "DELETE");
  CHECK(req2.target == "/proxies/echo");
  CHECK(req2.body.empty());
  // Headers of the previous request do not leak into the next one.
  CHECK(req2.headers.size() == 1);
  buffer.erase(0, consumed);

  Request req3;
  REQUIRE(parser.feed(buffer, consumed, req3) == Status::kComplete);
  CHECK(consumed == third.size());
  CHECK(req3.method == "GET");
  CHECK(req3.target == "/version");
  CHECK_FALSE(req3.keep_alive);
}

TEST_CASE("RequestParser: a request split across several feeds", "[http]") {
  RequestParser parser;
  std::string data =
      "PATCH /proxies/echo HTTP/1.1\r\nHost: h\r\nUser-Agent: split-agent\r\n"
      "Content-Length: 17\r\n\r\n{\"enabled\":false}";
  Request req;
  size_t consumed = 0;
  // Cut inside the method, the target, a header name, a header value and the body.
  std::vector<size_t> cuts = {3, 12, 36, 47, 80, data.size() - 5};
  size_t pos = 0;
  for (size_t cut : cuts) {
    CAPTURE(cut);
    std::string_view piece(data.data() + pos, cut - pos);
    REQUIRE(parser.feed(piece, consumed, req) == Status::kNeedMore);
    CHECK(consumed == piece.size());
    pos = cut;
  }
  std::string_view rest(data.data() + pos, data.size() - pos);
  REQUIRE(parser.feed(rest, consumed, req) == Status::kComplete);
  CHECK(consumed == rest.size());
  CHECK(req.method == "PATCH");
  CHECK(req.target == "/proxies/echo");
  CHECK(req.header("User-Agent") == "split-agent");
  CHECK(req.header("Content-Length") == "17");
  CHECK(req.body == "{\"enabled\":false}");
}

TEST_CASE("RequestParser: byte-by-byte feeding", "[http]") {
  RequestParser parser;
  std::string data = kSimpleGet;
  Request req;
  size_t consumed = 0;
  for (size_t i = 0; i + 1 < data.size(); ++i) {
    REQUIRE(parser.feed(std::string_view(&data[i], 1), consumed, req) == Status::kNeedMore);
    CHECK(consumed == 1);
  }
  REQUIRE(parser.feed(std::string_view(&data.back(), 1), consumed, req) == Status::kComplete);
  CHECK(consumed == 1);
  CHECK(req.target == "/version");
  CHECK(req.header("accept") == "*/*");
}

TEST_CASE("RequestParser: chunked request body", "[http]") {
  RequestParser parser;
  std::string data =
      "POST /populate HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\n[{\"na\r\n"
      "9\r\nme\":\"p1\"}\r\n"
      "1\r\n]\r\n"
      "0\r\n\r\n";
  Request req;
  size_t consumed = 0;
  REQUIRE(parser.feed(data, consumed, req) == Status::kComplete);
  CHECK(consumed == data.size());
  CHECK(req.method == "POST");
  CHECK(req.body == "[{\"name\":\"p1\"}]");
}

TEST_CASE("RequestParser: malformed requests are 400", "[http]") {
  for (const char* data :
       {"GARBAGE\r\n\r\n", "GET /x HTTP/9.9\r\n\r\n", "GET /x HTTP/1.1\r\nBad Header\r\n\r\n",
        "POST /x HTTP/1.1\r\nContent-Length: abc\r\n\r\n"}) {
    CAPTURE(data);
    RequestParser parser;
    Request req;
    size_t consumed = 0;
    CHECK(parser.feed(data, consumed, req) == Status::kError);
    CHECK(parser.error_status() == 400);
    CHECK_FALSE(parser.error_text().empty());
  }
}

TEST_CASE("RequestParser: body limits give 413", "[http]") {
  Limits limits;
  limits.max_body_bytes = 10;

  SECTION("declared Content-Length over the limit") {
    RequestParser parser(limits);
    Request req;
    size_t consumed = 0;
    std::string data = "POST /proxies HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n";
    CHECK(parser.feed(data, consumed, req) == Status::kError);
    CHECK(parser.error_status() == 413);
    CHECK(parser.error_text() == "request body too large");
  }
  SECTION("exactly at the limit is fine") {
    RequestParser parser(limits);
    Request req;
    size_t consumed = 0;
    std::string data = "POST /proxies HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789";
    REQUIRE(parser.feed(data, consumed, req) == Status::kComplete);
    CHECK(req.body == "0123456789");
  }
  SECTION("chunked body growing over the limit") {
    RequestParser parser(limits);
    Request req;
    size_t consumed = 0;
    std::string data =
        "POST /proxies HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        "8\r\n01234567\r\n8\r\n89abcdef\r\n0\r\n\r\n";
    CHECK(parser.feed(data, consumed, req) == Status::kError);
    CHECK(parser.error_status() == 413);
  }
}

TEST_CASE("RequestParser: header limits give 431", "[http]") {
  Limits limits;
  limits.max_header_bytes = 64;

  SECTION("one long header value") {
    RequestParser parser(limits);
    Request req;
    size_t consumed = 0;
    std::string data = "GET / HTTP/1.1\r\nX-Long: " + std::string(100, 'a') + "\r\n\r\n";
    CHECK(parser.feed(data, consumed, req) == Status::kError);
    CHECK(parser.error_status() == 431);
    CHECK(parser.error_text() == "request header too large");
  }
  SECTION("many small headers") {
    RequestParser parser(limits);
    Request req;
    size_t consumed = 0;
    std::string data = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 20; ++i) data += "H" + std::to_string(i) + ": v\r\n";
    data += "\r\n";
    CHECK(parser.feed(data, consumed, req) == Status::kError);
    CHECK(parser.error_status() == 431);
  }
  SECTION("a long target") {
    RequestParser parser(limits);
    Request req;
    size_t consumed = 0;
    std::string data = "GET /" + std::string(100, 'p') + " HTTP/1.1\r\n\r\n";
    CHECK(parser.feed(data, consumed, req) == Status::kError);
    CHECK(parser.error_status() == 431);
  }
  SECTION("small headers within the limit pass") {
    RequestParser parser(limits);
    Request req;
    size_t consumed = 0;
    std::string data = "GET /version HTTP/1.1\r\nHost: h\r\n\r\n";
    REQUIRE(parser.feed(data, consumed, req) == Status::kComplete);
    CHECK(req.header("host") == "h");
  }
}

TEST_CASE("status_text", "[http]") {
  using faultline::http::status_text;
  CHECK(status_text(200) == "OK");
  CHECK(status_text(201) == "Created");
  CHECK(status_text(204) == "No Content");
  CHECK(status_text(301) == "Moved Permanently");
  CHECK(status_text(400) == "Bad Request");
  CHECK(status_text(403) == "Forbidden");
  CHECK(status_text(404) == "Not Found");
  CHECK(status_text(405) == "Method Not Allowed");
  CHECK(status_text(409) == "Conflict");
  CHECK(status_text(413) == "Request Entity Too Large");
  CHECK(status_text(431) == "Request Header Fields Too Large");
  CHECK(status_text(500) == "Internal Server Error");
  CHECK(status_text(503) == "Service Unavailable");
}

TEST_CASE("http_date uses the IMF-fixdate format", "[http]") {
  std::string d = faultline::http::http_date();
  static const std::regex re(
      "(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
      "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT");
  CHECK(std::regex_match(d, re));
}

TEST_CASE("serialize: header order follows Go's net/http", "[http]") {
  Response r;
  r.status = 404;
  r.headers = {{"X-Toxiproxy-Request-Id", "dc47b55qmd2vtqr643e0"},
               {"X-Content-Type-Options", "nosniff"},
               {"Content-Type", "text/plain; charset=utf-8"}};
  r.body = "{\"error\":\"proxy not found\",\"status\":404}\n";
  auto w = split_wire(faultline::http::serialize(r, false, true));
  CHECK(w.head ==
        "HTTP/1.1 404 Not Found\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "X-Toxiproxy-Request-Id: dc47b55qmd2vtqr643e0\r\n"
        "Date: <date>\r\n"
        "Content-Length: 41\r\n");
  CHECK(w.body == r.body);
}

TEST_CASE("serialize: Connection: close comes before Date", "[http]") {
  Response r;
  r.status = 200;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = "{}";
  SECTION("client asked to close") {
    auto w = split_wire(faultline::http::serialize(r, false, false));
    CHECK(w.head ==
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
          "Date: <date>\r\nContent-Length: 2\r\n");
    CHECK(w.body == "{}");
  }
  SECTION("handler asked to close") {
    r.close = true;
    auto w = split_wire(faultline::http::serialize(r, false, true));
    CHECK(w.head ==
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
          "Date: <date>\r\nContent-Length: 2\r\n");
  }
}

TEST_CASE("serialize: bodyless responses", "[http]") {
  SECTION("204 has no Content-Length and no body") {
    Response r;
    r.status = 204;
    r.headers = {{"X-Toxiproxy-Request-Id", "abc"}};
    r.body = "ignored";
    auto raw = faultline::http::serialize(r, false, true);
    auto w = split_wire(raw);
    CHECK(w.head == "HTTP/1.1 204 No Content\r\nX-Toxiproxy-Request-Id: abc\r\nDate: <date>\r\n");
    CHECK(w.body.empty());
  }
  SECTION("an empty 405 still has Content-Length: 0") {
    Response r;
    r.status = 405;
    auto w = split_wire(faultline::http::serialize(r, false, true));
    CHECK(w.head == "HTTP/1.1 405 Method Not Allowed\r\nDate: <date>\r\nContent-Length: 0\r\n");
    CHECK(w.body.empty());
  }
  SECTION("HEAD gets headers only") {
    Response r;
    r.status = 405;
    auto w = split_wire(faultline::http::serialize(r, true, true));
    CHECK(w.head == "HTTP/1.1 405 Method Not Allowed\r\nDate: <date>\r\n");
    CHECK(w.body.empty());

    Response ok;
    ok.status = 200;
    ok.headers = {{"Content-Type", "application/json"}};
    ok.body = "{\"a\":1}";
    auto w2 = split_wire(faultline::http::serialize(ok, true, true));
    CHECK(w2.head == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: <date>\r\n");
    CHECK(w2.body.empty());
  }
  SECTION("301 with Location") {
    Response r;
    r.status = 301;
    r.headers = {{"Location", "/proxies"}};
    auto w = split_wire(faultline::http::serialize(r, false, true));
    CHECK(w.head ==
          "HTTP/1.1 301 Moved Permanently\r\nLocation: /proxies\r\nDate: <date>\r\n"
          "Content-Length: 0\r\n");
  }
}

TEST_CASE("serialize: bodies over 2048 bytes are chunked", "[http]") {
  Response r;
  r.status = 200;
  r.headers = {{"Content-Type", "application/json"}};

  SECTION("2048 bytes keep Content-Length") {
    r.body = std::string(2048, 'x');
    auto w = split_wire(faultline::http::serialize(r, false, true));
    CHECK(w.head ==
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: <date>\r\n"
          "Content-Length: 2048\r\n");
    CHECK(w.body == r.body);
  }
  SECTION("2049 bytes are chunked") {
    r.body = std::string(2049, 'y');
    auto w = split_wire(faultline::http::serialize(r, false, true));
    CHECK(w.head ==
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
          "Date: <date>\r\n");
    CHECK(w.body == "801\r\n" + r.body + "\r\n0\r\n\r\n");
  }
  SECTION("chunked with Connection: close") {
    r.body = std::string(5000, 'z');
    auto w = split_wire(faultline::http::serialize(r, false, false));
    CHECK(w.head ==
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
          "Transfer-Encoding: chunked\r\nDate: <date>\r\n");
    CHECK(w.body == "1388\r\n" + r.body + "\r\n0\r\n\r\n");
  }
  SECTION("HEAD of a large body is neither chunked nor has a body") {
    r.body = std::string(5000, 'z');
    auto w = split_wire(faultline::http::serialize(r, true, true));
    CHECK(w.head == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: <date>\r\n");
    CHECK(w.body.empty());
  }
}

TEST_CASE("percent_decode", "[http]") {
  using faultline::http::percent_decode;
  std::string out;
  CHECK(percent_decode("/proxies/c%69", out));
  CHECK(out == "/proxies/ci");
  CHECK(percent_decode("/proxies/weird%2Fname", out));
  CHECK(out == "/proxies/weird/name");
  CHECK(percent_decode("%41%42c", out));
  CHECK(out == "ABc");
  CHECK(percent_decode("%e2%82%AC", out));
  CHECK(out == "\xe2\x82\xac");
  CHECK(percent_decode("a+b c", out));
  CHECK(out == "a+b c");
  CHECK(percent_decode("", out));
  CHECK(out.empty());
  CHECK(percent_decode("x%00y", out));
  CHECK(out == std::string("x\0y", 3));

  CHECK_FALSE(percent_decode("%zz", out));
  CHECK_FALSE(percent_decode("/a%4", out));
  CHECK_FALSE(percent_decode("/a%", out));
  CHECK_FALSE(percent_decode("%g1", out));
  CHECK_FALSE(percent_decode("%1g", out));
}

TEST_CASE("clean_path follows gorilla/mux", "[http]") {
  using faultline::http::clean_path;
  CHECK(clean_path("") == "/");
  CHECK(clean_path("/") == "/");
  CHECK(clean_path("/proxies") == "/proxies");
  CHECK(clean_path("//proxies") == "/proxies");
  CHECK(clean_path("/a/../proxies") == "/proxies");
  CHECK(clean_path("/proxies/") == "/proxies/");
  CHECK(clean_path("/proxies//echo") == "/proxies/echo");
  CHECK(clean_path("/./proxies/./echo") == "/proxies/echo");
  CHECK(clean_path("/proxies/echo/..") == "/proxies");
  CHECK(clean_path("/proxies/echo/../") == "/proxies/");
  CHECK(clean_path("/..") == "/");
  CHECK(clean_path("/../..//x") == "/x");
  CHECK(clean_path("//") == "/");
  CHECK(clean_path("proxies") == "/proxies");
  CHECK(clean_path("/a/b/../c/./d/") == "/a/c/d/");
  CHECK(clean_path("/...") == "/...");
  CHECK(clean_path("/proxies/echo/toxics/") == "/proxies/echo/toxics/");
}

#include "common/gzip.h"

TEST_CASE("gzip with zlib: a real gzip member that compresses", "[http]") {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "toxiproxy_proxy_sent_bytes_total{proxy=\"p\"} 12\n";
  std::string gz = faultline::gzip(text);
  CHECK(gz.substr(0, 3) == std::string("\x1f\x8b\x08", 3));  // gzip magic, deflate
  CHECK(gz.size() < text.size() / 20);                       // repetitive text shrinks
  std::string back;
  REQUIRE(faultline::gunzip(gz, back));
  CHECK(back == text);
  std::string empty;
  REQUIRE(faultline::gunzip(faultline::gzip(""), empty));
  CHECK(empty.empty());
  CHECK_FALSE(faultline::gunzip("not gzip", back));
}

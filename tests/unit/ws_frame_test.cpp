#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "loadgen/run/url.h"
#include "loadgen/run/ws_frame.h"

using namespace faultline::loadgen;

namespace {

// A server frame (never masked).
std::string server_frame(uint8_t first, const std::string& payload,
                         uint64_t declared = UINT64_MAX) {
  uint64_t n = declared == UINT64_MAX ? payload.size() : declared;
  std::string out(1, static_cast<char>(first));
  if (n < 126) {
    out.push_back(static_cast<char>(n));
  } else if (n <= 0xFFFF) {
    out.push_back(126);
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xFF));
  } else {
    out.push_back(127);
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((n >> shift) & 0xFF));
  }
  return out + payload;
}

}  // namespace

TEST_CASE("ws: the accept value of RFC 6455's example key", "[ws]") {
  CHECK(ws_accept_for("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  std::string key = ws_new_key();
  CHECK(key.size() == 24);
  CHECK(key != ws_new_key());
}

TEST_CASE("ws: client frames are masked, with the three length forms", "[ws]") {
  std::string out;
  ws_append_frame(out, WsOpcode::kText, "Hello", 0x37fa213d);
  // RFC 6455 §5.7: a masked "Hello".
  CHECK(out == std::string("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11));
  for (size_t n : {125u, 126u, 65535u, 65536u}) {
    std::string f;
    ws_append_frame(f, WsOpcode::kBinary, std::string(n, 'a'), 0);
    size_t header = n < 126 ? 2 : n <= 0xFFFF ? 4 : 10;
    CHECK(f.size() == header + 4 + n);
    CHECK((static_cast<uint8_t>(f[1]) & 0x80) != 0);
  }
}

TEST_CASE("ws: the reader reassembles fragments and passes control frames through", "[ws]") {
  WsReader reader(1 << 20);
  std::vector<WsMessage> out;
  std::string bytes = server_frame(0x01, "one ") + server_frame(0x89, "p") +
                      server_frame(0x00, "two ") + server_frame(0x80, "three") +
                      server_frame(0x82, std::string("\0\1", 2));
  // Byte by byte: frames split anywhere still come out whole.
  for (char c : bytes) REQUIRE(reader.feed(&c, 1, out));
  REQUIRE(out.size() == 3);
  CHECK(out[0].op == WsOpcode::kPing);
  CHECK(out[0].data == "p");
  CHECK(out[1].op == WsOpcode::kText);
  CHECK(out[1].data == "one two three");
  CHECK(out[2].op == WsOpcode::kBinary);
  CHECK(out[2].data == std::string("\0\1", 2));
  CHECK_FALSE(reader.in_message());
  std::string big = server_frame(0x81, std::string(70000, 'x'));
  out.clear();
  REQUIRE(reader.feed(big.data(), big.size(), out));
  REQUIRE(out.size() == 1);
  CHECK(out[0].data.size() == 70000);
}

TEST_CASE("ws: the reader rejects what RFC 6455 forbids", "[ws]") {
  struct Case {
    std::string bytes;
    std::string error;
  };
  std::vector<Case> cases = {
      {server_frame(0xC1, "x"), "websocket: unexpected reserved bits 0x4"},
      {server_frame(0x83, "x"), "websocket: unknown opcode 3"},
      {std::string("\x81\x81\0\0\0\0x", 7), "websocket: incorrect mask flag"},
      {server_frame(0x89, std::string(126, 'p')), "websocket: len > 125 for control"},
      {server_frame(0x09, "p"), "websocket: FIN not set on control"},
      {server_frame(0x80, "x"), "websocket: continuation after FIN"},
      {server_frame(0x01, "a") + server_frame(0x81, "b"),
       "websocket: message start before final message frame"},
      {server_frame(0x82, "", 1ull << 40), "websocket: read limit exceeded"},
      {server_frame(0x01, std::string(600, 'a')) + server_frame(0x80, std::string(600, 'b')),
       "websocket: read limit exceeded"},
  };
  for (const auto& c : cases) {
    WsReader reader(1000);
    std::vector<WsMessage> out;
    CHECK_FALSE(reader.feed(c.bytes.data(), c.bytes.size(), out));
    CHECK(reader.error() == c.error);
  }
}

TEST_CASE("ws: close frames and their codes", "[ws]") {
  uint16_t code = 0;
  std::string reason;
  CHECK(ws_parse_close(ws_close_payload(1011, "boom"), code, reason));
  CHECK(code == 1011);
  CHECK(reason == "boom");
  CHECK(ws_parse_close("", code, reason));
  CHECK(code == 1005);
  CHECK_FALSE(ws_parse_close("x", code, reason));
  CHECK_FALSE(ws_parse_close(ws_close_payload(1006), code, reason));
  CHECK(ws_parse_close(ws_close_payload(4000), code, reason));
  CHECK(ws_close_text(1011) == "close 1011 (internal server error)");
  CHECK(ws_close_text(4000) == "close 4000");
  // Nothing after a close frame is read.
  WsReader reader(1000);
  std::vector<WsMessage> out;
  std::string bytes = server_frame(0x88, ws_close_payload(1000)) + "garbage";
  CHECK(reader.feed(bytes.data(), bytes.size(), out));
  REQUIRE(out.size() == 1);
  CHECK(out[0].op == WsOpcode::kClose);
}

TEST_CASE("urls: the parts the clients use", "[ws]") {
  Url u;
  std::string error;
  REQUIRE(parse_url("ws://user:pw@example.com:9100/acp?x=1#frag", u, error));
  CHECK(u.scheme == "ws");
  CHECK(u.user == "user:pw");
  CHECK(u.host == "example.com");
  CHECK(u.port == "9100");
  CHECK(u.target == "/acp?x=1");
  CHECK(host_header(u) == "example.com:9100");
  REQUIRE(parse_url("WSS://[::1]", u, error));
  CHECK(u.scheme == "wss");
  CHECK(u.port == "443");
  CHECK(u.target == "/");
  CHECK(host_header(u) == "[::1]");
  CHECK_FALSE(parse_url("example.com/x", u, error));
  CHECK(error == "invalid URL: parse \"example.com/x\": invalid URI for request");
}

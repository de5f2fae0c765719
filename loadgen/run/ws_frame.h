// The WebSocket wire format of RFC 6455 as a client speaks it, independent of any socket:
// the opening handshake's key and accept values, client frames (always masked), and a
// reader that turns the server's bytes into messages — data messages reassembled from
// their fragments, control frames as they come — and rejects what the RFC forbids.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::loadgen {

enum class WsOpcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// A fresh Sec-WebSocket-Key: 16 random bytes in base64.
std::string ws_new_key();
// The Sec-WebSocket-Accept value a server must answer to `key`.
std::string ws_accept_for(std::string_view key);

// Appends one frame from the client to `out`, its payload masked with `mask`.
void ws_append_frame(std::string& out, WsOpcode op, std::string_view payload, uint32_t mask,
                     bool fin = true);
// The payload of a close frame: the code in network order, then the reason.
std::string ws_close_payload(uint16_t code, std::string_view reason = {});

struct WsMessage {
  WsOpcode op = WsOpcode::kText;  // text, binary, close, ping or pong
  std::string data;
};

class WsReader {
 public:
  // Messages (and control payloads) longer than `max_message` bytes are an error.
  explicit WsReader(size_t max_message) : max_message_(max_message) {}

  // Consumes `n` bytes from the server and appends every complete message to `out`. False
  // once the stream broke the protocol; error() then says how, and nothing more is read.
  bool feed(const char* data, size_t n, std::vector<WsMessage>& out);
  const std::string& error() const { return error_; }
  // Whether a fragmented data message is in progress.
  bool in_message() const { return assembling_; }

 private:
  bool fail(std::string text);

  size_t max_message_;
  std::string pending_;  // bytes of a frame not complete yet
  std::string message_;  // fragments of the data message being assembled
  WsOpcode message_op_ = WsOpcode::kText;
  bool assembling_ = false;
  std::string error_;
};

// A close frame's payload read back: code 1005 (none given) when it is empty; false when it
// is one byte long or names a code no endpoint may send.
bool ws_parse_close(std::string_view payload, uint16_t& code, std::string& reason);

// The text gorilla/websocket (k6's library) gives a close code in its errors:
// "close 1011 (internal server error)".
std::string ws_close_text(uint16_t code);

}  // namespace faultline::loadgen

#include "loadgen/run/ws_frame.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstring>

namespace faultline::loadgen {

namespace {

std::string base64(const unsigned char* bytes, size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes, static_cast<int>(n));
  out.resize(static_cast<size_t>(written));
  return out;
}

bool is_control(WsOpcode op) {
  return (static_cast<uint8_t>(op) & 0x8) != 0;
}

}  // namespace

std::string ws_new_key() {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) {
    // No entropy source: any 16 bytes make a valid key (it only proves the server speaks
    // WebSocket), so fall back to the clock.
    auto t =
        static_cast<uint64_t>(reinterpret_cast<uintptr_t>(&raw)) ^ static_cast<uint64_t>(clock());
    std::memcpy(raw, &t, sizeof t);
    std::memcpy(raw + 8, &t, sizeof t);
  }
  return base64(raw, sizeof raw);
}

std::string ws_accept_for(std::string_view key) {
  std::string joined(key);
  joined += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";  // RFC 6455 §1.3
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(joined.data()), joined.size(), digest);
  return base64(digest, sizeof digest);
}

void ws_append_frame(std::string& out, WsOpcode op, std::string_view payload, uint32_t mask,
                     bool fin) {
  out.push_back(static_cast<char>((fin ? 0x80 : 0) | static_cast<uint8_t>(op)));
  size_t n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xFF));
  } else {
    out.push_back(static_cast<char>(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((n >> shift) & 0xFF));
  }
  unsigned char key[4] = {static_cast<unsigned char>(mask >> 24),
                          static_cast<unsigned char>(mask >> 16),
                          static_cast<unsigned char>(mask >> 8), static_cast<unsigned char>(mask)};
  out.append(reinterpret_cast<const char*>(key), 4);
  size_t at = out.size();
  out.append(payload);
  for (size_t i = 0; i < n; ++i) out[at + i] = static_cast<char>(out[at + i] ^ key[i & 3]);
}

std::string ws_close_payload(uint16_t code, std::string_view reason) {
  std::string out;
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code & 0xFF));
  out.append(reason);
  return out;
}

bool WsReader::fail(std::string text) {
  error_ = "websocket: " + std::move(text);
  pending_.clear();
  return false;
}

bool WsReader::feed(const char* data, size_t n, std::vector<WsMessage>& out) {
  if (!error_.empty()) return false;
  pending_.append(data, n);
  size_t pos = 0;
  auto byte = [&](size_t i) { return static_cast<uint8_t>(pending_[pos + i]); };
  while (pending_.size() - pos >= 2) {
    size_t avail = pending_.size() - pos;
    uint8_t b0 = byte(0), b1 = byte(1);
    bool fin = (b0 & 0x80) != 0;
    auto op = static_cast<WsOpcode>(b0 & 0x0F);
    if ((b0 & 0x70) != 0)
      return fail("unexpected reserved bits 0x" + std::to_string((b0 & 0x70) >> 4));
    switch (op) {
      case WsOpcode::kContinuation:
      case WsOpcode::kText:
      case WsOpcode::kBinary:
      case WsOpcode::kClose:
      case WsOpcode::kPing:
      case WsOpcode::kPong:
        break;
      default:
        return fail("unknown opcode " + std::to_string(b0 & 0x0F));
    }
    if ((b1 & 0x80) != 0) return fail("incorrect mask flag");
    uint64_t length = b1 & 0x7F;
    size_t header = 2;
    if (length == 126) {
      if (avail < 4) break;
      length = (static_cast<uint64_t>(byte(2)) << 8) | byte(3);
      header = 4;
    } else if (length == 127) {
      if (avail < 10) break;
      length = 0;
      for (size_t i = 0; i < 8; ++i) length = (length << 8) | byte(2 + i);
      header = 10;
      if ((length >> 63) != 0) return fail("invalid frame length");
    }
    if (is_control(op)) {
      if (length > 125) return fail("len > 125 for control");
      if (!fin) return fail("FIN not set on control");
    } else {
      if (op == WsOpcode::kContinuation && !assembling_) return fail("continuation after FIN");
      if (op != WsOpcode::kContinuation && assembling_) {
        return fail("message start before final message frame");
      }
      uint64_t total = (assembling_ ? message_.size() : 0) + length;
      if (total > max_message_) return fail("read limit exceeded");
    }
    if (avail - header < length) {
      // Wait for the rest of the frame; keep what is here.
      break;
    }
    std::string_view payload(pending_.data() + pos + header, static_cast<size_t>(length));
    pos += header + static_cast<size_t>(length);
    if (is_control(op)) {
      out.push_back({op, std::string(payload)});
      if (op == WsOpcode::kClose) {
        pending_.clear();
        return true;  // nothing after a close frame counts
      }
      continue;
    }
    if (op != WsOpcode::kContinuation) {
      message_op_ = op;
      message_.clear();
    }
    message_.append(payload);
    assembling_ = !fin;
    if (fin) {
      out.push_back({message_op_, std::move(message_)});
      message_.clear();
    }
  }
  pending_.erase(0, pos);
  return true;
}

bool ws_parse_close(std::string_view payload, uint16_t& code, std::string& reason) {
  reason.clear();
  if (payload.empty()) {
    code = 1005;
    return true;
  }
  if (payload.size() == 1) return false;
  code = static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) |
                               static_cast<uint8_t>(payload[1]));
  reason.assign(payload.substr(2));
  bool valid = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
               (code >= 3000 && code <= 4999);
  return valid;
}

std::string ws_close_text(uint16_t code) {
  const char* name = nullptr;
  switch (code) {
    case 1000:
      name = "normal";
      break;
    case 1001:
      name = "going away";
      break;
    case 1002:
      name = "protocol error";
      break;
    case 1003:
      name = "unsupported data";
      break;
    case 1005:
      name = "no status";
      break;
    case 1006:
      name = "abnormal closure";
      break;
    case 1007:
      name = "invalid payload data";
      break;
    case 1008:
      name = "policy violation";
      break;
    case 1009:
      name = "message too big";
      break;
    case 1010:
      name = "mandatory extension missing";
      break;
    case 1011:
      name = "internal server error";
      break;
    case 1015:
      name = "TLS handshake error";
      break;
    default:
      break;
  }
  std::string out = "close " + std::to_string(code);
  if (name != nullptr) out += std::string(" (") + name + ")";
  return out;
}

}  // namespace faultline::loadgen

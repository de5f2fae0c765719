// A gzip container (RFC 1952) around deflate "stored" blocks (RFC 1951 §3.2.4): valid for
// every gzip reader, without compressing. It lets /metrics honour Accept-Encoding: gzip as
// Prometheus' Go handler does, without adding a compression library to the dependencies.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace faultline {

uint32_t crc32(std::string_view data);
std::string gzip_stored(std::string_view data);

}  // namespace faultline

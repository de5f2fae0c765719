// gzip (RFC 1952) compression with zlib, for /metrics when the client sends
// Accept-Encoding: gzip, as Prometheus' Go handler does.
#pragma once

#include <string>
#include <string_view>

namespace faultline {

// `data` compressed into a gzip member (zlib's default level).
std::string gzip(std::string_view data);
// The data of one gzip member; false when `gz` is not one.
bool gunzip(std::string_view gz, std::string& out);

}  // namespace faultline

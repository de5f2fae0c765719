#include "loadgen/run/url.h"

#include <cctype>

namespace faultline::loadgen {

namespace {

std::string default_port(const std::string& scheme) {
  return scheme == "https" || scheme == "wss" ? "443" : "80";
}

}  // namespace

bool parse_url(const std::string& url, Url& out, std::string& error) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    error = "invalid URL: parse \"" + url + "\": invalid URI for request";
    return false;
  }
  out.scheme = url.substr(0, scheme_end);
  for (auto& c : out.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string rest = url.substr(scheme_end + 3);
  size_t path = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, path);
  out.target = path == std::string::npos ? "/" : rest.substr(path);
  size_t hash = out.target.find('#');
  if (hash != std::string::npos) out.target.resize(hash);
  if (out.target.empty() || out.target[0] == '?') out.target.insert(0, "/");
  size_t at = authority.rfind('@');
  out.user.clear();
  if (at != std::string::npos) {
    out.user = authority.substr(0, at);
    authority = authority.substr(at + 1);
  }
  out.port = default_port(out.scheme);
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) {
      error = "invalid URL: parse \"" + url + "\": missing ']' in host";
      return false;
    }
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') {
      out.port = authority.substr(close + 2);
    }
  } else {
    size_t colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) out.port = authority.substr(colon + 1);
  }
  if (out.host.empty()) {
    error = "invalid URL: parse \"" + url + "\": empty host";
    return false;
  }
  return true;
}

std::string host_header(const Url& u) {
  std::string out = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  if (u.port != default_port(u.scheme)) out += ":" + u.port;
  return out;
}

}  // namespace faultline::loadgen

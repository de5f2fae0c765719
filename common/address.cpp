#include "common/address.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace faultline {
namespace {

std::string addr_error(std::string_view addr, std::string_view what) {
  if (addr.empty()) return std::string(what);
  std::string s = "address ";
  s += addr;
  s += ": ";
  s += what;
  return s;
}

// strerror() text in Go's style (lower-case first letter).
std::string errno_text(int e) {
  std::string s = std::strerror(e);
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

}  // namespace

std::optional<HostPort> split_host_port(std::string_view addr, std::string& err) {
  auto fail = [&](std::string_view why) -> std::optional<HostPort> {
    err = addr_error(addr, why);
    return std::nullopt;
  };
  size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos) return fail("missing port in address");
  std::string_view host;
  size_t j = 0, k = 0;
  if (!addr.empty() && addr[0] == '[') {
    size_t end = addr.find(']');
    if (end == std::string_view::npos) return fail("missing ']' in address");
    if (end + 1 == addr.size()) return fail("missing port in address");
    if (end + 1 != colon) {
      if (addr[end + 1] == ':') return fail("too many colons in address");
      return fail("missing port in address");
    }
    host = addr.substr(1, end - 1);
    j = 1;
    k = end + 1;
  } else {
    host = addr.substr(0, colon);
    if (host.find(':') != std::string_view::npos) return fail("too many colons in address");
  }
  if (addr.find('[', j) != std::string_view::npos) return fail("unexpected '[' in address");
  if (addr.find(']', k) != std::string_view::npos) return fail("unexpected ']' in address");
  return HostPort{std::string(host), std::string(addr.substr(colon + 1))};
}

std::string join_host_port(std::string_view host, std::string_view port) {
  std::string s;
  if (host.find(':') != std::string_view::npos) {
    s = "[";
    s += host;
    s += "]";
  } else {
    s = host;
  }
  s += ":";
  s += port;
  return s;
}

std::optional<ListenAddress> resolve_listen(std::string_view addr, std::string& err) {
  ListenAddress out;
  std::string host, port_text;
  if (!addr.empty()) {
    auto hp = split_host_port(addr, err);
    if (!hp) return std::nullopt;
    host = hp->host;
    port_text = hp->port;
  }
  // Port: decimal 0..65535, or a service name from /etc/services.
  int port = 0;
  if (!port_text.empty()) {
    // Go's parsePort: an optional sign, then decimal digits.
    std::string_view digits = port_text;
    bool negative = false;
    if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
      negative = digits[0] == '-';
      digits.remove_prefix(1);
    }
    bool numeric = !digits.empty() && digits.find_first_not_of("0123456789") == std::string::npos;
    if (numeric) {
      long long p = 0;
      auto res = std::from_chars(digits.data(), digits.data() + digits.size(), p);
      if (res.ec != std::errc() || p > 65535 || (negative && p != 0)) {
        err = addr_error(port_text, "invalid port");
        return std::nullopt;
      }
      port = static_cast<int>(p);
    } else {
      servent* se = getservbyname(port_text.c_str(), "tcp");
      if (se == nullptr) {
        err = "lookup tcp/" + port_text + ": unknown port";
        return std::nullopt;
      }
      port = ntohs(static_cast<uint16_t>(se->s_port));
    }
  }

  auto set_v4 = [&](in_addr a) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out.storage);
    sin->sin_family = AF_INET;
    sin->sin_addr = a;
    sin->sin_port = htons(static_cast<uint16_t>(port));
    out.length = sizeof(sockaddr_in);
  };
  auto set_v6 = [&](const in6_addr& a, uint32_t scope) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_addr = a;
    sin6->sin6_scope_id = scope;
    sin6->sin6_port = htons(static_cast<uint16_t>(port));
    out.length = sizeof(sockaddr_in6);
  };

  in_addr v4{};
  in6_addr v6{};
  if (host.empty()) {
    out.wildcard = true;
    set_v6(in6addr_any, 0);
    out.resolved = ":" + std::to_string(port);
    return out;
  }
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    set_v4(v4);
    out.wildcard = v4.s_addr == htonl(INADDR_ANY);
    if (out.wildcard) set_v6(in6addr_any, 0);
    out.resolved = host + ":" + std::to_string(port);
    return out;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_V4MAPPED(&v6)) {
    // Go treats an IPv4-mapped address as the IPv4 address itself.
    std::memcpy(&v4, &v6.s6_addr[12], 4);
    set_v4(v4);
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &v4, text, sizeof text);
    out.wildcard = v4.s_addr == htonl(INADDR_ANY);
    if (out.wildcard) set_v6(in6addr_any, 0);
    out.resolved = std::string(text) + ":" + std::to_string(port);
    return out;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    set_v6(v6, 0);
    out.wildcard = IN6_IS_ADDR_UNSPECIFIED(&v6);
    out.resolved = join_host_port(host, std::to_string(port));
    // Normalise the textual form the way Go prints IPs.
    char text[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &v6, text, sizeof text);
    out.resolved = join_host_port(text, std::to_string(port));
    return out;
  }
  // A hostname: resolved once, the first IPv4 address preferred (Go's behaviour).
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || res == nullptr) {
    err = "lookup " + host + ": no such host";
    return std::nullopt;
  }
  const addrinfo* pick = nullptr;
  for (const addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET) {
      pick = ai;
      break;
    }
    if (pick == nullptr && ai->ai_family == AF_INET6) pick = ai;
  }
  if (pick == nullptr) {
    freeaddrinfo(res);
    err = "lookup " + host + ": no such host";
    return std::nullopt;
  }
  if (pick->ai_family == AF_INET) {
    set_v4(reinterpret_cast<const sockaddr_in*>(pick->ai_addr)->sin_addr);
  } else {
    const auto* s6 = reinterpret_cast<const sockaddr_in6*>(pick->ai_addr);
    set_v6(s6->sin6_addr, s6->sin6_scope_id);
  }
  freeaddrinfo(res);
  out.resolved = format_sockaddr(reinterpret_cast<const sockaddr*>(&out.storage));
  return out;
}

std::string format_sockaddr(const sockaddr* sa) {
  char text[INET6_ADDRSTRLEN] = {0};
  if (sa->sa_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(sin->sin_port));
  }
  if (sa->sa_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(sa);
    if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
      inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], text, sizeof text);
      return std::string(text) + ":" + std::to_string(ntohs(sin6->sin6_port));
    }
    inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof text);
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(sin6->sin6_port));
  }
  return "";
}

uint16_t ip_text(const sockaddr* sa, char (&out)[INET6_ADDRSTRLEN]) {
  out[0] = '\0';
  if (sa->sa_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(sa);
    const auto* b = reinterpret_cast<const unsigned char*>(&sin->sin_addr.s_addr);
    char* at = out;
    for (int i = 0; i < 4; ++i) {
      unsigned v = b[i];
      if (v >= 100) *at++ = static_cast<char>('0' + v / 100);
      if (v >= 10) *at++ = static_cast<char>('0' + v / 10 % 10);
      *at++ = static_cast<char>('0' + v % 10);
      *at++ = i < 3 ? '.' : '\0';
    }
    return ntohs(sin->sin_port);
  }
  if (sa->sa_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &sin6->sin6_addr, out, INET6_ADDRSTRLEN);
    return ntohs(sin6->sin6_port);
  }
  return 0;
}

std::string local_address(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "";
  return format_sockaddr(reinterpret_cast<const sockaddr*>(&ss));
}

int bind_listener(const ListenAddress& addr, std::string& err, int backlog) {
  sockaddr_storage ss = addr.storage;
  socklen_t len = addr.length;
  int family = ss.ss_family;
  int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 && addr.wildcard && family == AF_INET6) {
    // No IPv6 on this host: fall back to the IPv4 wildcard, as Go does.
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    uint16_t port = reinterpret_cast<const sockaddr_in6*>(&addr.storage)->sin6_port;
    std::memset(&ss, 0, sizeof ss);
    sin->sin_family = AF_INET;
    sin->sin_port = port;
    sin->sin_addr.s_addr = htonl(INADDR_ANY);
    len = sizeof(sockaddr_in);
    family = AF_INET;
    fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  }
  auto fail = [&](std::string_view op, int e) {
    // Go names the address as it resolved it: ":80" for an empty host, "0.0.0.0:80" for
    // either wildcard (captured from Toxiproxy 2.12.0), else the address itself.
    std::string shown = addr.resolved;
    if (addr.wildcard && (shown.empty() || shown[0] != ':')) {
      shown = "0.0.0.0" + shown.substr(shown.rfind(':'));
    }
    if (shown.empty()) shown = format_sockaddr(reinterpret_cast<const sockaddr*>(&ss));
    err = "listen tcp " + shown + ": ";
    err += op;
    err += ": " + errno_text(e);
    if (fd >= 0) ::close(fd);
    return -1;
  };
  if (fd < 0) return fail("socket", errno);
  int one = 1, zero = 0;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == AF_INET6 && addr.wildcard) {
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  }
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0) return fail("bind", errno);
  if (::listen(fd, backlog) != 0) return fail("listen", errno);
  return fd;
}

}  // namespace faultline

// Host/port handling with the semantics of Go's net package, which decides what
// Toxiproxy reports as a proxy's listen address.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace faultline {

struct HostPort {
  std::string host;
  std::string port;
};

// Go's net.SplitHostPort. On failure `err` is e.g. "address x: missing port in address".
std::optional<HostPort> split_host_port(std::string_view addr, std::string& err);

// Joins host and port, bracketing IPv6 literals.
std::string join_host_port(std::string_view host, std::string_view port);

// A TCP address resolved for listening. `wildcard` means all interfaces (an empty host,
// 0.0.0.0 or ::), which is bound as a dual-stack IPv6 socket and reported as [::]:port.
struct ListenAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  bool wildcard = false;
  // What Go's ResolveTCPAddr(...).String() gives: "127.0.0.1:80", "[::1]:80", ":0".
  std::string resolved;
};

// Resolves `addr` like net.ResolveTCPAddr("tcp", addr): hostnames prefer IPv4, ports may be
// numeric or service names. On failure `err` holds Go's text without the "listen tcp: "
// prefix (the update route reports it that way).
std::optional<ListenAddress> resolve_listen(std::string_view addr, std::string& err);

// Binds and listens (SO_REUSEADDR, non-blocking, close-on-exec). Returns the fd or -1 with
// `err` set to Go's text: "listen tcp 127.0.0.1:80: bind: address already in use".
int bind_listener(const ListenAddress& addr, std::string& err, int backlog = 4096);

// The local address of a socket as Go prints it ("127.0.0.1:80", "[::]:80").
std::string local_address(int fd);
std::string format_sockaddr(const sockaddr* sa);
// The IP address of `sa` as inet_ntop writes it, into `out` ("" for a family that is
// neither IPv4 nor IPv6); returns the port. For per-request use: an IPv4 address is written
// directly (inet_ntop goes through sprintf) and nothing is allocated.
uint16_t ip_text(const sockaddr* sa, char (&out)[INET6_ADDRSTRLEN]);

}  // namespace faultline

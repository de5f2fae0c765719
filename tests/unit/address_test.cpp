#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "common/address.h"

using faultline::bind_listener;
using faultline::join_host_port;
using faultline::local_address;
using faultline::resolve_listen;
using faultline::split_host_port;

namespace {

// Closes a descriptor at scope exit.
struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

std::string port_of(const std::string& hostport) {
  return hostport.substr(hostport.rfind(':') + 1);
}

}  // namespace

TEST_CASE("split_host_port splits plain, IPv6 and empty hosts", "[address]") {
  std::string err;

  auto hp = split_host_port("127.0.0.1:8474", err);
  REQUIRE(hp);
  CHECK(hp->host == "127.0.0.1");
  CHECK(hp->port == "8474");

  hp = split_host_port("localhost:http", err);
  REQUIRE(hp);
  CHECK(hp->host == "localhost");
  CHECK(hp->port == "http");

  hp = split_host_port("[::1]:80", err);
  REQUIRE(hp);
  CHECK(hp->host == "::1");
  CHECK(hp->port == "80");

  hp = split_host_port("[fe80::1%lo]:9", err);
  REQUIRE(hp);
  CHECK(hp->host == "fe80::1%lo");
  CHECK(hp->port == "9");

  hp = split_host_port(":0", err);
  REQUIRE(hp);
  CHECK(hp->host.empty());
  CHECK(hp->port == "0");

  // Go allows an empty port.
  hp = split_host_port("example.com:", err);
  REQUIRE(hp);
  CHECK(hp->host == "example.com");
  CHECK(hp->port.empty());

  hp = split_host_port("[]:5", err);
  REQUIRE(hp);
  CHECK(hp->host.empty());
  CHECK(hp->port == "5");
}

TEST_CASE("split_host_port reports Go's error texts", "[address]") {
  std::string err;

  CHECK_FALSE(split_host_port("local373", err));
  CHECK(err == "address local373: missing port in address");

  CHECK_FALSE(split_host_port("::1:80", err));
  CHECK(err == "address ::1:80: too many colons in address");

  CHECK_FALSE(split_host_port("a:b:c", err));
  CHECK(err == "address a:b:c: too many colons in address");

  CHECK_FALSE(split_host_port("[::1]", err));
  CHECK(err == "address [::1]: missing port in address");

  CHECK_FALSE(split_host_port("[::1]:80:90", err));
  CHECK(err == "address [::1]:80:90: too many colons in address");

  CHECK_FALSE(split_host_port("[::1]x:80", err));
  CHECK(err == "address [::1]x:80: missing port in address");

  CHECK_FALSE(split_host_port("[::1:80", err));
  CHECK(err == "address [::1:80: missing ']' in address");

  CHECK_FALSE(split_host_port("a[b:80", err));
  CHECK(err == "address a[b:80: unexpected '[' in address");

  CHECK_FALSE(split_host_port("a]b:80", err));
  CHECK(err == "address a]b:80: unexpected ']' in address");

  CHECK_FALSE(split_host_port("[::1]:8]0", err));
  CHECK(err == "address [::1]:8]0: unexpected ']' in address");
}

// Go's AddrError leaves out the "address <addr>: " part when the address is empty, so
// net.SplitHostPort("") fails with just "missing port in address".
TEST_CASE("split_host_port of an empty string", "[address]") {
  std::string err;
  CHECK_FALSE(split_host_port("", err));
  CHECK(err == "missing port in address");
}

TEST_CASE("join_host_port brackets IPv6 hosts only", "[address]") {
  CHECK(join_host_port("127.0.0.1", "80") == "127.0.0.1:80");
  CHECK(join_host_port("localhost", "8474") == "localhost:8474");
  CHECK(join_host_port("::1", "80") == "[::1]:80");
  CHECK(join_host_port("::", "0") == "[::]:0");
  CHECK(join_host_port("", "0") == ":0");
  CHECK(join_host_port("fe80::1%eth0", "22") == "[fe80::1%eth0]:22");
}

TEST_CASE("resolve_listen: wildcard forms", "[address]") {
  std::string err;

  SECTION("empty string means all interfaces and a random port") {
    auto a = resolve_listen("", err);
    REQUIRE(a);
    CHECK(a->wildcard);
    CHECK(a->resolved == ":0");
    CHECK(a->storage.ss_family == AF_INET6);
    CHECK(a->length == sizeof(sockaddr_in6));
  }
  SECTION(":0") {
    auto a = resolve_listen(":0", err);
    REQUIRE(a);
    CHECK(a->wildcard);
    CHECK(a->resolved == ":0");
    CHECK(a->storage.ss_family == AF_INET6);
  }
  SECTION(":8666 keeps the port") {
    auto a = resolve_listen(":8666", err);
    REQUIRE(a);
    CHECK(a->wildcard);
    CHECK(a->resolved == ":8666");
    auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&a->storage);
    CHECK(ntohs(sin6->sin6_port) == 8666);
  }
  SECTION("0.0.0.0:0 becomes a dual-stack IPv6 wildcard") {
    auto a = resolve_listen("0.0.0.0:0", err);
    REQUIRE(a);
    CHECK(a->wildcard);
    CHECK(a->resolved == "0.0.0.0:0");
    CHECK(a->storage.ss_family == AF_INET6);
  }
  SECTION("[::]:0") {
    auto a = resolve_listen("[::]:0", err);
    REQUIRE(a);
    CHECK(a->wildcard);
    CHECK(a->resolved == "[::]:0");
    CHECK(a->storage.ss_family == AF_INET6);
  }
}

TEST_CASE("resolve_listen: concrete addresses", "[address]") {
  std::string err;

  auto a = resolve_listen("127.0.0.1:17001", err);
  REQUIRE(a);
  CHECK_FALSE(a->wildcard);
  CHECK(a->resolved == "127.0.0.1:17001");
  REQUIRE(a->storage.ss_family == AF_INET);
  CHECK(a->length == sizeof(sockaddr_in));
  auto* sin = reinterpret_cast<const sockaddr_in*>(&a->storage);
  CHECK(ntohs(sin->sin_port) == 17001);
  CHECK(ntohl(sin->sin_addr.s_addr) == INADDR_LOOPBACK);

  // localhost prefers IPv4.
  a = resolve_listen("localhost:0", err);
  REQUIRE(a);
  CHECK_FALSE(a->wildcard);
  CHECK(a->resolved == "127.0.0.1:0");
  CHECK(a->storage.ss_family == AF_INET);

  a = resolve_listen("localhost:17005", err);
  REQUIRE(a);
  CHECK(a->resolved == "127.0.0.1:17005");

  a = resolve_listen("[::1]:0", err);
  REQUIRE(a);
  CHECK_FALSE(a->wildcard);
  CHECK(a->resolved == "[::1]:0");
  CHECK(a->storage.ss_family == AF_INET6);

  // IPv6 text is normalised the way Go prints IPs.
  a = resolve_listen("[0:0:0:0:0:0:0:1]:80", err);
  REQUIRE(a);
  CHECK(a->resolved == "[::1]:80");

  // Port 65535 is the largest valid one; leading zeros are fine.
  a = resolve_listen("127.0.0.1:65535", err);
  REQUIRE(a);
  CHECK(a->resolved == "127.0.0.1:65535");
  a = resolve_listen("127.0.0.1:0080", err);
  REQUIRE(a);
  CHECK(a->resolved == "127.0.0.1:80");

  // Service names are looked up.
  a = resolve_listen("127.0.0.1:http", err);
  REQUIRE(a);
  CHECK(a->resolved == "127.0.0.1:80");
}

TEST_CASE("resolve_listen: errors", "[address]") {
  std::string err;

  CHECK_FALSE(resolve_listen("127.0.0.1:99999", err));
  CHECK(err == "address 99999: invalid port");

  CHECK_FALSE(resolve_listen("127.0.0.1:65536", err));
  CHECK(err == "address 65536: invalid port");

  CHECK_FALSE(resolve_listen("127.0.0.1:123456789012345678901234", err));
  CHECK(err == "address 123456789012345678901234: invalid port");

  CHECK_FALSE(resolve_listen("local373", err));
  CHECK(err == "address local373: missing port in address");

  CHECK_FALSE(resolve_listen("bad", err));
  CHECK(err == "address bad: missing port in address");

  CHECK_FALSE(resolve_listen("::1:80", err));
  CHECK(err == "address ::1:80: too many colons in address");

  CHECK_FALSE(resolve_listen("127.0.0.1:nosuchservice-xyz", err));
  CHECK(err == "lookup tcp/nosuchservice-xyz: unknown port");

  CHECK_FALSE(resolve_listen("nosuchhost.invalid:80", err));
  CHECK(err.rfind("lookup nosuchhost.invalid", 0) == 0);
}

// Go's parsePort accepts a leading '+' ("+80" is port 80) and reports a negative port as
// an invalid port rather than an unknown service.
TEST_CASE("resolve_listen: signed numeric ports follow Go's parsePort", "[address]") {
  std::string err;
  auto a = resolve_listen("127.0.0.1:+80", err);
  CHECK(a.has_value());
  if (a) CHECK(a->resolved == "127.0.0.1:80");

  CHECK_FALSE(resolve_listen("127.0.0.1:-1", err));
  CHECK(err == "address -1: invalid port");
}

// Go's IP.String() prints an IPv4-mapped IPv6 address in dotted IPv4 form, so
// ResolveTCPAddr("[::ffff:127.0.0.1]:80").String() is "127.0.0.1:80".
TEST_CASE("resolve_listen: IPv4-mapped IPv6 prints as IPv4", "[address]") {
  std::string err;
  auto a = resolve_listen("[::ffff:127.0.0.1]:80", err);
  REQUIRE(a);
  CHECK(a->resolved == "127.0.0.1:80");
}

TEST_CASE("bind_listener reports the bound address like Go", "[address]") {
  std::string err;

  SECTION("127.0.0.1:0 picks an ephemeral port") {
    auto a = resolve_listen("127.0.0.1:0", err);
    REQUIRE(a);
    Fd fd(bind_listener(*a, err));
    REQUIRE(fd.fd >= 0);
    std::string local = local_address(fd.fd);
    CHECK(local.rfind("127.0.0.1:", 0) == 0);
    int port = std::stoi(port_of(local));
    CHECK(port > 0);
    CHECK(port <= 65535);
  }
  SECTION("localhost:0 binds IPv4 loopback") {
    auto a = resolve_listen("localhost:0", err);
    REQUIRE(a);
    Fd fd(bind_listener(*a, err));
    REQUIRE(fd.fd >= 0);
    CHECK(local_address(fd.fd).rfind("127.0.0.1:", 0) == 0);
  }
  SECTION("empty, :0 and 0.0.0.0:0 report [::]:port") {
    for (const char* text : {"", ":0", "0.0.0.0:0", "[::]:0"}) {
      CAPTURE(text);
      auto a = resolve_listen(text, err);
      REQUIRE(a);
      Fd fd(bind_listener(*a, err));
      REQUIRE(fd.fd >= 0);
      std::string local = local_address(fd.fd);
      CHECK(local.rfind("[::]:", 0) == 0);
      CHECK(std::stoi(port_of(local)) > 0);
    }
  }
  SECTION("the wildcard socket is dual-stack") {
    auto a = resolve_listen("0.0.0.0:0", err);
    REQUIRE(a);
    Fd fd(bind_listener(*a, err));
    REQUIRE(fd.fd >= 0);
    int v6only = 1;
    socklen_t len = sizeof v6only;
    REQUIRE(getsockopt(fd.fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len) == 0);
    CHECK(v6only == 0);
  }
  SECTION("SO_REUSEADDR is set") {
    auto a = resolve_listen("127.0.0.1:0", err);
    REQUIRE(a);
    Fd fd(bind_listener(*a, err));
    REQUIRE(fd.fd >= 0);
    int reuse = 0;
    socklen_t len = sizeof reuse;
    REQUIRE(getsockopt(fd.fd, SOL_SOCKET, SO_REUSEADDR, &reuse, &len) == 0);
    CHECK(reuse != 0);
  }
  SECTION("[::1]:0 reports [::1]:port") {
    auto a = resolve_listen("[::1]:0", err);
    REQUIRE(a);
    int raw = bind_listener(*a, err);
    if (raw < 0) {
      WARN("IPv6 loopback unavailable: " << err);
      CHECK(err.rfind("listen tcp [::1]:0: ", 0) == 0);
    } else {
      Fd fd(raw);
      CHECK(local_address(fd.fd).rfind("[::1]:", 0) == 0);
    }
  }
}

TEST_CASE("bind_listener: a port in use gives Go's error text", "[address]") {
  std::string err;
  auto a = resolve_listen("127.0.0.1:0", err);
  REQUIRE(a);
  Fd first(bind_listener(*a, err));
  REQUIRE(first.fd >= 0);
  std::string local = local_address(first.fd);
  REQUIRE(local.rfind("127.0.0.1:", 0) == 0);

  auto again = resolve_listen(local, err);
  REQUIRE(again);
  CHECK(again->resolved == local);
  err.clear();
  int second = bind_listener(*again, err);
  CHECK(second == -1);
  CHECK(err == "listen tcp " + local + ": bind: address already in use");
  if (second >= 0) ::close(second);
}

TEST_CASE("local_address of a bad descriptor is empty", "[address]") {
  CHECK(local_address(-1).empty());
}

TEST_CASE("format_sockaddr unwraps IPv4-mapped addresses", "[address]") {
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(4242);
  sin6.sin6_addr.s6_addr[10] = 0xff;
  sin6.sin6_addr.s6_addr[11] = 0xff;
  sin6.sin6_addr.s6_addr[12] = 10;
  sin6.sin6_addr.s6_addr[13] = 1;
  sin6.sin6_addr.s6_addr[14] = 2;
  sin6.sin6_addr.s6_addr[15] = 3;
  CHECK(faultline::format_sockaddr(reinterpret_cast<const sockaddr*>(&sin6)) == "10.1.2.3:4242");

  sockaddr_in6 any{};
  any.sin6_family = AF_INET6;
  any.sin6_port = htons(7);
  CHECK(faultline::format_sockaddr(reinterpret_cast<const sockaddr*>(&any)) == "[::]:7");

  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_port = htons(17001);
  v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(faultline::format_sockaddr(reinterpret_cast<const sockaddr*>(&v4)) == "127.0.0.1:17001");
}

TEST_CASE("bind_listener: a wildcard port in use is named as Go names it", "[address]") {
  // Toxiproxy 2.12.0's texts, found by tests/differential/api_diff.py: ":P" for an empty
  // host, "0.0.0.0:P" for both wildcards.
  std::string err;
  auto any = resolve_listen(":0", err);
  REQUIRE(any);
  Fd first(bind_listener(*any, err));
  REQUIRE(first.fd >= 0);
  std::string local = local_address(first.fd);
  std::string port = local.substr(local.rfind(':') + 1);
  struct Case {
    std::string listen, shown;
  };
  for (const Case& c : {Case{":" + port, ":" + port}, Case{"0.0.0.0:" + port, "0.0.0.0:" + port},
                        Case{"[::]:" + port, "0.0.0.0:" + port}}) {
    auto again = resolve_listen(c.listen, err);
    REQUIRE(again);
    err.clear();
    int second = bind_listener(*again, err);
    CHECK(second == -1);
    CHECK(err == "listen tcp " + c.shown + ": bind: address already in use");
    if (second >= 0) ::close(second);
  }
}

TEST_CASE("ip_text writes an address as inet_ntop does", "[address]") {
  char text[INET6_ADDRSTRLEN];
  for (const char* ip :
       {"0.0.0.0", "127.0.0.1", "10.20.30.40", "192.168.100.9", "255.255.255.255", "1.22.203.4"}) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(8080);
    REQUIRE(inet_pton(AF_INET, ip, &sin.sin_addr) == 1);
    CHECK(faultline::ip_text(reinterpret_cast<const sockaddr*>(&sin), text) == 8080);
    CHECK(std::string(text) == ip);
  }
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(443);
  REQUIRE(inet_pton(AF_INET6, "fe80::1:2", &sin6.sin6_addr) == 1);
  CHECK(faultline::ip_text(reinterpret_cast<const sockaddr*>(&sin6), text) == 443);
  CHECK(std::string(text) == "fe80::1:2");
  sockaddr_storage none{};
  CHECK(faultline::ip_text(reinterpret_cast<const sockaddr*>(&none), text) == 0);
  CHECK(std::string(text).empty());
}

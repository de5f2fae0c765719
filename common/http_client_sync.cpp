#include "common/http_client_sync.h"

#include <fcntl.h>
#include <llhttp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/go_quote.h"

namespace faultline::http {
namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  return (c | 0x20) - 'a' + 10;
}
bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Checks the percent escapes of `s` (Go's unescape); on failure `bad` is the escape text
// Go quotes: at most three bytes from the '%'.
bool check_escapes(std::string_view s, std::string& bad) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') continue;
    if (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) {
      bad = std::string(s.substr(i, 3));
      return false;
    }
    i += 2;
  }
  return true;
}

std::string decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Go's shouldEscape for a path.
bool path_needs_escape(char c) {
  if (is_alnum(c)) return false;
  switch (c) {
    case '-':
    case '_':
    case '.':
    case '~':
    case '$':
    case '&':
    case '+':
    case ',':
    case '/':
    case ':':
    case ';':
    case '=':
    case '@':
      return false;
    default:
      return true;
  }
}

// Go's validEncoded: a raw path that may be sent as it is.
bool valid_encoded_path(std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '!':
      case '$':
      case '&':
      case '\'':
      case '(':
      case ')':
      case '*':
      case '+':
      case ',':
      case ';':
      case '=':
      case ':':
      case '@':
      case '[':
      case ']':
      case '%':
        break;
      default:
        if (path_needs_escape(c)) return false;
    }
  }
  return true;
}

// Go's shouldEscape for a fragment: a path's rules plus ? ! ( ) * allowed.
bool fragment_needs_escape(char c) {
  return path_needs_escape(c) && c != '?' && c != '!' && c != '(' && c != ')' && c != '*';
}

// `s` with every byte `needs_escape` picks written as %XX (upper-case hex, as Go writes it).
template <class NeedsEscape>
std::string percent_escape(std::string_view s, NeedsEscape needs_escape) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (needs_escape(static_cast<char>(c))) {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Go's URL.EscapedFragment: the raw text when it is a valid encoding, else re-escaped.
std::string escaped_fragment(std::string_view raw) {
  bool valid = true;
  for (char c : raw) {
    if (std::strchr("!$&'()*+,;=:@[]%", c) == nullptr && fragment_needs_escape(c)) valid = false;
  }
  if (valid) return std::string(raw);
  return percent_escape(decode(raw), fragment_needs_escape);
}

std::string escape_path(std::string_view s) {
  return percent_escape(s, path_needs_escape);
}

// Go's error text for a failed system call: strerror with a lower-case first letter.
std::string errno_text(int err) {
  std::string text = std::strerror(err);
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z')
    text[0] = static_cast<char>(text[0] | 0x20);
  return text;
}

std::string address_text(const sockaddr* sa) {
  char host[NI_MAXHOST];
  char port[NI_MAXSERV];
  socklen_t len = sa->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (getnameinfo(sa, len, host, sizeof host, port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV) !=
      0) {
    return "?";
  }
  if (sa->sa_family == AF_INET6) return "[" + std::string(host) + "]:" + port;
  return std::string(host) + ":" + port;
}

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

constexpr const char* kTimeout =
    "context deadline exceeded (Client.Timeout exceeded while awaiting headers)";

class Socket {
 public:
  Socket() = default;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }
  void reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// Connects to host:port before the deadline, trying each resolved address in turn; the
// error is Go's dial error for the first address that failed.
bool dial(const ClientUrl& url, Clock::time_point deadline, Socket& sock, std::string& error) {
  std::string port = url.port.empty() ? "80" : url.port;
  unsigned long number = 0;
  for (char c : port) number = number * 10 + static_cast<unsigned long>(c - '0');
  if (port.size() > 5 || number > 65535) {
    error = "dial tcp: address " + port + ": invalid port";
    return false;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(url.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    std::string why = (rc == EAI_NONAME || rc == EAI_NODATA) ? "no such host" : gai_strerror(rc);
    if (!why.empty() && why[0] >= 'A' && why[0] <= 'Z') why[0] = static_cast<char>(why[0] | 0x20);
    error = "dial tcp: lookup " + url.host + ": " + why;
    return false;
  }
  std::string first_error;
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      if (first_error.empty())
        first_error = "dial tcp " + address_text(ai->ai_addr) + ": socket: " + errno_text(errno);
      continue;
    }
    sock.reset(fd);
    int err = 0;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        int ready = ::poll(&p, 1, remaining_ms(deadline));
        if (ready == 0) {
          freeaddrinfo(found);
          error = "dial tcp " + address_text(ai->ai_addr) + ": i/o timeout";
          return false;
        }
        socklen_t len = sizeof err;
        if (ready < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      }
    }
    if (err == 0) {
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      freeaddrinfo(found);
      return true;
    }
    if (first_error.empty())
      first_error = "dial tcp " + address_text(ai->ai_addr) + ": connect: " + errno_text(err);
  }
  freeaddrinfo(found);
  error = first_error;
  return false;
}

bool write_all(int fd, std::string_view data, Clock::time_point deadline, std::string& error) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) == 0) {
        error = kTimeout;
        return false;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    error = "write: " + errno_text(errno);
    return false;
  }
  return true;
}

// Reads one response with llhttp.
class ResponseParser {
 public:
  explicit ResponseParser(ClientResponse& out, bool head) : out_(out), head_(head) {
    llhttp_settings_init(&settings_);
    settings_.on_header_field = &ResponseParser::on_header_field;
    settings_.on_header_value = &ResponseParser::on_header_value;
    settings_.on_headers_complete = &ResponseParser::on_headers_complete;
    settings_.on_body = &ResponseParser::on_body;
    settings_.on_message_complete = &ResponseParser::on_message_complete;
    llhttp_init(&parser_, HTTP_RESPONSE, &settings_);
    parser_.data = this;
  }
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;

  // false: malformed.
  bool feed(const char* data, size_t n) {
    if (complete_) return true;
    llhttp_errno_t err = llhttp_execute(&parser_, data, n);
    return err == HPE_OK || (complete_ && err == HPE_PAUSED);
  }
  bool finish() {
    if (complete_) return true;
    llhttp_errno_t err = llhttp_finish(&parser_);
    return complete_ && (err == HPE_OK || err == HPE_PAUSED);
  }
  bool complete() const { return complete_; }
  int status() const { return parser_.status_code; }

 private:
  static ResponseParser& self(llhttp_t* p) { return *static_cast<ResponseParser*>(p->data); }
  static int on_header_field(llhttp_t* p, const char* at, size_t n) {
    auto& r = self(p);
    if (r.out_.headers.empty() || r.in_value_) r.out_.headers.emplace_back();
    r.in_value_ = false;
    r.out_.headers.back().first.append(at, n);
    return 0;
  }
  static int on_header_value(llhttp_t* p, const char* at, size_t n) {
    auto& r = self(p);
    if (r.out_.headers.empty()) return 0;
    r.in_value_ = true;
    r.out_.headers.back().second.append(at, n);
    return 0;
  }
  static int on_headers_complete(llhttp_t* p) {
    if (p->status_code < 100 || p->status_code > 999) return -1;
    // Informational responses (100 Continue) are skipped: the real one follows.
    if (p->status_code < 200) {
      self(p).out_.headers.clear();
      return 0;
    }
    return self(p).head_ ? 1 : 0;
  }
  static int on_body(llhttp_t* p, const char* at, size_t n) {
    self(p).out_.body.append(at, n);
    return 0;
  }
  static int on_message_complete(llhttp_t* p) {
    if (p->status_code < 200) return 0;
    self(p).complete_ = true;
    return static_cast<int>(HPE_PAUSED);
  }

  ClientResponse& out_;
  bool head_;
  llhttp_t parser_{};
  llhttp_settings_t settings_{};
  bool complete_ = false;
  bool in_value_ = false;
};

// One exchange on a fresh connection; `error` is the cause only (the caller adds the
// method and URL).
bool exchange(const ClientUrl& url, const ClientRequest& request, std::string_view method,
              const std::optional<std::string>& body, Clock::time_point deadline,
              ClientResponse& response, std::string& error) {
  if (url.scheme != "http") {
    error = "unsupported protocol scheme \"" + url.scheme + "\"";
    if (url.scheme == "https") error = "https is not supported by this client";
    return false;
  }
  if (url.host.empty()) {
    error = "http: no Host in request URL";
    return false;
  }
  Socket sock;
  if (!dial(url, deadline, sock, error)) return false;

  std::string text;
  text.append(method).append(" ").append(url.target).append(" HTTP/1.1\r\n");
  text.append("Host: ").append(url.authority).append("\r\n");
  for (const auto& [name, value] : request.headers)
    text.append(name).append(": ").append(value).append("\r\n");
  if (body) text.append("Content-Length: ").append(std::to_string(body->size())).append("\r\n");
  text.append("Connection: close\r\n\r\n");
  if (body) text.append(*body);
  if (!write_all(sock.fd(), text, deadline, error)) return false;

  response = ClientResponse{};
  ResponseParser parser(response, method == "HEAD");
  char buffer[16384];
  bool any = false;
  for (;;) {
    ssize_t n = ::recv(sock.fd(), buffer, sizeof buffer, 0);
    if (n > 0) {
      any = true;
      if (!parser.feed(buffer, static_cast<size_t>(n))) {
        error = "net/http: HTTP/1.x transport connection broken: malformed HTTP response";
        return false;
      }
      if (parser.complete()) break;
      continue;
    }
    if (n == 0) {
      if (parser.finish()) break;
      error = any ? "unexpected EOF" : "EOF";
      return false;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      pollfd p{sock.fd(), POLLIN, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) == 0) {
        error = kTimeout;
        return false;
      }
      continue;
    }
    error = "read tcp: " + errno_text(errno);
    return false;
  }
  response.status = parser.status();
  return true;
}

// Resolves a Location header against the URL it came from.
std::string resolve_location(const ClientUrl& base, std::string_view location) {
  if (location.find("://") != std::string_view::npos) return std::string(location);
  if (location.substr(0, 2) == "//") return base.scheme + ":" + std::string(location);
  std::string prefix = base.scheme + "://" + base.authority;
  if (!location.empty() && location[0] == '/') return prefix + std::string(location);
  std::string dir = base.target.substr(0, base.target.find('?'));
  dir = dir.substr(0, dir.rfind('/') + 1);
  return prefix + dir + std::string(location);
}

}  // namespace

std::string_view ClientResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return (a | 0x20) == (b | 0x20);
        })) {
      return v;
    }
  }
  return {};
}

std::string go_method_name(std::string_view method) {
  std::string out(method);
  for (size_t i = 1; i < out.size(); ++i) {
    if (out[i] >= 'A' && out[i] <= 'Z') out[i] = static_cast<char>(out[i] | 0x20);
  }
  return out;
}

bool parse_client_url(std::string_view text, ClientUrl& out, std::string& error) {
  auto fail = [&](const std::string& why) {
    error = "parse " + go_quote(text) + ": " + why;
    return false;
  };
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) return fail("net/url: invalid control character in URL");
  }
  std::string_view rest = text;
  std::optional<std::string_view> fragment;
  if (auto hash = rest.find('#'); hash != std::string_view::npos) {
    std::string bad;
    fragment = rest.substr(hash + 1);
    if (!check_escapes(*fragment, bad)) return fail("invalid URL escape " + go_quote(bad));
    rest = rest.substr(0, hash);
  }
  out = ClientUrl{};
  auto colon = rest.find(':');
  bool scheme_ok = colon != std::string_view::npos && colon > 0 &&
                   ((rest[0] | 0x20) >= 'a' && (rest[0] | 0x20) <= 'z');
  for (size_t i = 0; scheme_ok && i < colon; ++i) {
    char c = rest[i];
    if (!is_alnum(c) && c != '+' && c != '-' && c != '.') scheme_ok = false;
  }
  if (!scheme_ok) return fail("missing protocol scheme");
  for (size_t i = 0; i < colon; ++i) out.scheme += static_cast<char>(rest[i] | 0x20);
  rest.remove_prefix(colon + 1);
  std::string query;
  bool has_query = false;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = std::string(rest.substr(q + 1));
    has_query = true;  // "a?" keeps its "?", as Go's ForceQuery does
    rest = rest.substr(0, q);
  }
  if (rest.substr(0, 2) == "//") {
    rest.remove_prefix(2);
    auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
    if (auto at = authority.rfind('@'); at != std::string_view::npos)
      authority.remove_prefix(at + 1);
    std::string_view host = authority;
    std::string_view port;
    if (!host.empty() && host[0] == '[') {
      auto close = host.find(']');
      if (close == std::string_view::npos) return fail("missing ']' in host");
      std::string_view after = host.substr(close + 1);
      if (!after.empty() && after[0] != ':') {
        return fail("invalid port " + go_quote(after) + " after host");
      }
      port = after.empty() ? after : after.substr(1);
      host = host.substr(1, close - 1);
    } else if (auto c = host.rfind(':'); c != std::string_view::npos) {
      port = host.substr(c + 1);
      host = host.substr(0, c);
    }
    for (char c : port) {
      if (c < '0' || c > '9')
        return fail("invalid port " + go_quote(":" + std::string(port)) + " after host");
    }
    std::string bad;
    if (!check_escapes(host, bad)) return fail("invalid URL escape " + go_quote(bad));
    for (char c : host) {
      if (c == ' ' || c == '{' || c == '}' || c == '|' || c == '\\' || c == '^' || c == '`') {
        return fail("invalid character " + go_quote(std::string(1, c)) + " in host name");
      }
    }
    out.authority = std::string(authority);
    out.host = decode(host);
    out.port = std::string(port);
  }
  std::string bad;
  if (!check_escapes(rest, bad)) return fail("invalid URL escape " + go_quote(bad));
  std::string path = valid_encoded_path(rest) ? std::string(rest) : escape_path(decode(rest));
  out.target = path.empty() ? "/" : path;
  if (has_query) out.target += "?" + query;
  out.display = out.scheme + "://" + out.authority + path + (has_query ? "?" + query : "");
  if (fragment) out.display += "#" + escaped_fragment(*fragment);
  return true;
}

bool send_request(const ClientRequest& request, ClientResponse& response, std::string& error) {
  auto deadline = Clock::now() + request.timeout;
  std::string method = request.method;
  std::string url_text = request.url;
  std::optional<std::string> body = request.body;
  for (int redirects = 0;; ++redirects) {
    ClientUrl url;
    if (!parse_client_url(url_text, url, error)) return false;
    std::string cause;
    if (!exchange(url, request, method, body, deadline, response, cause)) {
      error = go_method_name(method) + " " + go_quote(url.display) + ": " + cause;
      return false;
    }
    int s = response.status;
    bool redirect = s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
    std::string_view location = response.header("Location");
    if (!redirect || location.empty()) return true;
    if (redirects >= request.max_redirects) {
      error = go_method_name(method) + " " + go_quote(url.display) + ": stopped after " +
              std::to_string(request.max_redirects) + " redirects";
      return false;
    }
    if (s != 307 && s != 308) {
      if (method != "GET" && method != "HEAD") method = "GET";
      body.reset();
    }
    url_text = resolve_location(url, location);
  }
}

}  // namespace faultline::http

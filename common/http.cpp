#include "common/http.h"

#include <llhttp.h>

#include <algorithm>
#include <cctype>
#include <ctime>

namespace faultline::http {

namespace {
bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}
}  // namespace

std::string_view Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

bool Request::has_header(std::string_view name) const {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& kv) { return iequals(kv.first, name); });
}

std::string_view Request::raw_path() const {
  std::string_view t = target;
  auto q = t.find('?');
  return q == std::string_view::npos ? t : t.substr(0, q);
}

struct RequestParser::Impl {
  llhttp_t parser{};
  llhttp_settings_t settings{};
  Limits limits;
  Request current;
  bool in_value = false;
  size_t header_bytes = 0;
  bool complete = false;
  int overflow_status = 0;

  static Impl* self(llhttp_t* p) { return static_cast<Impl*>(p->data); }
};

RequestParser::RequestParser(Limits limits) : impl_(std::make_unique<Impl>()) {
  impl_->limits = limits;
  llhttp_settings_init(&impl_->settings);
  auto& s = impl_->settings;
  s.on_message_begin = [](llhttp_t* p) {
    auto* i = Impl::self(p);
    i->current = Request{};
    i->in_value = false;
    i->header_bytes = 0;
    return 0;
  };
  s.on_url = [](llhttp_t* p, const char* at, size_t len) {
    auto* i = Impl::self(p);
    i->header_bytes += len;
    if (i->header_bytes > i->limits.max_header_bytes) {
      i->overflow_status = 431;
      return -1;
    }
    i->current.target.append(at, len);
    return 0;
  };
  s.on_header_field = [](llhttp_t* p, const char* at, size_t len) {
    auto* i = Impl::self(p);
    i->header_bytes += len;
    if (i->header_bytes > i->limits.max_header_bytes) {
      i->overflow_status = 431;
      return -1;
    }
    if (i->in_value || i->current.headers.empty()) {
      i->current.headers.emplace_back();
      i->in_value = false;
    }
    i->current.headers.back().first.append(at, len);
    return 0;
  };
  s.on_header_value = [](llhttp_t* p, const char* at, size_t len) {
    auto* i = Impl::self(p);
    i->header_bytes += len;
    if (i->header_bytes > i->limits.max_header_bytes) {
      i->overflow_status = 431;
      return -1;
    }
    if (i->current.headers.empty()) i->current.headers.emplace_back();
    i->in_value = true;
    i->current.headers.back().second.append(at, len);
    return 0;
  };
  s.on_headers_complete = [](llhttp_t* p) {
    auto* i = Impl::self(p);
    if (p->content_length > 0 && !(p->flags & F_CHUNKED) &&
        p->content_length > i->limits.max_body_bytes) {
      i->overflow_status = 413;
      return -1;
    }
    i->current.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
    i->current.version_minor = p->http_minor;
    return 0;
  };
  s.on_body = [](llhttp_t* p, const char* at, size_t len) {
    auto* i = Impl::self(p);
    if (i->current.body.size() + len > i->limits.max_body_bytes) {
      i->overflow_status = 413;
      return -1;
    }
    i->current.body.append(at, len);
    return 0;
  };
  s.on_message_complete = [](llhttp_t* p) {
    auto* i = Impl::self(p);
    i->current.keep_alive = llhttp_should_keep_alive(p) != 0;
    i->complete = true;
    return static_cast<int>(HPE_PAUSED);
  };
  llhttp_init(&impl_->parser, HTTP_REQUEST, &impl_->settings);
  impl_->parser.data = impl_.get();
}

RequestParser::~RequestParser() = default;

RequestParser::Status RequestParser::feed(std::string_view data, size_t& consumed, Request& out) {
  auto* p = &impl_->parser;
  impl_->complete = false;
  llhttp_errno_t err = llhttp_execute(p, data.data(), data.size());
  if (err == HPE_OK) {
    consumed = data.size();
    return Status::kNeedMore;
  }
  if (err == HPE_PAUSED && impl_->complete) {
    consumed = static_cast<size_t>(llhttp_get_error_pos(p) - data.data());
    llhttp_resume(p);
    out = std::move(impl_->current);
    impl_->current = Request{};
    return Status::kComplete;
  }
  consumed = data.size();
  if (impl_->overflow_status != 0) {
    error_status_ = impl_->overflow_status;
    error_text_ = error_status_ == 413 ? "request body too large" : "request header too large";
  } else {
    error_status_ = 400;
    const char* reason = llhttp_get_error_reason(p);
    error_text_ = reason != nullptr ? reason : "malformed request";
  }
  return Status::kError;
}

std::string_view status_text(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Request Entity Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

std::string http_date() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::string serialize(const Response& r, bool head_request, bool keep_alive) {
  std::string out;
  out.reserve(256 + r.body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += status_text(r.status);
  out += "\r\n";
  Headers sorted = r.headers;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [k, v] : sorted) {
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  bool bodyless = r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200);
  bool chunked = !bodyless && !head_request && r.body.size() > 2048;
  if (!keep_alive || r.close) out += "Connection: close\r\n";
  if (chunked) out += "Transfer-Encoding: chunked\r\n";
  out += "Date: ";
  out += http_date();
  out += "\r\n";
  if (!bodyless && !chunked && !head_request) {
    out += "Content-Length: ";
    out += std::to_string(r.body.size());
    out += "\r\n";
  }
  out += "\r\n";
  if (bodyless || head_request) return out;
  if (chunked) {
    char hex[32];
    std::snprintf(hex, sizeof hex, "%zx\r\n", r.body.size());
    out += hex;
    out += r.body;
    out += "\r\n0\r\n\r\n";
  } else {
    out += r.body;
  }
  return out;
}

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  auto hexval = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

std::string clean_path(std::string_view p) {
  if (p.empty()) return "/";
  std::string in(p);
  if (in[0] != '/') in = "/" + in;
  std::vector<std::string_view> parts;
  std::string_view sv = in;
  size_t i = 0;
  while (i < sv.size()) {
    size_t j = sv.find('/', i);
    if (j == std::string_view::npos) j = sv.size();
    std::string_view seg = sv.substr(i, j - i);
    if (seg.empty() || seg == ".") {
      // skip
    } else if (seg == "..") {
      if (!parts.empty()) parts.pop_back();
    } else {
      parts.push_back(seg);
    }
    i = j + 1;
  }
  std::string out;
  for (auto s : parts) {
    out += '/';
    out += s;
  }
  if (out.empty()) out = "/";
  if (in.size() > 1 && in.back() == '/' && out != "/") out += '/';
  return out;
}

}  // namespace faultline::http
